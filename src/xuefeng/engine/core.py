"""The simulation loop: state arrays advanced N replications at a time (DESIGN.md §2).

Phases of one step, in order (each delegated to its sub-model module):

1. orders & command delay (ai.orders, command)
2. air operations (air.fly: the day's air presence and interdiction, this step's sorties)
3. movement (movement.move_units: zones of control, fields, envelopment marches, air);
   bridges (bridges.bridge_step: blown in the enemy's face, rebuilt by engineers)
4. combat (combat.resolve: ongoing engagements, engagement model)
5. attrition: battle losses, guerrillas, disease, died of wounds/illness,
   return to duty, morale, fatigue, breakpoints (medical, guerrillas)
6. supply (supply.supply_step; fuel.deliver where the scenario models fuel)
7. scheduled events: arrivals by land and air (airlift)
8. recording: events, series, outcome bookkeeping, end conditions

Randomness: one `numpy.random.Generator` per replication, seeded with
`SeedSequence(seed, spawn_key=(replication_id,))`; every step draws a block of
`Compiled.rng_size` uniforms from each replication's generator, so replication
i is bit-identical whatever the batch size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xuefeng.engine import air as air_mod
from xuefeng.engine import bridges as bridge_mod
from xuefeng.engine import civilians as civ_mod
from xuefeng.engine import combat as combat_mod
from xuefeng.engine import fuel as fuel_mod
from xuefeng.engine import guerrillas as guer_mod
from xuefeng.engine import kernels
from xuefeng.engine import medical as med_mod
from xuefeng.engine import supply as sup_mod
from xuefeng.engine.ai import bypassing, orders, record_fights
from xuefeng.engine.compile import (DEFAULT_DISEASE_SEASON, DEFAULT_RAIN_PROBABILITY, POSTURE_NAMES, WEATHER_CODES,
                                    Compiled)
from xuefeng.engine.movement import move_units
from xuefeng.engine.postures import WITHDRAWAL
from xuefeng.engine.state import LEDGER, initial_state, mm
from xuefeng.results.model import CATEGORIES, Outcome, Results

K_KILLED, K_WOUNDED, K_DOW, K_MISSING, K_CAPTURED, K_SICK, K_DOI, K_RTD = (
    LEDGER[k] for k in CATEGORIES)

#: Steps of uniforms drawn from each replication's generator at a time (Simulation._draws).
DRAW_STEPS = 8
#: The uniforms of an engagement (combat.resolve's u, last axis), blocks of the random layout
COMBAT_DRAWS = ("win", "cas_att", "cas_def", "cas_air", "retreat")

SERIES_FIELDS = ("strength", "lat", "lon", "posture", "supply", "morale", "fatigue")


def default_engagement_model() -> Any:
    """The project's engagement model (xuefeng.engagement), required for combat."""
    from xuefeng.engagement import EngagementModel

    return EngagementModel.default()


def threat_clock(hours: np.ndarray, dominating: np.ndarray, step_hours: float, u: np.ndarray) -> np.ndarray:
    """Hours an enemy has dominated an objective's threat radius, net, a continuous-time clock
    seen only at the steps' ends. Each later step it dominates adds the step's hours; each step it
    does not takes them off (never below zero), so a brief interruption does not reset it. The
    first step it is seen counts (1.5 - u) steps, u uniform: a stay of D hours spans D / step
    step-ends on average, and this credit makes P(clock reaches H) = P(D >= H) whatever the step
    (counting one whole step let 12-hour steps take an objective after shorter stays than 3-hour
    ones; counting the part of a step since arrival, never known, missed the longer ones)."""
    return np.where(dominating, np.where(hours > 0, hours + step_hours, (1.5 - u) * step_hours),
                    np.maximum(hours - step_hours, 0.0))


class Simulation:
    """A batch of replications of one compiled scenario."""

    def __init__(self, compiled: Compiled, replication_ids: np.ndarray, seed: int,
                 keep_series: int = 1, engagement: Any = None, log_engagements: int | None = None) -> None:
        self.c = compiled
        self.p = compiled.params
        self.seed = int(seed)
        self.rids = np.asarray(replication_ids, dtype=np.int64)
        self.R = len(self.rids)
        self.model = engagement if engagement is not None else default_engagement_model()
        import inspect

        try:
            self._model_kw = set(inspect.signature(self.model.predict_batch).parameters)
        except (TypeError, ValueError):
            self._model_kw = set()
        self.gens = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=(int(i),))))
                     for i in self.rids]
        self._s = initial_state(compiled, self.R)
        self.keep = int(min(max(keep_series, 0), self.R))
        #: engagement events are logged for the first `log_engagements` replications only
        self.log_eng = self.keep if log_engagements is None else min(log_engagements, self.R)
        # Replications that have ended leave the arrays stepped (`_compact`): `_rows` maps the
        # stepped rows to rows of the batch, `_final` keeps the state of those that left. The first
        # `_pinned` rows (kept series, logged engagements) stay, so their records run to the end.
        self._rows = np.arange(self.R)
        self._final = initial_state(compiled, self.R)
        self._pinned = max(self.keep, self.log_eng)
        self._draw_cache = np.empty((self.R, 0))  # uniforms drawn ahead (_draws)
        self._draw_pos = 0
        self._events: list[tuple] = []
        self._frozen = np.zeros(self.R, bool)
        self._series: list[np.ndarray] = []
        c = compiled
        self._rain_tab = np.array([c.config.rain_probability_by_month.get(m, DEFAULT_RAIN_PROBABILITY)
                                   for m in range(13)])
        self._season_tab = np.array([c.config.disease_season_by_month.get(m, DEFAULT_DISEASE_SEASON)
                                     for m in range(13)])
        self._dt_days = c.step_hours / 24.0
        #: share of each arm in a unit's men at full strength (U,4): men added go by it (_add)
        self._arm_share = np.ascontiguousarray(c.arms0 / c.men0[:, None], dtype=np.float64)
        #: share of the day in daylight (air.py's hours), for the air denial of daylight marching
        self._daylight_share = max(0.0, min(1.0, (self.p.air.day_end_hour - self.p.air.day_start_hour) / 24.0))
        self._airlift_order = np.lexsort((np.arange(c.n_units), c.arrival_step, c.lift_step))
        #: (mean hours to decision of an engagement of 10^4 men, size exponent) in this campaign's
        #: era (the engagement model's fit; a model without one: 24 h whatever the size)
        self._duration_law = tuple(self.model.duration_law(float(c.start.year))) \
            if hasattr(self.model, "duration_law") else (24.0, 0.0)
        #: quantiles of the km a winning attacker advances (the engagement model's fit; none: one cell)
        self._advance_q = np.asarray(self.model.advance_quantiles(float(c.start.year))
                                     if hasattr(self.model, "advance_quantiles") else [], float)
        #: ... stated for an engagement of 10^4 men; one of n men goes (n / 10^4)^b as far
        self._advance_b = float(getattr(self.model, "advance_size_exponent", 0.0))
        self._lift_sides = np.array([np.any((c.group_side == s_) & (c.group_missions[:, 3] > 0))
                                     for s_ in range(c.n_sides)], bool)
        self._arrivals(0)
        self._record()

    # ------------------------------------------------------------------ helpers
    @property
    def s(self):
        """The state of every replication of the batch (rows in batch order), those still
        stepped and those that have ended."""
        if len(self._rows) == self.R:
            return self._s
        self._store(np.arange(len(self._rows)))
        self._final.t = self._s.t
        return self._final

    def _store(self, rows: np.ndarray) -> None:
        """Copy stepped rows `rows` into the batch-wide state."""
        dst = self._rows[rows]
        for k, v in vars(self._s).items():
            if isinstance(v, np.ndarray):
                getattr(self._final, k)[dst] = v[rows]

    def _compact(self) -> None:
        """Stop stepping replications that have ended: their state is final (a frozen
        replication's step changes nothing), so they leave the stepped arrays and their generators
        are dropped. Each replication's draws and arithmetic are its own, so this changes no result.
        The rows that stay beyond the new end move into the places of those that left (`_rows`
        keeps which replication each row is), and every array is cut to a view of its first rows:
        only the moved rows are copied, not the whole state."""
        s = self._s
        leave = s.done.copy()
        leave[: self._pinned] = False
        if not leave.any():
            return
        gone = np.nonzero(leave)[0]
        self._store(gone)
        m = len(leave) - len(gone)
        holes = gone[gone < m]
        movers = np.nonzero(~leave[m:])[0] + m  # as many as holes; none pinned (m >= _pinned)
        for k, v in vars(s).items():
            if isinstance(v, np.ndarray):
                if holes.size:
                    if not v.flags.writeable:
                        v = v.copy()
                    v[holes] = v[movers]
                setattr(s, k, v[:m])
        for h, mv in zip(holes, movers):
            self.gens[h] = self.gens[mv]
        del self.gens[m:]
        pos = self._draw_pos
        self._draw_cache[holes, pos:] = self._draw_cache[movers, pos:]
        self._draw_cache = self._draw_cache[:m]
        self._rows[holes] = self._rows[movers]
        self._rows = self._rows[:m]
        self._frozen[holes] = self._frozen[movers]
        self._frozen = self._frozen[:m]

    def _draws(self) -> np.ndarray:
        """This step's block of uniforms, (stepped rows, rng_size). Each generator is asked for
        DRAW_STEPS steps' blocks at once (one call per replication is the cost, not the numbers):
        the stream is the same as one block per step, so results do not change."""
        n = self.c.rng_size
        if self._draw_pos >= self._draw_cache.shape[1]:
            cache = np.empty((len(self.gens), DRAW_STEPS * n))
            for i, g in enumerate(self.gens):
                g.random(out=cache[i])
            self._draw_cache, self._draw_pos = cache, 0
        block = self._draw_cache[:, self._draw_pos:self._draw_pos + n]
        self._draw_pos += n
        return block

    def _combat_uniforms(self, block: np.ndarray) -> np.ndarray:
        """(rows, U, 5) uniforms of this step's engagements (COMBAT_DRAWS): a view of the block
        where its layout holds them one after another, as compile lays them out."""
        sl = self.c.rng_slices
        parts = [sl[name] for name in COMBAT_DRAWS]
        U = self.c.n_units
        if all(a.stop == b.start for a, b in zip(parts, parts[1:])) and all(p_.stop - p_.start == U for p_ in parts):
            return block[:, parts[0].start:parts[-1].stop].reshape(block.shape[0], len(parts), U).transpose(0, 2, 1)
        return np.stack([block[:, p_] for p_ in parts], axis=-1)

    def _log(self, kind: str, rr: np.ndarray, uu: np.ndarray | None, side: Any, detail: Any,
             units: list[str] | None = None) -> None:
        """Record events; `units`: the event's unit ids, comma-separated, when not just uu's."""
        names = units
        rr = np.asarray(rr)
        keep = ~self._frozen[rr] if rr.size else np.zeros(0, bool)
        if not keep.all():  # no events from replications that have ended
            rr = rr[keep]
            uu = None if uu is None else np.asarray(uu)[keep]
            side = np.broadcast_to(np.asarray(side), keep.shape)[keep]
            detail = detail if isinstance(detail, str) else [d for d, k in zip(detail, keep) if k]
            names = None if names is None else [n for n, k in zip(names, keep) if k]
        if rr.size == 0:
            return
        t = self._s.t
        if uu is None:
            cells = np.full(rr.shape, -1)
            units = [""] * rr.size
        else:
            uu = np.asarray(uu)
            cells = self._s.cell[rr, uu]
            units = list(names) if names is not None else [self.c.unit_ids[u] for u in uu]
        side = np.broadcast_to(np.asarray(side), rr.shape)
        detail = list(detail) if not isinstance(detail, str) else [detail] * rr.size
        self._events.append((self._rows[rr], t, kind, side.copy(), units, cells.copy(), detail))

    def alive(self) -> np.ndarray:
        s = self._s
        men = s.men()
        return s.present & (men > self.p.combat.min_men) & ~s.done[:, None]

    def _battle_losses(self, cas: np.ndarray, beaten: np.ndarray, routed: np.ndarray) -> None:
        """Remove battle casualties and book them by category."""
        p = self.p.combat
        s = self._s
        kernels.book_battle_losses(
            s.arms, s.ledger, s.wounded_pool, np.array(cas, dtype=np.float64), beaten, routed,
            self.c.side_capture[self.c.side].astype(np.float64), p.killed_fraction, p.missing_fraction,
            p.beaten_missing_fraction, p.captured_fraction, p.routed_extra_missing,
            self.p.medical.died_of_wounds_fraction, K_KILLED, K_WOUNDED, K_DOW, K_MISSING, K_CAPTURED)

    def _remove(self, n: np.ndarray) -> None:
        kernels.remove_men(self._s.arms, np.asarray(n, dtype=np.float64))

    def _add(self, n: np.ndarray) -> None:
        """Add n (R,U) men to each unit in the proportions of its arms at full strength."""
        kernels.add_men(self._s.arms, np.asarray(n, dtype=np.float64), self._arm_share)

    def _model_extra(self, rain: np.ndarray) -> dict:
        """Keyword inputs the engagement model accepts beyond the required ones (year, wet)."""
        if not self._model_kw:
            return {}
        out: dict = {}
        if "year" in self._model_kw:
            out["year"] = float(self.c.start.year)
        if "wet" in self._model_kw:
            out["wet"] = rain.astype(float)
        return out

    # ------------------------------------------------------------------ phases
    def _arrivals(self, t: int) -> None:
        c, s = self.c, self._s
        ground = (~c.air_arrival) & (c.arrival_step == t) & (t > 0)
        if ground.any():
            new = np.broadcast_to(ground, s.present.shape) & ~s.present & ~s.done[:, None]
            s.present |= new
            s.delivered = np.where(new, c.men0[None, :], s.delivered)
            s.arms = np.where(new[..., None], c.arms0[None], s.arms)
            s.arrived_step = np.where(new, t, s.arrived_step)
            s.steps_in_cell = np.where(new, 0, s.steps_in_cell)
            rr, uu = np.nonzero(new)
            self._log("arrival", rr, uu, c.side[uu], "by land")

    def _airlift(self, flown: np.ndarray) -> None:
        """Deliver airlifted men (R,S) to waiting air-arrival units in arrival order."""
        c, s, t = self.c, self._s, self._s.t
        waiting = c.air_arrival[None, :] & (t >= c.lift_step)[None, :] & (s.delivered < c.men0[None, :]) \
            & ~s.done[:, None]
        if not waiting.any():
            return
        need = np.where(waiting, c.men0[None, :] - s.delivered, 0.0)
        alloc = np.zeros_like(need)
        for sd in range(c.n_sides):
            order = self._airlift_order[c.side[self._airlift_order] == sd]
            if order.size == 0:
                continue
            if self._lift_sides[sd]:
                nd = need[:, order]
                cum = np.cumsum(nd, axis=1)
                alloc[:, order] = np.clip(flown[:, sd:sd + 1] - (cum - nd), 0.0, nd)
            else:
                rate = c.men0[order] * self._dt_days / self.p.air.default_airlift_days
                alloc[:, order] = np.minimum(need[:, order], rate[None, :])
        first = (alloc > 0) & ~s.present
        s.present |= alloc > 0
        s.steps_in_cell = np.where(first, 0, s.steps_in_cell)
        s.delivered += alloc
        self._add(alloc)
        done = waiting & (s.delivered >= 0.999 * c.men0[None, :])
        complete = done & (s.arrived_step < 0)
        s.arrived_step = np.where(complete, t, s.arrived_step)
        if complete.any():
            rr, uu = np.nonzero(complete)
            self._log("arrival", rr, uu, c.side[uu], "by air")

    def give_orders(self, posture: np.ndarray | None = None, objective: np.ndarray | None = None) -> None:
        """Orders from outside the engine for the next steps (orders.py): arrays (R, U) over this
        batch's replications, posture codes (POSTURE_NAMES) and objectives (indices into
        `Compiled.place_ids`), -1 to keep a unit's last order, -2 to return it to the plan."""
        from xuefeng.engine import orders as orders_mod

        orders_mod.check_orders(self.c, posture, objective, self.R)
        rows = self._rows
        orders_mod.apply_orders(self.c, self._s, None if posture is None else np.asarray(posture)[rows],
                                None if objective is None else np.asarray(objective)[rows])

    def step(self) -> None:
        """Advance every replication by one time step."""
        c, p, s = self.c, self.p, self._s
        if s.t >= c.n_steps or s.done.all():
            return
        R, U = s.cell.shape
        dt_days = self._dt_days
        block = self._draws()
        # replications that have ended stay frozen: snapshot their rows, and restore them at the end
        # of the step
        self._frozen = s.done.copy()
        frozen_rows = np.nonzero(self._frozen)[0]
        snap = {k: v[frozen_rows] for k, v in vars(s).items() if isinstance(v, np.ndarray)} \
            if frozen_rows.size else None
        sl = c.rng_slices
        s.t += 1
        t = s.t
        # weather: one draw per day from the climate, unless the scenario records the day's
        if c.new_day[t] or t == 1:
            s.rain = block[:, sl["weather"]][:, 0] < self._rain_tab[c.step_month[t]]
            s.overcast = np.zeros_like(s.rain)
            if c.step_weather[t] >= 0:
                s.rain = np.full_like(s.rain, c.step_weather[t] == WEATHER_CODES["rain"])
                s.overcast = np.full_like(s.rain, c.step_weather[t] == WEATHER_CODES["overcast"])
        alive = self.alive()
        cell_before = s.cell.copy()

        # 1. orders & command delay
        orders(c, s, p.ai, p.command, alive, block[:, sl["delay"]], self._log)

        # 2. air operations (the day's presence and interdiction, this step's sorties)
        waiting = mm(c.air_arrival[None, :] & (t >= c.lift_step)[None, :]
                     & (s.delivered < c.men0[None, :]), c.side_onehot) > 0
        airres = air_mod.fly(c, s.aircraft, bool(c.step_day[t]), s.rain | s.overcast, waiting, block[:, sl["air"]],
                             p.air, c.day_steps)
        s.aircraft = np.maximum(s.aircraft - airres.aircraft_lost, 0.0)
        s.aircrew_lost += airres.aircrew_lost

        # 3. movement (enemy air presence denies a side's daylight marching)
        enemy_presence = np.einsum("rs,ts->rt", airres.presence, c.enemy_side_matrix)
        moved, moved_km = move_units(c, s, p.movement, alive, enemy_presence, self._daylight_share,
                                     bypassing(c, s, alive))
        if c.n_bridges:
            blown, by, rebuilt, builder = bridge_mod.bridge_step(c, s, p.bridges, alive, block[:, sl["bridges"]],
                                                                 c.step_hours)
            for what, hit, who in (("bridge_blown", blown, by), ("bridge_rebuilt", rebuilt, builder)):
                if hit.any():
                    rr, bb = np.nonzero(hit)
                    self._log(what, rr, None, who[rr, bb], [c.bridge_names[b] for b in bb])

        # 4. combat
        alive = self.alive()
        cr = combat_mod.resolve(c, s, p.combat, self.model, airres.presence, airres.cas_sorties, alive,
                                self._combat_uniforms(block),
                                c.step_hours, self._duration_law, self._advance_q, self._model_extra(s.rain),
                                self._advance_b)
        # civilians follow combat (at the defender's cell) and occupation of populated cells
        s.civilians += civ_mod.civilian_step(c, s, p.civilians, cr.cell_cas, alive, dt_days)

        # 5. attrition: battle, guerrillas, disease; morale, fatigue, breakpoints
        gcut, glost = guer_mod.effects(c, s, p.guerrillas, alive, block[:, sl["guerrilla"]], dt_days)
        men = s.men()
        loss_frac = (cr.cas + glost) / np.maximum(men, 1.0)
        cp = p.combat
        morale = s.morale - cp.morale_loss_per_casualty_fraction * loss_frac \
            - np.where(cr.beaten, cp.morale_defeat, 0.0) + np.where(cr.won & ~cr.beaten, cp.morale_victory, 0.0)
        rest = alive & ~cr.engaged & (s.fed > p.ai.morale_recovery_supply)
        morale = morale + np.where(rest, p.ai.morale_recovery_per_day * dt_days, 0.0)
        s.morale = np.clip(morale, 0.0, 1.0)
        frac_after = (men - cr.cas - glost) / np.maximum(s.delivered, 1.0)  # of the men it has had
        routed = alive & ~s.broken & ((frac_after < cp.breakpoint_fraction) | (s.morale < cp.morale_break))
        # the day's record by side (men at the day's start, battle casualties of every kind)
        day = min(((t - 1) * c.step_hours) // 24, s.daily_casualties.shape[1] - 1)
        # (mm, not BLAS's matmul: BLAS's order of the sums depends on a row's place in the batch)
        if c.new_day[t - 1] or t == 1:
            s.daily_men[:, day, :] = mm(np.where(alive, men, 0.0), c.side_onehot)
        s.daily_casualties[:, day, :] += mm(np.minimum(cr.cas + glost, men), c.side_onehot)
        self._battle_losses(cr.cas, cr.beaten, routed & cr.beaten)
        self._battle_losses(glost, np.zeros_like(cr.beaten), np.zeros_like(routed))
        if routed.any():
            rr, uu = np.nonzero(routed)
            self._log("breakpoint", rr, uu, c.side[uu], "strength or morale broke; withdraws")
        s.broken |= routed
        s.momentum = np.clip(s.momentum * cp.momentum_keep_per_day ** dt_days
                             + cp.momentum_gain * (cr.won.astype(float) - cr.beaten.astype(float)), -1, 1)
        # combat moves: defenders retreat, winners advance
        s.cell = np.where(alive, cr.new_cell, s.cell)
        record_fights(c, s, p.ai, cr.att_won, cr.decided, float(c.step_hours))
        if self.log_eng > 0 and cr.defender[: self.log_eng].any():
            rr, uu = np.nonzero(cr.defender[: self.log_eng])
            won = cr.att_won[rr, uu]
            dec = cr.decided[rr, uu]
            # the event names the defender, then its attackers (results.digest reads them)
            att = cr.contact[rr, :, uu] & cr.attacking[rr] if cr.contact is not None \
                else np.zeros((rr.size, 0), bool)  # (n,a): cr.attackers_of[rr, :, uu]
            names = [",".join([c.unit_ids[d], *(c.unit_ids[a] for a in np.nonzero(row)[0])])
                     for d, row in zip(uu, att)]
            self._log("engagement", rr, uu, c.side[uu],
                      ["attackers won; defender retreats" if w else ("attack repulsed" if d else "fighting goes on")
                       for w, d in zip(won, dec)], units=names)
        # fatigue
        terr = c.terrain_exertion[c.terrain[s.cell]]
        mv = p.movement
        fat = s.fatigue + moved / 24.0 * mv.fatigue_per_march_day * terr \
            + np.where(cr.engaged, cp.combat_fatigue_per_day * dt_days, 0)
        fat = fat - np.where((moved == 0) & ~cr.engaged, mv.fatigue_recovery_per_day * dt_days, 0.0)
        s.fatigue = np.where(alive, np.clip(fat, 0.0, 1.0), s.fatigue)
        # disease, died of illness, return to duty
        exertion = np.clip(moved / c.step_hours + cr.engaged, 0.0, 1.5)
        sick = med_mod.disease(c, s, p.medical, alive, exertion, self._season_tab[c.step_month[t]],
                               block[:, sl["disease"]], dt_days, c.terrain_exertion)
        sick = np.minimum(sick, s.men())
        doi = sick * p.medical.died_of_illness_fraction
        s.ledger[..., K_SICK] += sick
        s.ledger[..., K_DOI] += doi
        s.sick_pool += sick - doi
        self._remove(sick)
        rw, rs = med_mod.returns(s, p.medical, dt_days)
        rw = np.where(alive, rw, 0.0); rs = np.where(alive, rs, 0.0)
        s.wounded_pool -= rw
        s.sick_pool -= rs
        s.ledger[..., K_RTD] += rw + rs
        self._add(rw + rs)

        # 6. supply (lines of communication checked once a day)
        if c.new_day[t] or t == 1:
            sup_mod.lines_of_communication(c, s, p.supply, self.alive())
        # the vehicles on the roads the deliveries come up (None: no road over its capacity)
        load = sup_mod.road_load(c, s, alive) if c.n_depots else None
        if c.fuel_modelled:  # fuel, its own class, shares the transport (fuel.py)
            frac = np.minimum(s.men() / c.men0[None, :], 1.0)
            f_need, f_req = fuel_mod.request_tons_per_day(c, s, p.fuel, frac, moved_km / dt_days, alive)
            sup_mod.supply_step(c, s, p.supply, alive, airres.interdiction_cut, gcut, dt_days, cr.engaged,
                                airres.supply_tons, fuel_request=f_req,
                                fuel_delivery=lambda transport, reach_h: fuel_mod.deliver(
                                    c, s, p.fuel, f_need, f_req, transport, reach_h, frac, alive, dt_days, load),
                                road_load=load)
        else:
            sup_mod.supply_step(c, s, p.supply, alive, airres.interdiction_cut, gcut, dt_days, cr.engaged,
                                airres.supply_tons, road_load=load)

        # 7. scheduled events: arrivals
        self._arrivals(t)
        self._airlift(airres.airlift_men)

        # 8. bookkeeping, end conditions, recording
        s.steps_in_cell = np.where(s.cell == cell_before, s.steps_in_cell + 1, 0)
        if snap is not None:
            for k, old in snap.items():
                new = getattr(s, k)
                if not new.flags.writeable:
                    new = new.copy()
                    setattr(s, k, new)
                new[frozen_rows] = old
        self._frozen = np.zeros(R, bool)
        self._outcome_step(block[:, c.rng_slices["threat"]])
        self._record()
        self._compact()

    def _outcome_step(self, u_threat: np.ndarray) -> None:
        """Victory and further objectives; u_threat (R, 1 + objectives): uniforms of the threat clocks."""
        c, s, t = self.c, self._s, self._s.t
        active = ~s.done
        men = s.men()
        alive = s.present & (men > self.p.combat.min_men)
        if c.victory_cell >= 0 and c.victory_attacker >= 0:
            at = (s.cell == c.victory_cell) & alive
            att_in = (at & (c.side == c.victory_attacker)[None, :]).any(1)
            hold_in = (at & (c.side == c.victory_holder)[None, :]).any(1)
            taken = active & att_in & ~hold_in & ~s.objective_taken & (t <= c.victory_by_step)
            if c.victory_threat_km > 0:
                # an attacking force that dominates the ground within the threat radius (more
                # men there, not broken or withdrawing, than the holder's), running: the
                # objective is untenable
                within = alive & (c.victory_dist_km[s.cell] <= c.victory_threat_km)
                pressing = within & (c.side == c.victory_attacker)[None, :] & ~s.broken & (s.posture != WITHDRAWAL)
                att_men = np.where(pressing, men, 0.0).sum(1)
                hold_men = np.where(within & (c.side == c.victory_holder)[None, :], men, 0.0).sum(1)
                near = (att_men > 0) & (att_men > hold_men)
                s.threat_hours = threat_clock(s.threat_hours, active & near, c.step_hours, u_threat[:, 0])
                threatened = active & ~taken & ~s.objective_taken & (t <= c.victory_by_step) \
                    & (s.threat_hours >= c.victory_threat_hours)
                if threatened.any():
                    self._log("objective_taken", np.nonzero(threatened)[0], None, c.victory_attacker,
                              f"victory objective untenable: enemy within {c.victory_threat_km:g} km "
                              f"for {c.victory_threat_hours:g} h")
            else:
                threatened = np.zeros_like(taken)
            if taken.any():
                rr = np.nonzero(taken)[0]
                self._log("objective_taken", rr, None, c.victory_attacker, "victory objective taken")
            taken = taken | threatened
            if taken.any():
                s.objective_taken |= taken
                s.taken_step = np.where(taken, t, s.taken_step)
                s.done |= taken
                s.end_step = np.where(taken, t, s.end_step)
        for k, oid in enumerate(c.objective_ids):
            # a further objective: lost when an enemy unit holds its cell alone, or (with a threat
            # radius) dominates the ground around it for its threat hours; the campaign goes on
            holder = c.objective_holder[k]
            at = (s.cell == c.objective_cell[k]) & alive
            enemy = (c.side != holder)[None, :]
            open_ = active & ~s.objectives_lost[:, k] & (t <= c.objective_by_step[k])
            lost = open_ & (at & enemy).any(1) & ~(at & ~enemy).any(1)
            # a lost objective is relieved when its holder stands in it again with no enemy there
            # (and, with a threat radius, no longer outnumbered by the pressing enemy around it):
            # a town retaken, or a besieged garrison reached and the siege lifted
            regained = active & s.objectives_lost[:, k] & ~s.objectives_relieved[:, k] \
                & (at & ~enemy).any(1) & ~(at & enemy).any(1)
            if c.objective_threat_km[k] > 0:
                within = alive & (c.objective_dist_km[k][s.cell] <= c.objective_threat_km[k])
                pressing = within & enemy & ~s.broken & (s.posture != WITHDRAWAL)
                e_men = np.where(pressing, men, 0.0).sum(1)
                h_men = np.where(within & ~enemy, men, 0.0).sum(1)
                s.objective_threat[:, k] = threat_clock(s.objective_threat[:, k], active & (e_men > 0) & (e_men > h_men),
                                                        c.step_hours, u_threat[:, 1 + k])
                lost |= open_ & (s.objective_threat[:, k] >= c.objective_threat_hours[k])
                regained &= e_men <= h_men
            if regained.any():
                self._log("objective_relieved", np.nonzero(regained)[0], None, holder,
                          f"objective '{oid}' relieved")
                s.objectives_relieved[:, k] |= regained
            if lost.any():
                self._log("objective_lost", np.nonzero(lost)[0], None, holder, f"objective '{oid}' lost")
                s.objectives_lost[:, k] |= lost
        if c.attack_side >= 0:
            called = active & s.side_retreat[:, c.attack_side] & (s.calloff_step < 0)
            s.calloff_step = np.where(called, t, s.calloff_step)
            mine = alive & (c.side == c.attack_side)[None, :]
            proj = np.where(mine, c.proj_km[s.cell], -np.inf)
            far = proj.max(1)
            s.max_adv = np.where(active, np.maximum(s.max_adv, far), s.max_adv)
            start = np.maximum(c.proj_km[c.start_cell], 0.0)[None, :]
            beyond = np.where(mine, proj - start, -np.inf)
            s.advanced |= active & (beyond.max(1) > 2 * self.p.ai.start_line_km)
            back = (beyond <= self.p.ai.start_line_km).all(1)
            # the offensive is over once called off (ai.py) and the attackers are back at their start
            # line; a moment with no unit attacking (all halted) is not the end of an offensive
            ended = s.side_retreat[:, c.attack_side]
            over = active & ~s.done & s.advanced & ended & back & (s.off_end_step < 0)
            if over.any():
                rr = np.nonzero(over)[0]
                self._log("offensive_over", rr, None, c.attack_side, "attacker back at its start line")
                s.off_end_step = np.where(over, t, s.off_end_step)
                s.done |= over
                s.end_step = np.where(over, t, s.end_step)
        if t >= c.n_steps:
            s.done |= True

    def _record(self) -> None:
        if self.keep == 0:
            return
        s, c, k = self._s, self.c, self.keep
        men = s.men()[:k]
        self._series.append(np.stack([
            np.where(s.present[:k], men, 0.0), c.lat[s.cell[:k]], c.lon[s.cell[:k]],
            s.posture[:k].astype(float), s.supply[:k], s.morale[:k], s.fatigue[:k]]))

    def run(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Step until every replication has ended (or the last step)."""
        while self._s.t < self.c.n_steps and not self._s.done.all():
            self.step()
            if progress is not None:
                progress(self._s.t, self.c.n_steps)
        if progress is not None:
            progress(self.c.n_steps, self.c.n_steps)

    # ------------------------------------------------------------------ results
    def results(self, scenario_name: str | None = None) -> Results:
        c, s = self.c, self.s
        times = c.step_times
        nat = np.datetime64("NaT", "s")
        winner = np.full(self.R, -1)
        if c.victory_cell >= 0:
            winner = np.where(s.objective_taken, c.victory_attacker, c.victory_holder)
        out = Outcome(
            winner=winner.astype(np.int64),
            objective_lost=s.objective_taken.copy(),
            advance_km=np.maximum(np.where(np.isfinite(s.max_adv), s.max_adv, 0.0), 0.0),
            end_time=times[np.minimum(s.end_step, c.n_steps)].astype("datetime64[s]"),
            offensive_end_time=np.where(s.off_end_step >= 0, times[np.maximum(s.off_end_step, 0)], nat
                                        ).astype("datetime64[s]"),
            arrival_time=np.where(s.arrived_step >= 0, times[np.maximum(s.arrived_step, 0)], nat
                                  ).astype("datetime64[s]"),
            called_off_time=np.where(s.calloff_step >= 0, times[np.maximum(s.calloff_step, 0)], nat
                                     ).astype("datetime64[s]"),
            objectives_lost={oid: s.objectives_lost[:, k].copy() for k, oid in enumerate(c.objective_ids)},
            objectives_relieved={oid: s.objectives_relieved[:, k].copy() for k, oid in enumerate(c.objective_ids)},
            daily_men=s.daily_men.copy(), daily_casualties=s.daily_casualties.copy(),
        )
        return Results(
            scenario=scenario_name or c.name, seed=self.seed, sides=c.side_ids, unit_ids=c.unit_ids,
            unit_names=c.unit_names, unit_sides=c.side.astype(np.int64), start=c.start,
            step_hours=c.step_hours, replication_ids=self.rids.copy(), ledger=s.ledger.copy(),
            civilian_casualties=s.civilians.copy(), aircrew_lost=s.aircrew_lost.copy(), outcome=out,
            events=self._events_frame(), series=self._series_ds(),
        )

    def _events_frame(self) -> pd.DataFrame:
        cols = ["replication", "time", "kind", "side", "units", "cell", "lat", "lon", "detail"]
        if not self._events:
            return pd.DataFrame({k: pd.Series(dtype=object) for k in cols})
        c = self.c
        # one column per field over all logged batches (one DataFrame per batch is slow)
        rr, t, kind, side, units, cells, detail = zip(*self._events)
        n = np.array([len(x) for x in rr])
        cells = np.concatenate(cells).astype(np.int64)
        ok = cells >= 0
        df = pd.DataFrame({
            "replication": self.rids[np.concatenate(rr)], "time": np.repeat(c.step_times[list(t)], n),
            "kind": np.repeat(np.array(kind, dtype=object), n),
            "side": np.array(c.side_ids, dtype=object)[np.concatenate(side).astype(np.int64)],
            "units": [x for part in units for x in part], "cell": cells,
            "lat": np.where(ok, c.lat[np.maximum(cells, 0)], np.nan),
            "lon": np.where(ok, c.lon[np.maximum(cells, 0)], np.nan),
            "detail": [x for part in detail for x in part]})
        return df.sort_values(["replication", "time"], kind="stable").reset_index(drop=True)

    def _series_ds(self) -> xr.Dataset | None:
        if self.keep == 0 or not self._series:
            return None
        frames = list(self._series)
        # every replication has ended by the last recorded step and stays frozen: extend the
        # record to the full time axis so that series never depend on the batch a replication ran in
        frames += [frames[-1]] * (self.c.n_steps + 1 - len(frames))
        arr = np.stack(frames, axis=2)  # (field, rep, time, unit)
        T = arr.shape[2]
        coords = {"replication": self.rids[: self.keep], "time": self.c.step_times[:T],
                  "unit": list(self.c.unit_ids)}
        data = {f: (("replication", "time", "unit"), arr[i]) for i, f in enumerate(SERIES_FIELDS)}
        ds = xr.Dataset(data, coords=coords)
        ds["posture"].attrs["labels"] = ",".join(POSTURE_NAMES)
        ds["strength"].attrs["units"] = "men"
        return ds
