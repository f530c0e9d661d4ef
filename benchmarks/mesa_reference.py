"""A Mesa reference implementation of the campaign model: one agent object per unit.

This is the same campaign model as `xuefeng.engine`, written on purpose the way
agent-based models are usually written in the Python ecosystem — a `mesa.Model`
with one `mesa.Agent` per manoeuvre unit, each holding its own scalar state
(cell, men by arm, posture, supply, morale, fatigue, momentum, plan phase,
waypoint, halted/broken flags, casualty ledger, ...), side-level state on small
`Side` objects, and plain Python code stepping one replication at a time. It
exists for two reasons only, and is not meant for production use:

* as an independent re-implementation that checks the vectorised engine:
  `agreement()` compares the two on the main outcomes (tests/test_mesa_reference.py);
* as the speed baseline for the engine (benchmarks/bench_engine.py and `main()`
  here time both side by side in one run).

It reads exactly the engine's inputs — the `Compiled` scenario
(`xuefeng.engine.compile_scenario`: map neighbours, cost-to-go fields, terrain,
phase tables, `c.params.*`) and the fitted `EngagementModel`, called once per
engagement — and follows the phases of `xuefeng.engine.core.Simulation.step`
in the same order. Rules that have a NumPy home in the engine (the ongoing
engagement's losses and decision, `xuefeng.engagement.ongoing`; the defender's
posture, the advantage codes and the step outcome, `xuefeng.engine.combat`; a
unit's need and stock, `xuefeng.engine.supply`) are called from the agents on
one-element arrays, so that each rule is written once. Phases where the engine decides every unit from the same
snapshot (orders, movement's zones of control, combat, supply draws) are
staged here too (sense first, then act), so that the agents' update order does
not change the model. It has its own random streams (one per replication,
from (seed, replication id)), so it agrees with the engine statistically, not
bit for bit.

    python benchmarks/mesa_reference.py -n 20 --seed 0
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import mesa
import numpy as np
import pandas as pd

from xuefeng.engagement import ongoing
from xuefeng.engine import combat as combat_rules
from xuefeng.engine import civilians as civ_rules
from xuefeng.engine import movement as movement_rules
from xuefeng.engine import supply as supply_rules
from xuefeng.engine.compile import DEFAULT_DISEASE_SEASON, DEFAULT_RAIN_PROBABILITY, Compiled, compile_scenario
from xuefeng.engine.movement import max_hops
from xuefeng.engine.core import threat_clock
from xuefeng.results.model import CATEGORIES, Outcome, Results

ATTACK, HASTY, PREPARED, FORTIFIED, DELAY, WITHDRAWAL, RESERVE = range(7)
(K_KILLED, K_WOUNDED, K_DOW, K_MISSING, K_CAPTURED, K_SICK, K_DOI, K_RTD) = range(len(CATEGORIES))
#: Extra spawn-key word of the Mesa model's random streams, so that they are never the engine's.
MESA_STREAM = 0x4D455341
NEVER = 10 ** 9
EVENT_COLUMNS = ["replication", "time", "kind", "side", "units", "cell", "lat", "lon", "detail"]


# --------------------------------------------------------------------------- compiled tables


class Tables:
    """The compiled scenario's arrays as nested Python lists: a per-agent model reads scalars,
    and list indexing is what plain Python code does (NumPy scalars would be slower)."""

    def __init__(self, c: Compiled) -> None:
        self.nbr = c.nbr.tolist()
        self.near = [tuple(x for x in row if x >= 0) for row in c.nbr_self.tolist()]
        self.edge_ok = c.edge_ok.tolist()
        self.edge_hours = c.edge_hours.tolist()  # [rain][mode][cell][k]
        self.next_k = c.next_k.tolist()  # [mode][field][cell]
        self.ctg = c.ctg.astype(np.float64).tolist()  # [mode][field][cell]
        self.terrain = c.terrain.tolist()
        self.terrain_eng = c.terrain_eng.tolist()
        self.elev = c.elev.tolist()
        self.high_ground = c.high_ground.tolist()
        self.exertion = c.terrain_exertion.tolist()
        self.population = c.population.tolist()
        self.home_side = c.home_side.tolist()
        self.depth_km = c.depth_km.tolist()
        self.proj_km = c.proj_km.tolist()
        self.victory_dist_km = c.victory_dist_km.tolist()
        self.x = c.x_km.tolist()
        self.y = c.y_km.tolist()
        self.rear_ctg = c.rear_ctg.tolist()
        self.depot_ctg = c.depot_ctg.tolist()
        self.phase_units = c.phase_units.tolist()
        self.phase_obj_dist = c.phase_obj_dist.tolist()
        self.phase_wp = c.phase_wp.tolist()
        self.phase_wp_cell = c.phase_wp_cell.tolist()
        self.unit_phases = [[k for k in range(c.n_phases) if c.phase_units[k, u]] for u in range(c.n_units)]
        months = range(13)
        self.rain_prob = [c.config.rain_probability_by_month.get(m, DEFAULT_RAIN_PROBABILITY) for m in months]
        self.season = [c.config.disease_season_by_month.get(m, DEFAULT_DISEASE_SEASON) for m in months]
        self.month = c.step_month.tolist()
        self.day = c.step_day.tolist()
        self.new_day = c.new_day.tolist()
        # air-arrival units of each side in airlift order (lift step, arrival step, index)
        order = np.lexsort((np.arange(c.n_units), c.arrival_step, c.lift_step)).tolist()
        self.airlift_order = [[u for u in order if c.side[u] == s and c.air_arrival[u]] for s in range(c.n_sides)]
        self.lift_sides = [bool(np.any((c.group_side == s) & (c.group_missions[:, 3] > 0)))
                           for s in range(c.n_sides)]


_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tables(c: Compiled) -> Tables:
    """One `Tables` per compiled scenario (building them takes longer than a step)."""
    if c not in _TABLES:
        _TABLES[c] = Tables(c)
    return _TABLES[c]


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else min(x, hi)


# --------------------------------------------------------------------------- agents


class Side:
    """Side-level state: offensive bookkeeping for the AI, and aircrew lost."""

    def __init__(self, index: int, liaison: bool) -> None:
        self.index = index
        self.liaison = liaison
        self.attacked = False  # has had units attacking
        self.retreat = False  # offensive called off
        self.aircrew_lost = 0.0
        # fading record of decided fights won and lost (ai.record_fights)
        self.fights_won = 0.0
        self.fights_lost = 0.0
        # per-step tallies
        self.halted = False
        self.retreating = False


class Unit(mesa.Agent):
    """A manoeuvre unit (division, brigade, ...) with its own state and phase methods."""

    def __init__(self, model: CampaignModel, index: int) -> None:
        super().__init__(model)
        c = model.c
        self.index = index
        self.side = int(c.side[index])
        self.mode = int(c.mode[index])
        self.men0 = float(c.men0[index])
        self.arms0 = c.arms0[index].tolist()
        self.share = [a / self.men0 for a in self.arms0]
        self.guns0 = float(c.guns0[index]) + model.p.combat.mortar_weight * float(c.mortars0[index])
        self.tanks0 = float(c.tanks0[index])
        self.quality = c.quality[index].tolist()
        self.start_cell = int(c.start_cell[index])
        self.home_field = int(c.home_field[index])
        self.arrival_step = int(c.arrival_step[index])
        self.lift_step = int(c.lift_step[index])
        self.air_arrival = bool(c.air_arrival[index])
        at_start = self.arrival_step == 0
        self.present = at_start
        self.arms = list(self.arms0) if at_start else [0.0, 0.0, 0.0, 0.0]
        self.delivered = self.men0 if at_start else 0.0
        self.arrived_step = 0 if at_start else -1
        self.cell = self.start_cell
        self.posture = HASTY
        self.field = -1
        self.chase = -1
        self.phase = -1
        self.wp = 0
        self.supply = model.p.supply.start_supply  # stock, fraction of the basic load
        self.fed = 1.0  # share of its need the unit lived on last step
        self.flow = 1.0  # deliveries over need last step (> 1: the stock is being rebuilt)
        self.eng_hours = 0.0  # hours the battle at this unit (as defender) has run
        self.eng_idle = math.inf  # hours since this unit was last engaged as a defender
        self.morale = 1.0
        self.fatigue = 0.0
        self.momentum = 0.0
        self.mp = 0.0
        self.steps_in_cell = 100
        self.halted = False
        self.broken = False
        self.wounded_pool = 0.0
        self.sick_pool = 0.0
        self.ledger = [0.0] * len(CATEGORIES)
        # per-step scratch
        self.alive = False
        self.cell_before = self.cell
        self.moved = 0.0

    # ------------------------------------------------------------------ helpers
    @property
    def men(self) -> float:
        return self.arms[0] + self.arms[1] + self.arms[2] + self.arms[3]

    def remove(self, n: float) -> None:
        """Take n men out, every arm in proportion."""
        men = self.men
        if men > 0:
            f = 1.0 - min(n, men) / max(men, 1e-9)
            self.arms = [a * f for a in self.arms]

    def add(self, n: float) -> None:
        """Men joining (returns to duty, airlifted men) come in the unit's full-strength mix."""
        self.arms = [a + n * s for a, s in zip(self.arms, self.share)]

    def is_enemy(self, other: Unit) -> bool:
        return other.side != self.side

    # ------------------------------------------------------------------ 1. orders
    def start_step(self) -> None:
        self.alive = self.present and self.men > self.model.p.combat.min_men
        self.cell_before = self.cell
        self.men_now = self.men
        m = self.model
        self.in_att_phase = self.alive and self.phase >= 0 and m.phase_attack[self.phase]

    def follow_plan(self) -> None:
        """Latest effective phase naming the unit; next waypoint on its route; base posture and field."""
        m = self.model
        T = m.T
        best, ph = -1, -1
        for k in m.effective_phases_of(self.index):
            score = m.phase_effective[k] * m.n_phases + k
            if score > best:
                best, ph = score, k
        if ph != self.phase:
            self.wp = 0
            self.halted = False
        self.phase = ph
        if ph >= 0:
            nwp = m.phase_nwp[ph]
            wp_field = T.phase_wp[ph]
            ctg = T.ctg[self.mode]
            while self.wp < nwp - 1:
                # at the current waypoint, or the next one is nearer: a unit joins its axis ahead
                if self.cell == T.phase_wp_cell[ph][self.wp] or \
                        ctg[wp_field[self.wp + 1]][self.cell] <= ctg[wp_field[self.wp]][self.cell]:
                    self.wp += 1
                else:
                    break
            self.base = m.phase_posture[ph]
            self.plan_field = wp_field[min(self.wp, len(wp_field) - 1)] if nwp > 0 else -1
        else:
            self.base = HASTY
            self.plan_field = -1

    def sense(self) -> None:
        """Local power: own and friendly men in and next to the cell, enemy men in contact."""
        self.own = self.opp = self.ratio = 0.0
        self.touching = self.touch_wd = False
        if not self.alive:
            return
        for cell in self.model.T.near[self.cell]:
            for v in self.model.by_cell.get(cell, ()):
                if v.side == self.side:
                    self.own += v.men_now
                else:
                    self.opp += v.men_now
                    self.touching = True
                    if v.posture == WITHDRAWAL:
                        self.touch_wd = True
        self.ratio = self.own / max(self.opp, 1.0)

    def doctrine_halt(self) -> None:
        """An attacking unit halts at poor odds, or short of stock where waiting rebuilds it (what
        arrives exceeds its need), and resumes when both recover or waiting cannot help."""
        p = self.model.p.ai
        is_att = self.base == ATTACK
        rebuilds = self.flow > 1.0
        halt_now = is_att and self.alive and ((self.touching and self.ratio < p.halt_ratio)
                                              or (self.supply < p.halt_supply and rebuilds))
        resume = (not self.touching or self.ratio >= p.resume_ratio) and (
            self.supply >= p.resume_supply or not rebuilds)
        if halt_now:
            self.halted = True
        elif resume:
            self.halted = False
        self.halted = self.halted and is_att

    def choose_posture(self) -> None:
        """Posture from the plan and doctrine: called-off offensive, halt, counterattack, pursuit."""
        m = self.model
        p = m.p.ai
        post = self.base
        if self.base == ATTACK and m.sides[self.side].retreat:
            post = HASTY if self.side == m.c.victory_holder else WITHDRAWAL
        if post == ATTACK and self.halted:
            post = HASTY
        self.defensive = post != ATTACK and post != WITHDRAWAL
        counter = self.defensive and self.touching and self.ratio >= p.counter_ratio \
            and self.supply >= p.counter_supply
        pursue = self.defensive and self.touch_wd and self.ratio >= p.pursue_ratio
        if (counter or pursue) and not self.broken:
            post = ATTACK
        self.post = post
        self.new_chase = -1

    def finish_orders(self) -> None:
        """Broken units withdraw home; withdrawals head for the start position; broken units rally."""
        m = self.model
        p = m.p.ai
        post = self.post
        if self.broken:
            post = WITHDRAWAL
        chase = self.new_chase if post == ATTACK else -1
        fld = self.plan_field
        if post == WITHDRAWAL:
            fld = self.home_field
            if self.cell == self.start_cell:
                post = HASTY
        if self.broken and not self.touching and self.morale >= p.recover_morale \
                and self.men_now >= p.rally_strength * max(self.delivered, 1.0):
            self.broken = False
        if fld < 0 and post == ATTACK:
            fld = self.home_field
        if self.alive:
            self.posture = post
        self.field = fld
        self.chase = chase
        if self.posture == ATTACK and self.alive and self.in_att_phase:
            m.sides[self.side].attacked = True

    # ------------------------------------------------------------------ 2. movement
    def march(self) -> None:
        """March along the field toward the waypoint (or straight at an enemy to envelop it);
        stop on entering an enemy's zone of control unless withdrawing."""
        m = self.model
        mv = m.p.movement
        T = m.T
        self.moved = 0.0
        if not self.alive:
            self.mp = 0.0
            return
        withdrawing = self.posture == WITHDRAWAL
        moving = not (self.halted and not withdrawing)
        ezoc = m.enemy_zoc[self.side]
        in_contact = self.cell in ezoc
        floor = mv.low_supply_speed_floor_motor if self.mode == 1 else mv.low_supply_speed_floor
        speed = (floor + (1 - floor) * self.fed) \
            * (1 - mv.fatigue_speed_penalty * self.fatigue) \
            * movement_rules.air_march_factor(mv, m.enemy_presence[self.side], m.daylight_share)
        if withdrawing and in_contact:
            speed *= mv.contact_withdrawal_speed
        chasing = moving and self.chase >= 0
        if moving and (self.field >= 0 or chasing):
            self.mp += m.c.step_hours * speed
        else:
            self.mp = 0.0
        rain = 1 if m.rain else 0
        eh = T.edge_hours[rain][self.mode]
        if chasing:
            self._march_toward(self.chase, eh)
        elif moving and self.field >= 0 and (withdrawing or not in_contact):
            nk = T.next_k[self.mode][self.field]
            for _ in range(max_hops(mv, m.c.step_hours)):
                k = nk[self.cell]
                if k < 0:
                    break
                cost = eh[self.cell][k]
                if self.mp < cost:
                    break
                self.cell = T.nbr[self.cell][k]
                self.mp -= cost
                self.moved += cost
                if not withdrawing and self.cell in ezoc:
                    break
        elif moving and self.field >= 0:
            self.mp = 0.0  # held in an enemy's zone of control: it fights and banks no hours
        self.mp = min(self.mp, mv.carry_hours_cap)

    def _march_toward(self, target: int, eh: list) -> None:
        """Greedy hex steps straight at a target cell a few hexes away (no precomputed field)."""
        T = self.model.T
        tx, ty = T.x[target], T.y[target]
        for _ in range(max_hops(self.model.p.movement, self.model.c.step_hours)):
            c = self.cell
            best, bk = math.inf, 0
            for k in range(6):
                if T.edge_ok[c][k]:
                    n = T.nbr[c][k]
                    d = math.hypot(T.x[n] - tx, T.y[n] - ty)
                    if d < best:
                        best, bk = d, k
            cost = eh[c][bk]
            if not (best < math.hypot(T.x[c] - tx, T.y[c] - ty) - 1e-9 and self.mp >= cost):
                break
            self.cell = T.nbr[c][bk]
            self.mp -= cost
            self.moved += cost

    # ------------------------------------------------------------------ 4. combat inputs
    def combat_inputs(self) -> None:
        """Effective men, guns, tanks and quality (log) as the engagement model sees them."""
        p = self.model.p.combat
        men = self.men
        self.men_now = men
        frac = min(men / self.men0, 1.0)
        self.eff = men * (1.0 - p.fatigue_penalty * self.fatigue) \
            * (p.supply_floor + (1 - p.supply_floor) * self.fed)
        ammo = p.ammo_floor + (1 - p.ammo_floor) * self.fed
        self.guns = self.guns0 * frac * ammo
        self.tanks = self.tanks0 * frac * (p.fuel_floor + (1 - p.fuel_floor) * self.fed)
        q = list(self.quality)  # morale and supply states enter as shifts of the codes (combat.py)
        if self.model.c.side_liaison[self.side]:
            q[4] *= p.liaison_intelligence
        self.lq = [math.log(x) for x in q]
        # results of this step's fighting
        self.cas = 0.0
        self.beaten = self.won = self.defended = self.att_won = self.decided = False
        self.new_cell = self.cell
        self.follow_cell = self.cell
        self.cell_cas = 0.0
        self.contacts = []
        if self.alive:
            for cell in self.model.T.near[self.cell]:
                for v in self.model.by_cell.get(cell, ()):
                    if v.side != self.side:
                        self.contacts.append(v)
            self.contacts.sort(key=lambda v: v.index)
        self.touching = bool(self.contacts)
        self.attacking = self.posture == ATTACK and self.touching

    def primary_target(self) -> Unit:
        """The contacted enemy lowest on the unit's own cost-to-go field (the one barring its way)."""
        ctg = self.model.T.ctg[self.mode][max(self.field, 0)]
        return min(self.contacts, key=lambda e: ctg[e.cell] + 1e-6 * e.men_now)

    # ------------------------------------------------------------------ 5. attrition
    def attrition(self) -> None:
        """Guerrillas, morale, breakpoints, battle losses, combat moves, fatigue, disease, returns."""
        m = self.model
        c, p, T = m.c, m.p, m.T
        cp = p.combat
        dt_days = m.dt_days
        # guerrillas: exposure deep in enemy home territory with partisans
        e = 0.0
        if self.alive:
            owner = T.home_side[self.cell]
            if owner >= 0 and owner != self.side:
                e = c.side_guerrilla[owner] * min(1.0, T.depth_km[self.side][self.cell] / p.guerrillas.depth_scale_km)
        self.guerrilla_cut = p.guerrillas.max_supply_cut * (1.0 - math.exp(-e))
        glost = p.guerrillas.loss_per_day * e * self.men * dt_days * (2.0 * m.random.random()) if e > 0 else 0.0
        men = self.men
        loss_frac = (self.cas + glost) / max(men, 1.0)
        morale = self.morale - cp.morale_loss_per_casualty_fraction * loss_frac
        if self.beaten:
            morale -= cp.morale_defeat
        elif self.won:
            morale += cp.morale_victory
        if self.alive and not self.engaged and self.fed > p.ai.morale_recovery_supply:
            morale += p.ai.morale_recovery_per_day * dt_days
        self.morale = _clip(morale, 0.0, 1.0)
        frac_after = (men - self.cas - glost) / max(self.delivered, 1.0)
        routed = self.alive and not self.broken and (frac_after < cp.breakpoint_fraction
                                                     or self.morale < cp.morale_break)
        self.battle_losses(self.cas, self.beaten, routed and self.beaten)
        self.battle_losses(glost, False, False)
        if routed:
            m.log("breakpoint", self, "strength or morale broke; withdraws")
            self.broken = True
        self.momentum = _clip(self.momentum * cp.momentum_keep_per_day ** dt_days
                              + cp.momentum_gain * (float(self.won) - float(self.beaten)), -1.0, 1.0)
        if self.alive:
            self.cell = self.new_cell
        # fatigue
        mv = p.movement
        if self.alive:
            fat = self.fatigue + self.moved / 24.0 * mv.fatigue_per_march_day * T.exertion[T.terrain[self.cell]]
            if self.engaged:
                fat += cp.combat_fatigue_per_day * dt_days
            elif self.moved == 0:
                fat -= mv.fatigue_recovery_per_day * dt_days
            self.fatigue = _clip(fat, 0.0, 1.0)
        # disease, died of illness, return to duty
        med = p.medical
        if self.alive:
            exertion = _clip(self.moved / c.step_hours + float(self.engaged), 0.0, 1.5)
            inc = (med.base_incidence_per_day * m.season * c.side_disease[self.side]
                   * (1.0 + med.exertion_weight * exertion) * T.exertion[T.terrain[self.cell]] ** med.terrain_power
                   * (1.0 + med.supply_weight * (1.0 - self.fed)))
            men = self.men
            sick = min(men * inc * dt_days * (1.0 + med.noise * (2.0 * m.random.random() - 1.0)), men)
            doi = sick * med.died_of_illness_fraction
            self.ledger[K_SICK] += sick
            self.ledger[K_DOI] += doi
            self.sick_pool += sick - doi
            self.remove(sick)
            rw = self.wounded_pool * min(1.0, med.wounded_return_per_day * dt_days)
            rs = self.sick_pool * min(1.0, med.sick_return_per_day * dt_days)
            self.wounded_pool -= rw
            self.sick_pool -= rs
            self.ledger[K_RTD] += rw + rs
            self.add(rw + rs)

    def battle_losses(self, cas: float, beaten: bool, routed: bool) -> None:
        """Book battle casualties by category and take the men out."""
        if cas <= 0:
            return
        m = self.model
        p = m.p.combat
        cas = min(cas, self.men)
        capture = m.c.side_capture[self.side]
        miss = p.beaten_missing_fraction if beaten else p.missing_fraction
        capt = p.captured_fraction * capture if beaten else 0.0
        if routed:
            miss += 0.5 * p.routed_extra_missing
            capt += 0.5 * p.routed_extra_missing * capture
        k, mi, cp = cas * p.killed_fraction, cas * miss, cas * capt
        w = max(cas - k - mi - cp, 0.0)
        dow = w * m.p.medical.died_of_wounds_fraction
        L = self.ledger
        L[K_KILLED] += k
        L[K_WOUNDED] += w
        L[K_DOW] += dow
        L[K_MISSING] += mi
        L[K_CAPTURED] += cp
        self.wounded_pool += w - dow
        self.remove(cas)

    # ------------------------------------------------------------------ 6. supply
    def supply_demand(self) -> None:
        """Need (tons a day, by posture and combat) and request (need plus what refills the basic
        load in refill_days); the side's transport is shared among all its units' requests."""
        m = self.model
        p = m.p.supply
        men = self.men
        one = np.ones(1)
        self.need = float(supply_rules.need_tons_per_day(
            p, men * one, np.array([self.posture]), np.array([self.engaged]), np.array([self.alive]))[0])
        refill = supply_rules.basic_load_tons(p, men) * (1.0 - self.supply) / p.refill_days
        self.request = self.need + refill if self.alive else 0.0
        m.side_demand[self.side] += self.request

    def draw_supply(self) -> None:
        """Delivery from the nearest stocked depot of the side (at least what foraging gives);
        the stock takes deliveries less need, and `fed` is the share of the need covered."""
        m = self.model
        c, p, T = m.c, m.p.supply, m.T
        if not self.alive:
            return
        if c.n_depots == 0:
            self.supply = min(1.0, self.supply + m.dt_days / p.refill_days)
            self.fed = 1.0
            self.flow = 1.0
            return
        h_best, d_best = math.inf, -1
        if not c.side_has_depots[self.side]:
            from_depot = self.request
        else:
            for d in range(c.n_depots):
                if c.depot_side[d] == self.side and m.stock_at_start[d] > 0:
                    h = T.depot_ctg[d][self.cell]
                    if h < h_best:
                        h_best, d_best = h, d
            reach_h = p.reach_hours_motor if c.side_supply_motor[self.side] else p.reach_hours_foot
            reach = 1.0 / (1.0 + (h_best / reach_h) ** 2) if h_best < math.inf else 0.0
            cap = c.side_capacity[self.side]
            ratio = min(1.0, cap / max(m.side_demand[self.side], 1e-9)) if math.isfinite(cap) else 1.0
            f = ratio * reach * (1.0 - m.interdiction_cut[self.side]) * (1.0 - self.guerrilla_cut)
            from_depot = f * self.request
        delivered = max(from_depot, p.forage_fraction * self.need)
        one = np.ones(1)
        stock, fed = supply_rules.stock_update(p, self.supply * one, self.men * one, self.need * one,
                                               delivered * one, m.dt_days)
        self.supply = float(stock[0])
        self.fed = float(fed[0])
        self.flow = delivered / self.need if self.need > 0 else 1.0
        if h_best < math.inf and c.side_has_depots[self.side]:
            m.depot_draw[d_best] += from_depot * m.dt_days

    # ------------------------------------------------------------------ 8. bookkeeping
    def end_step(self) -> None:
        self.steps_in_cell = self.steps_in_cell + 1 if self.cell == self.cell_before else 0


# --------------------------------------------------------------------------- model


class CampaignModel(mesa.Model):
    """One replication of a compiled campaign scenario, stepped unit by unit."""

    def __init__(self, compiled: Compiled, engagement: Any, seed: int, replication: int,
                 log_events: bool = False) -> None:
        super().__init__(rng=np.random.SeedSequence(int(seed), spawn_key=(int(replication), MESA_STREAM)))
        c = compiled
        bypass = bool(((c.mode == 1) & (c.side_doctrine["bypass_ratio"][c.side] > 0)).any())
        if c.fuel_modelled or c.n_bridges or bypass or c.side_surprise.any():
            raise ValueError(f"the Mesa reference mirrors neither fuel (depots' fuel_tons), bridges "
                             f"(theater.bridges), motorised units bypassing (ai.bypassing) nor an opening "
                             f"surprise (sides.<side>.opening_surprise); scenario "
                             f"'{c.name}' has them: run it on one without (West Hunan)")
        self.c = c
        self.p = c.params
        self.daylight_share = max(0.0, min(1.0, (self.p.air.day_end_hour - self.p.air.day_start_hour) / 24.0))
        self.T = tables(c)
        self.replication = int(replication)
        self.engagement = engagement
        try:
            import inspect

            kw = set(inspect.signature(engagement.predict_batch).parameters)
        except (TypeError, ValueError):
            kw = set()
        self.model_kw = {"year": float(c.start.year)} if "year" in kw else {}
        self.model_wet = "wet" in kw
        #: mean hours to decision of an engagement in the campaign's era (the engagement model's fit)
        self.duration_law = tuple(engagement.duration_law(float(c.start.year))) \
            if hasattr(engagement, "duration_law") else (24.0, 0.0)
        self.advance_q = np.asarray(engagement.advance_quantiles(float(c.start.year))
                                    if hasattr(engagement, "advance_quantiles") else [], float)
        self.advance_b = float(getattr(engagement, "advance_size_exponent", 0.0))
        self.log_events = log_events
        self.events: list[tuple] = []
        self.dt_days = c.step_hours / 24.0
        self.n_phases = c.n_phases
        self.phase_attack = c.phase_attack.tolist()
        self.phase_posture = c.phase_posture.tolist()
        self.phase_nwp = c.phase_nwp.tolist()
        self.t = 0
        self.sides = [Side(s, bool(c.side_liaison[s])) for s in range(c.n_sides)]
        self.phase_issued = [-1] * c.n_phases
        self.phase_effective = [NEVER] * c.n_phases
        self.rain = False
        self.overcast = False
        self.season = 1.0
        self.depot_stock = c.depot_stock0.astype(float).tolist()
        self.aircraft = c.group_aircraft.astype(float).tolist()
        self.civilians = 0.0
        self.objective_taken = False
        self.threat_hours = 0.0
        self.done = False
        self.end_step = c.n_steps
        self.max_adv = -math.inf
        self.advanced = False
        self.off_end_step = -1
        self.units = [Unit(self, i) for i in range(c.n_units)]
        self.by_cell: dict[int, list[Unit]] = {}

    # ------------------------------------------------------------------ helpers
    def log(self, kind: str, unit: Unit | None, detail: str, side: int | None = None) -> None:
        if self.log_events:
            self.events.append((self.t, kind, unit.side if unit is not None else side,
                                unit.index if unit is not None else -1, unit.cell if unit is not None else -1,
                                detail))

    def index_cells(self) -> None:
        """Where the live units stand (a cell -> units index, the model's 'space')."""
        self.by_cell = {}
        for u in self.units:
            if u.alive:
                self.by_cell.setdefault(u.cell, []).append(u)

    def effective_phases_of(self, unit_index: int) -> list[int]:
        return [k for k in self.T.unit_phases[unit_index] if self.phase_effective[k] <= self.t]

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        c = self.c
        self.t += 1
        t = self.t
        T = self.T
        if T.new_day[t] or t == 1:
            self.rain = self.random.random() < T.rain_prob[T.month[t]]
            self.overcast = False
            code = int(self.c.step_weather[t])
            if code >= 0:  # the scenario's recorded weather (compile.WEATHER_CODES)
                self.rain, self.overcast = code == 2, code == 1
        self.season = T.season[T.month[t]]
        self.agents.do("start_step")
        self.index_cells()
        self.orders()
        air = self.air_operations()
        self.interdiction_cut = air["cut"]
        self.enemy_presence = [sum(air["presence"][k] for k in range(len(air["presence"])) if k != s_)
                               for s_ in range(len(air["presence"]))]
        self.movement()
        self.combat(air)
        self.civilians += self.civilian_casualties()
        self.agents.do("attrition")
        self.supply_phase(air["cut"])
        self.ground_arrivals()
        self.airlift(air["airlift_men"])
        self.agents.do("end_step")
        self.outcome()
        if self.done or self.t >= c.n_steps:
            self.running = False

    # ------------------------------------------------------------------ 1. orders
    def orders(self) -> None:
        """Plan phases issued by date or trigger, command delay, unit phases, doctrine."""
        c, p = self.c, self.p.ai
        t = self.t
        units = self.units
        for sd in self.sides:
            n_ap = n_at = n_wd = 0
            for u in units:
                if u.side == sd.index and u.in_att_phase:
                    n_ap += 1
                    n_at += u.posture == ATTACK
                    n_wd += u.posture == WITHDRAWAL
            sd.halted = sd.attacked and (n_at < p.halted_fraction * max(n_ap, 1) or sd.retreat)
            sd.retreating = sd.retreat or (sd.attacked and n_wd >= p.retreating_fraction * max(n_ap, 1))
        for k in range(c.n_phases):
            if self.phase_issued[k] >= 0:
                continue
            if self.phase_fires(k):
                ps = int(c.phase_side[k])
                cmd = self.p.command
                f = (cmd.liaison_factor if c.side_liaison[ps] else 1.0) \
                    * (1.0 - cmd.spread + 2.0 * cmd.spread * self.random.random())
                delay = round(cmd.base_delay_hours * f / c.step_hours)
                self.phase_issued[k] = t
                self.phase_effective[k] = t + delay
                self.log("phase_issued", None, c.phase_ids[k], side=ps)
        self.agents.do("follow_plan")
        self.agents.do("sense")
        self.agents.do("doctrine_halt")
        self.culmination()
        self.agents.do("choose_posture")
        if p.envelop_radius_km > 0:
            self.envelopment()
        self.agents.do("finish_orders")

    def phase_fires(self, k: int) -> bool:
        c = self.c
        if self.t >= c.phase_start_step[k]:
            return True
        ps = int(c.phase_side[k])
        trig = int(c.phase_trigger[k])
        enemies = [sd for sd in self.sides if sd.index != ps]
        if trig == 1 and any(sd.halted for sd in enemies):
            return True
        if trig == 2 and any(sd.retreating for sd in enemies):
            return True
        if trig == 3 and self.strength_superior(k):
            return True
        return bool(c.phase_retreat[k]) and self.sides[ps].retreat

    def strength_superior(self, k: int) -> bool:
        """`own_strength_superior`: own men near the phase objective outnumber the enemy's there."""
        c, p, T = self.c, self.p.ai, self.T
        ps = c.phase_side[k]
        mine = T.phase_units[k]
        obj = c.phase_obj_cell[k]
        pmen = emen = omen = 0.0
        for u in self.units:
            if not u.alive:
                continue
            if mine[u.index]:
                pmen += u.men_now
            if obj < 0 or T.phase_obj_dist[k][u.cell] <= p.superior_radius_km:
                if u.side != ps:
                    emen += u.men_now
                elif not mine[u.index]:
                    omen += u.men_now
        return emen >= p.superior_min_enemy_men and pmen + omen >= p.superior_ratio * emen

    def record_fights(self, engagements) -> None:
        """Each side's fading record of decided fights: an attack that carried or a defence that
        held counts for a side, the opposite against it (ai.record_fights)."""
        p = self.p.ai
        keep = math.exp(-self.c.step_hours / p.stall_hours) if p.stall_hours > 0 else 0.0
        for sd in self.sides:
            sd.fights_won *= keep
            sd.fights_lost *= keep
        for d in sorted(engagements, key=lambda u: u.index):
            if not d.decided:
                continue
            for sd in self.sides:
                hostile = bool(self.c.enemy_side_matrix[d.side, sd.index])
                if sd.index == d.side:
                    sd.fights_won += 0.0 if d.att_won else 1.0
                    sd.fights_lost += 1.0 if d.att_won else 0.0
                elif hostile:
                    sd.fights_won += 1.0 if d.att_won else 0.0
                    sd.fights_lost += 0.0 if d.att_won else 1.0

    def culmination(self) -> None:
        """A side calls off its offensive, from its attackers' state: when enough of them are
        spent (broken or out of action), or the supply they live on, their strength or their
        morale is too low, or the enemy within a day's march outnumbers them — once it is no
        longer winning more fights than it loses (record_fights)."""
        p = self.p.ai
        for sd in self.sides:
            n_is = n_stuck = n_live = 0
            fed = mor = men = men0 = 0.0
            for u in self.units:
                if u.side != sd.index or u.base != ATTACK:
                    continue
                if u.present:
                    n_is += 1
                    n_stuck += u.broken or not u.alive
                    men += u.men_now
                    men0 += u.men0
                if u.alive:
                    n_live += 1
                    fed += u.fed
                    mor += u.morale
            fed /= max(n_live, 1)
            mor = mor / n_live if n_live > 0 else 0.0
            strength = men / max(men0, 1.0)
            stuck = n_stuck / max(n_is, 1)
            # the men the offensive has gathered (its attackers and its other units within a day's
            # march of them) against the enemy men within a day's march of any of its attackers
            att = [u for u in self.units if u.side == sd.index and u.base == ATTACK and u.alive and u.in_att_phase]
            T = self.T

            def near(e: Unit) -> bool:
                return any(math.hypot(T.x[u.cell] - T.x[e.cell], T.y[u.cell] - T.y[e.cell]) <= p.front_radius_km
                           for u in att)

            own = sum(u.men_now for u in att) + sum(
                e.men_now for e in self.units if e.alive and e.side == sd.index and e not in att and near(e))
            opp = sum(e.men_now for e in self.units if e.alive and e.side != sd.index and near(e))
            front = own / max(opp, 1.0) if opp > 0 else math.inf
            stalled = p.stall_hours <= 0 or sd.fights_won <= sd.fights_lost
            if sd.attacked and n_is > 0 and not sd.retreat and stalled and (
                    stuck >= p.culmination_fraction or fed < p.retreat_supply
                    or strength < p.retreat_strength or mor < p.retreat_morale or front < p.retreat_ratio):
                sd.retreat = True
                self.log("retreat", None, "offensive called off", side=sd.index)

    def envelopment(self) -> None:
        """A free defending unit marches on the nearest enemy that a friend holds in contact,
        when the men near that enemy outnumber it (a converging attack)."""
        p = self.p.ai
        T = self.T
        radius = p.envelop_radius_km
        units = self.units
        fixed = [e for e in units if e.alive and e.touching]
        if not fixed:
            return
        # enemies held in contact and outnumbered by the men near them
        targets = []
        for e in fixed:
            ex, ey = T.x[e.cell], T.y[e.cell]
            against = 0.0
            for v in units:
                if v.alive and v.side != e.side:
                    dx, dy = T.x[v.cell] - ex, T.y[v.cell] - ey
                    if abs(dx) <= radius and abs(dy) <= radius and math.hypot(dx, dy) <= radius:
                        against += v.men_now
            if against >= p.envelop_ratio * max(e.men_now, 1.0):
                targets.append(e)
        for u in units:
            if not (u.defensive and not u.touching and not u.broken and u.alive and u.supply >= p.counter_supply):
                continue
            ux, uy = T.x[u.cell], T.y[u.cell]
            best, target = math.inf, None
            for e in targets:  # in unit order: ties go to the first, as argmin does
                if e.side == u.side:
                    continue
                dx, dy = ux - T.x[e.cell], uy - T.y[e.cell]
                if abs(dx) <= radius and abs(dy) <= radius:
                    d = math.hypot(dx, dy)
                    if d <= radius and d < best:
                        best, target = d, e
            if target is not None:
                u.new_chase = target.cell
                u.post = ATTACK

    # ------------------------------------------------------------------ 2. movement
    def movement(self) -> None:
        """Zones of control from where every unit stands now, then every unit marches."""
        zoc: list[set[int]] = [set() for _ in self.sides]
        for u in self.units:
            if u.alive:
                zoc[u.side].update(self.T.near[u.cell])
        self.enemy_zoc = [set().union(*(zoc[o.index] for o in self.sides if o.index != sd.index))
                          for sd in self.sides]
        self.agents.do("march")

    # ------------------------------------------------------------------ 3. air
    def air_operations(self) -> dict[str, list[float]]:
        """Sorties by group and mission; the day's air presence and interdiction (every step,
        night too); this step's close support, airlift, aircraft and aircrew lost (daylight only)."""
        c, p = self.c, self.p.air
        S = c.n_sides
        out = {"presence": [0.0] * S, "cas": [0.0] * S, "cut": [0.0] * S, "airlift_men": [0.0] * S}
        if c.n_groups == 0:
            return out
        waiting = [False] * S
        for u in self.units:
            if u.air_arrival and self.t >= u.lift_step and u.delivered < u.men0:
                waiting[u.side] = True
        day_m = [[0.0] * 5 for _ in range(S)]  # sorties today by side and mission
        by_group = []  # sorties today by group and mission
        for g in range(c.n_groups):
            gs = int(c.group_side[g])
            missions = c.group_missions[g]
            lifts = missions[3] > 0
            if lifts:
                weather = p.airlift_rain_factor if (self.rain or self.overcast) else 1.0
            else:
                weather = p.rain_sortie_factor if (self.rain or self.overcast) else 1.0
            fuel = p.fuel_factor if (c.group_fuel_limited[g] and not lifts and waiting[gs]) else 1.0
            per_day = self.aircraft[g] * c.group_rate[g] * weather * fuel
            w = [missions[m] * p.mission_weights[m] for m in range(5)]
            if not waiting[gs]:
                w[3] = 0.0
            wsum = sum(w)
            bm = [per_day * x / wsum if wsum > 0 else 0.0 for x in w]
            by_group.append(bm)
            for m in range(5):
                day_m[gs][m] += bm[m]
        pres = [1.0 - math.exp(-(sm[0] + p.cas_presence * sm[1] + p.int_presence * sm[2])
                               / p.presence_sorties_per_day) for sm in day_m]
        for s in range(S):
            enemy_int = sum(day_m[o][2] for o in range(S) if o != s)
            out["cut"][s] = p.max_interdiction * (1.0 - math.exp(-enemy_int / p.interdiction_sorties_per_day))
        out["presence"] = pres
        if not self.T.day[self.t]:
            return out
        enemy_pres = [min(1.0, sum(pres[o] for o in range(S) if o != s)) for s in range(S)]
        for g in range(c.n_groups):
            gs = int(c.group_side[g])
            lost = sum(x / c.day_steps * lp for x, lp in zip(by_group[g], p.loss_per_sortie)) \
                * (1.0 + p.enemy_air_factor * enemy_pres[gs])
            lost = min(lost * 2.0 * self.random.random(), self.aircraft[g])
            self.aircraft[g] = max(self.aircraft[g] - lost, 0.0)
            self.sides[gs].aircrew_lost += lost * p.crew_killed_per_aircraft
        out["cas"] = [sm[1] / c.day_steps for sm in day_m]
        out["airlift_men"] = [sm[3] / c.day_steps * p.men_per_sortie for sm in day_m]
        return out

    # ------------------------------------------------------------------ 4. combat
    def combat(self, air: dict[str, list[float]]) -> None:
        """Every attacking unit engages its primary target with all its men; one ongoing
        engagement per defender."""
        p = self.p.combat
        self.index_cells()  # units have moved; who is alive has not changed since the step began
        self.agents.do("combat_inputs")
        # engagements: defender -> [(attacker, share of the attacker's men against it)]
        engagements: dict[Unit, list[tuple[Unit, float]]] = {}
        for a in self.units:
            if a.attacking:
                engagements.setdefault(a.primary_target(), []).append((a, 1.0))
        for u in self.units:
            if u not in engagements:
                # an engagement nobody presses is over, unless it is pressed again within
                # battle_gap_hours (the same battle goes on)
                u.eng_idle += self.c.step_hours
                if u.eng_idle > p.battle_gap_hours:
                    u.eng_hours = 0.0
        for d in sorted(engagements, key=lambda u: u.index):
            self.engage(d, engagements[d], air["presence"])
        # outcomes of decided engagements only: attackers that won anywhere, or were repulsed
        # and won nowhere
        for a in self.units:
            if a.attacking:
                tgt = a.primary_target()
                won_any = tgt.att_won
                lost_any = tgt.decided and not tgt.att_won
                a.won = a.won or won_any
                a.beaten = a.beaten or (lost_any and not won_any)
        for d, attackers in engagements.items():
            if d.att_won:
                d.beaten = True
                d.new_cell, d.follow_cell = self.retreat_cell(d, [a for a, _ in attackers])
            elif d.decided:
                d.won = True
        self.record_fights(engagements)
        # winning attackers advance as far as their primary target falls back
        for a in self.units:
            if a.attacking:
                tgt = a.primary_target()
                if tgt.att_won:
                    a.new_cell = tgt.follow_cell
        # close air support on enemy units in contact
        if any(x > 0 for x in air["cas"]):
            self.close_support(air)
        cap = 1.0 - (1.0 - p.max_loss_fraction_per_day) ** (self.c.step_hours / 24.0)
        for u in self.units:
            u.cas = min(u.cas, cap * u.men_now)
            u.engaged = u.attacking or u.defended or (u.touching and u.alive and u.cas > 0)

    def engage(self, d: Unit, attackers: list[tuple[Unit, float]], presence: list[float]) -> None:
        """One step of the ongoing engagement against defender d (xuefeng.engagement.ongoing),
        with the engine's own rules called on one-element arrays."""
        c, p, T = self.c, self.p.combat, self.T
        step_hours = c.step_hours
        am = sum(w * a.eff for a, w in attackers)
        att_guns = sum(w * a.guns for a, w in attackers)
        att_tanks = sum(w * a.tanks for a, w in attackers)
        wsum = max(am, 1e-9)
        att_lq = [sum(w * a.eff * a.lq[j] for a, w in attackers) / wsum for j in range(7)]
        att_mom = sum(w * a.eff * a.momentum for a, w in attackers) / wsum
        att_morale = sum(w * a.eff * a.morale for a, w in attackers) / wsum
        att_fed = sum(w * a.eff * a.fed for a, w in attackers) / wsum
        one = np.ones(1)
        adv = combat_rules.state_advantages(
            p, np.array([[p.advantage_scale * (att_lq[j] - d.lq[j]) for j in range(7)]]),
            att_morale * one, d.morale * one, att_fed * one, d.fed * one, (att_mom - d.momentum) * one)
        by_side = [0.0] * c.n_sides
        for a, w in attackers:
            by_side[a.side] += w * a.eff
        att_side = max(range(c.n_sides), key=lambda s: (by_side[s], -s))
        air = presence[att_side] - presence[d.side]
        cells = [a.cell for a, _ in attackers]
        envelop = min(cells) != max(cells)
        elev_a = sum(T.elev[x] for x in cells) / len(cells)
        ambush = T.high_ground[T.terrain[d.cell]] and T.elev[d.cell] - elev_a >= p.ambush_elevation_m
        surprise = _clip((p.envelop_surprise if envelop else 0.0) - (p.ambush_surprise if ambush else 0.0), -1, 1)
        extra = dict(self.model_kw)
        if self.model_wet:
            extra["wet"] = np.array([float(self.rain)])
        dpost = combat_rules.defender_posture(np.array([d.posture]), np.array([d.steps_in_cell * step_hours]), p)
        h0 = d.eng_hours
        pw, ca, cd = ongoing.casualty_increment(
            self.engagement, np.array([h0]), step_hours,
            am * one, d.eff * one, att_guns * one, d.guns * one, att_tanks * one, d.tanks * one,
            air * one, surprise * one, dpost, np.array([T.terrain_eng[d.cell]]),
            p.front_km_per_defender * one, adv, **extra)
        pw = np.nan_to_num(np.asarray(pw, float))
        ca = float(np.nan_to_num(np.asarray(ca, float))[0]) * p.intensity
        cd = float(np.nan_to_num(np.asarray(cd, float))[0]) * p.intensity
        rnd = self.random
        d.eng_men = am + d.eff
        pdec = ongoing.decision_probability(step_hours, ongoing.decision_hours(self.duration_law, am + d.eff))
        dec, win = combat_rules.step_outcome(pdec, pw, np.array([rnd.random()]))
        dec, win = bool(dec[0]), bool(win[0])
        # mean-one log-normal noise: expected losses do not depend on the step length
        half = 0.5 * p.casualty_sigma ** 2
        cas_att = max(ca, 0.0) * math.exp(p.casualty_sigma * rnd.gauss(0.0, 1.0) - half)
        cas_def = max(cd, 0.0) * math.exp(p.casualty_sigma * rnd.gauss(0.0, 1.0) - half)
        d.eng_hours = 0.0 if dec and p.battle_gap_hours <= 0 else h0 + step_hours
        d.eng_idle = 0.0
        d.defended = True
        d.att_won = win
        d.decided = dec
        d.cas += cas_def
        d.cell_cas = cas_att + cas_def
        for a, w in attackers:  # attacker casualties shared by effective men
            a.cas += w * a.eff / wsum * cas_att
        self.log("engagement", d, "attackers won; defender retreats" if win
                 else ("attack repulsed" if dec else "fighting goes on"))

    def retreat_cell(self, d: Unit, attackers: list[Unit]) -> tuple[int, int]:
        """A beaten defender falls back the distance drawn from CDB90's advances of winning
        attackers, cell by cell away from its attackers and toward its depots (the engine's
        rule, combat.retreat_cells, on one unit); also the cell before its end, where winners
        that follow it stand."""
        T, p, c = self.T, self.p.combat, self.c
        ax = sum(T.x[a.cell] for a in attackers) / len(attackers)
        ay = sum(T.y[a.cell] for a in attackers) / len(attackers)
        u = np.array([self.random.random()])
        km = ongoing.advance_km(self.advance_q, u, np.array([d.eng_men]), self.advance_b) \
            if len(self.advance_q) else np.array([c.cell_km])
        n = np.clip(np.rint(km / c.cell_km), 1, p.max_retreat_cells).astype(np.int64)
        end, before = combat_rules.retreat_cells(c, p, np.array([d.cell]), np.array([d.side]), np.array([ax]),
                                                 np.array([ay]), n)
        return int(end[0]), int(before[0])

    def close_support(self, air: dict[str, list[float]]) -> None:
        """Close-support sorties hit enemy units in contact, shared by their men."""
        c, p = self.c, self.p.combat
        S = c.n_sides
        tot = [0.0] * S
        for u in self.units:
            if u.touching and u.alive:
                tot[u.side] += u.men_now
        mult = [c.cas_liaison_mult if c.side_liaison[s] else 1.0 for s in range(S)]
        against = [sum(air["cas"][o] * mult[o] for o in range(S) if o != s) for s in range(S)]
        for u in self.units:
            if u.touching and u.alive:
                share = u.men_now / max(tot[u.side], 1.0)
                sorties = against[u.side] * share  # no cap: a larger air force hits more
                noise = 0.5 + self.random.random()
                u.cas += sorties * p.cas_men_per_sortie * noise * (1.0 - 0.5 * air["presence"][u.side])

    # ------------------------------------------------------------------ civilians
    def civilian_casualties(self) -> float:
        """Civilians hurt by fighting at defenders' cells and by occupation of enemy home cells."""
        p, T = self.p.civilians, self.T
        hurt = 0.0
        for u in self.units:
            pop = T.population[u.cell]
            if pop <= 0:
                continue
            hurt += p.combat_rate * pop * min(self.dt_days * 24.0 / civ_rules.RATE_HOURS, u.cell_cas / p.casualty_scale)
            owner = T.home_side[u.cell]
            if u.alive and owner >= 0 and owner != u.side:
                hurt += p.occupation_rate_per_day * pop * self.dt_days
        return hurt

    # ------------------------------------------------------------------ 6. supply
    def supply_phase(self, interdiction_cut: list[float]) -> None:
        """Side demand first, then every unit draws on the depots as they stood at the step's start."""
        c = self.c
        self.interdiction_cut = interdiction_cut
        self.side_demand = [0.0] * c.n_sides
        self.stock_at_start = list(self.depot_stock)
        self.depot_draw = [0.0] * c.n_depots
        self.agents.do("supply_demand")
        self.agents.do("draw_supply")
        self.depot_stock = [max(s - d, 0.0) for s, d in zip(self.depot_stock, self.depot_draw)]

    # ------------------------------------------------------------------ 7. arrivals
    def ground_arrivals(self) -> None:
        t = self.t
        for u in self.units:
            if not u.air_arrival and u.arrival_step == t and t > 0 and not u.present:
                u.present = True
                u.delivered = u.men0
                u.arms = list(u.arms0)
                u.arrived_step = t
                u.steps_in_cell = 0
                self.log("arrival", u, "by land")

    def airlift(self, flown: list[float]) -> None:
        """Airlifted men go to the waiting air-arrival units in order of their arrival date."""
        T, t = self.T, self.t
        for sd in self.sides:
            left = flown[sd.index]
            for i in T.airlift_order[sd.index]:
                u = self.units[i]
                if not (t >= u.lift_step and u.delivered < u.men0):
                    continue
                need = u.men0 - u.delivered
                if T.lift_sides[sd.index]:
                    alloc = min(need, max(left, 0.0))
                    left -= need
                else:
                    alloc = min(need, u.men0 * self.dt_days / self.p.air.default_airlift_days)
                if alloc > 0:
                    if not u.present:
                        u.steps_in_cell = 0
                    u.present = True
                    u.delivered += alloc
                    u.add(alloc)
                if u.delivered >= 0.999 * u.men0 and u.arrived_step < 0:
                    u.arrived_step = t
                    self.log("arrival", u, "by air")

    # ------------------------------------------------------------------ 8. outcome
    def outcome(self) -> None:
        """Objective taken, furthest advance, offensive over (attacker back at its start line)."""
        c, T, t = self.c, self.T, self.t
        min_men = self.p.combat.min_men
        live = [u for u in self.units if u.present and u.men > min_men]
        if c.victory_cell >= 0 and c.victory_attacker >= 0 and not self.objective_taken and t <= c.victory_by_step:
            at = [u.side for u in live if u.cell == c.victory_cell]
            taken = c.victory_attacker in at and c.victory_holder not in at
            threatened = False
            if c.victory_threat_km > 0:
                # attacking units (not broken or withdrawing) outnumbering the holder's within the
                # threat radius, running: the objective is untenable
                within = [u for u in live if T.victory_dist_km[u.cell] <= c.victory_threat_km]
                att = sum(u.men for u in within if u.side == c.victory_attacker and not u.broken
                          and u.posture != WITHDRAWAL)
                hold = sum(u.men for u in within if u.side == c.victory_holder)
                near = att > 0 and att > hold
                self.threat_hours = float(threat_clock(np.array(self.threat_hours), np.array(near), c.step_hours,
                                                       np.array(self.random.random())))
                threatened = not taken and self.threat_hours >= c.victory_threat_hours
                if threatened:
                    self.log("objective_taken", None, f"victory objective untenable: enemy within "
                             f"{c.victory_threat_km:g} km for {c.victory_threat_hours:g} h", side=c.victory_attacker)
            if taken:
                self.log("objective_taken", None, "victory objective taken", side=c.victory_attacker)
            if taken or threatened:
                self.objective_taken = True
                self.done = True
                self.end_step = t
        if c.attack_side >= 0:
            mine = [u for u in live if u.side == c.attack_side]
            if mine:
                self.max_adv = max(self.max_adv, max(T.proj_km[u.cell] for u in mine))
            beyond = [T.proj_km[u.cell] - max(T.proj_km[u.start_cell], 0.0) for u in mine]
            if beyond and max(beyond) > 2 * self.p.ai.start_line_km:
                self.advanced = True
            back = all(b <= self.p.ai.start_line_km for b in beyond)
            ended = self.sides[c.attack_side].retreat
            if not self.done and self.advanced and ended and back and self.off_end_step < 0:
                self.off_end_step = t
                self.done = True
                self.end_step = t
                self.log("offensive_over", None, "attacker back at its start line", side=c.attack_side)


# --------------------------------------------------------------------------- running


def simulate_mesa(scenario: Any, replications: int, seed: int,
                  progress: Callable[[int, int], None] | None = None, *, params: Any = None,
                  engagement: Any = None, first_replication: int = 0, log_events: bool = False,
                  compiled: Compiled | None = None) -> Results:
    """Run `replications` replications of `scenario` with the Mesa model, one after another.

    Returns a `Results` like `xuefeng.engine.simulate` (series None; events only with
    `log_events`). `progress(done, total)` is called after each replication. `params`
    (an `EngineParams`) replaces the scenario's parameters, as in `simulate`.
    """
    if replications < 1:
        raise ValueError("replications must be >= 1")
    c = compiled if compiled is not None else compile_scenario(scenario, params=params)
    if engagement is None:
        from xuefeng.engagement import EngagementModel

        engagement = EngagementModel.default()
    R, U = replications, c.n_units
    ledger = np.zeros((R, U, len(CATEGORIES)))
    civ = np.zeros(R)
    crew = np.zeros((R, c.n_sides))
    taken = np.zeros(R, bool)
    adv = np.zeros(R)
    end = np.zeros(R, np.int64)
    off = np.full(R, -1, np.int64)
    arrived = np.full((R, U), -1, np.int64)
    rids = np.arange(first_replication, first_replication + R, dtype=np.int64)
    events = []
    for r, rid in enumerate(rids):
        m = CampaignModel(c, engagement, seed, int(rid), log_events=log_events)
        while m.running:
            m.step()
        ledger[r] = [u.ledger for u in m.units]
        civ[r] = m.civilians
        crew[r] = [sd.aircrew_lost for sd in m.sides]
        taken[r] = m.objective_taken
        adv[r] = max(m.max_adv if math.isfinite(m.max_adv) else 0.0, 0.0)
        end[r] = m.end_step
        off[r] = m.off_end_step
        arrived[r] = [u.arrived_step for u in m.units]
        events += [(int(rid), *e) for e in m.events]
        if progress is not None:
            progress(r + 1, R)
    times = c.step_times
    nat = np.datetime64("NaT", "s")
    winner = np.full(R, -1, np.int64)
    if c.victory_cell >= 0:
        winner = np.where(taken, c.victory_attacker, c.victory_holder).astype(np.int64)
    out = Outcome(
        winner=winner, objective_lost=taken, advance_km=adv,
        end_time=times[np.minimum(end, c.n_steps)].astype("datetime64[s]"),
        offensive_end_time=np.where(off >= 0, times[np.maximum(off, 0)], nat).astype("datetime64[s]"),
        arrival_time=np.where(arrived >= 0, times[np.maximum(arrived, 0)], nat).astype("datetime64[s]"),
    )
    return Results(scenario=scenario.meta.name, seed=int(seed), sides=c.side_ids, unit_ids=c.unit_ids,
                   unit_names=c.unit_names, unit_sides=c.side.astype(np.int64), start=c.start,
                   step_hours=c.step_hours, replication_ids=rids, ledger=ledger, civilian_casualties=civ,
                   aircrew_lost=crew, outcome=out, events=_events_frame(c, events), series=None)


def _events_frame(c: Compiled, events: list[tuple]) -> pd.DataFrame:
    if not events:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in EVENT_COLUMNS})
    rows = []
    for rid, t, kind, side, unit, cell, detail in events:
        ok = cell >= 0
        rows.append({"replication": rid, "time": c.step_times[t], "kind": kind,
                     "side": c.side_ids[int(side)] if side is not None and side >= 0 else "",
                     "units": c.unit_ids[unit] if unit >= 0 else "", "cell": cell,
                     "lat": float(c.lat[cell]) if ok else np.nan, "lon": float(c.lon[cell]) if ok else np.nan,
                     "detail": detail})
    return pd.DataFrame(rows, columns=EVENT_COLUMNS).sort_values(["replication", "time"], kind="stable") \
        .reset_index(drop=True)


# --------------------------------------------------------------------------- agreement


@dataclasses.dataclass(frozen=True)
class Quantity:
    """A main outcome compared between the two implementations (a `quantities.evaluate` name)."""

    label: str
    quantity: str
    units: tuple[str, ...] = ()


def main_quantities(scenario: Any) -> list[Quantity]:
    """The main outcomes of a scenario: victory share, advance, end of the offensive, battle
    casualties and sick by side, civilians, aircrew lost by side with aircraft, and the latest
    arrival of each unit group the scenario's history targets name."""
    sides = [s.id for s in scenario.meta.sides]
    out: list[Quantity] = []
    if scenario.victory:
        holder = scenario.victory[0].side
        out.append(Quantity(f"{holder} victory share", f"victory.{holder}"))
    out += [Quantity("advance km", "advance_km"), Quantity("offensive end", "offensive_end_time")]
    for s in sides:
        out.append(Quantity(f"{s} battle casualties", f"casualties.{s}.casualties"))
    for s in sides:
        out.append(Quantity(f"{s} sick", f"casualties.{s}.sick"))
    out.append(Quantity("civilian casualties", "civilian_casualties"))
    for s in sides:
        if any(g.side == s for g in scenario.air_groups):
            out.append(Quantity(f"{s} aircrew lost", f"aircrew_lost.{s}"))
    from xuefeng.analysis.targets import TargetsError, load_targets_for
    from xuefeng.scenario.errors import ScenarioError

    try:
        targets = load_targets_for(scenario.meta.name)
    except (ScenarioError, TargetsError):  # a scenario not found by name has no targets file to read
        targets = None
    if targets is not None:
        for t in targets.targets:
            if t.quantity == "latest_arrival":
                out.append(Quantity(f"arrival of {', '.join(t.units)}", "latest_arrival", tuple(t.units)))
    return out


@dataclasses.dataclass(frozen=True)
class AgreementRow:
    quantity: str
    kind: str
    engine_mean: float  # mean; the share for 0/1 quantities; for times, of the finite ones (seconds)
    mesa_mean: float
    engine_never: float  # times: share of 'never' (NaT)
    mesa_never: float
    p_value: float  # two-sided Mann-Whitney U
    ok: bool


def agreement(engine: Results, mesa_results: Results, scenario: Any,
              quantities: Sequence[Quantity] | None = None, family_alpha: float = 0.01) -> list[AgreementRow]:
    """Do the engine and the Mesa model agree on the main outcomes?

    Per quantity (values per replication from `xuefeng.analysis.quantities.evaluate`,
    as the history check reads them), a two-sided Mann-Whitney U test of equal
    distributions against a shift of one: it needs no normality (casualties are skewed,
    shares are 0/1, times may be 'never' = +inf, which ranks last) and it is what a
    different rule ported differently shows up as — one implementation's values
    systematically above the other's. A quantity agrees when p >= family_alpha / (number
    of quantities) (Bonferroni: with identical models the whole table fails with
    probability <= family_alpha). Two samples that are both constant and equal agree.
    """
    from scipy.stats import mannwhitneyu

    from xuefeng.analysis.quantities import evaluate

    qs = list(quantities) if quantities is not None else main_quantities(scenario)
    level = family_alpha / max(len(qs), 1)
    rows = []
    for q in qs:
        a = evaluate(engine, q.quantity, scenario, units=q.units)
        b = evaluate(mesa_results, q.quantity, scenario, units=q.units)
        x, y = np.asarray(a.values, float), np.asarray(b.values, float)
        if np.all(x == x[0]) and np.all(y == x[0]):
            pv = 1.0
        else:
            pv = float(mannwhitneyu(x, y, alternative="two-sided", method="asymptotic").pvalue)
        fx, fy = x[np.isfinite(x)], y[np.isfinite(y)]
        rows.append(AgreementRow(
            quantity=q.label, kind=a.kind,
            engine_mean=float(fx.mean()) if fx.size else math.nan,
            mesa_mean=float(fy.mean()) if fy.size else math.nan,
            engine_never=float(1 - fx.size / x.size), mesa_never=float(1 - fy.size / y.size),
            p_value=pv, ok=bool(pv >= level)))
    return rows


def _fmt(v: float, kind: str) -> str:
    if not math.isfinite(v):
        return "—"
    if kind == "time":
        return (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=round(v))).strftime("%Y-%m-%d %H:%M")
    if kind == "bool":
        return f"{v:.1%}"
    return f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"


def format_agreement(rows: Sequence[AgreementRow], n_engine: int, n_mesa: int, family_alpha: float = 0.01) -> str:
    """The agreement table as Markdown."""
    lines = [f"| quantity | engine mean (N={n_engine}) | Mesa mean (N={n_mesa}) | Mann-Whitney p | agrees |",
             "|---|---:|---:|---:|:---:|"]
    for r in rows:
        e, m = _fmt(r.engine_mean, r.kind), _fmt(r.mesa_mean, r.kind)
        if r.kind == "time" and (r.engine_never or r.mesa_never):
            e += f" (never {r.engine_never:.0%})"
            m += f" (never {r.mesa_never:.0%})"
        lines.append(f"| {r.quantity} | {e} | {m} | {r.p_value:.3f} | {'yes' if r.ok else 'NO'} |")
    lines.append(f"\n(agrees: p >= {family_alpha}/{len(rows)}, Bonferroni over the table; "
                 "time means are over replications where the time occurred)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Mesa reference model against the engine: agreement and speed.")
    ap.add_argument("-n", type=int, default=20, help="replications of each (default 20)")
    ap.add_argument("--engine-n", type=int, default=None,
                    help="replications of the engine (default: -n; the engine is cheap, and a larger sample "
                         "of it tightens the comparison: at -n 20 one unlucky sample can fail a row)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenario", default="west-hunan-1945")
    args = ap.parse_args(argv)

    from xuefeng.engine import simulate
    from xuefeng.scenario import load_scenario

    scen = load_scenario(args.scenario)
    n_e = args.engine_n or args.n
    simulate(scen, 1, args.seed, keep_series=0)  # warm-up: imports, engagement model
    simulate_mesa(scen, 1, args.seed + 1)
    t = time.perf_counter()
    eng = simulate(scen, n_e, args.seed, keep_series=0)
    t_e = time.perf_counter() - t
    t = time.perf_counter()
    mes = simulate_mesa(scen, args.n, args.seed, progress=lambda d, n: print(f"\r  Mesa {d}/{n}", end="", flush=True))
    t_m = time.perf_counter() - t
    print()
    print(f"# {scen.meta.title}: {args.scenario}, seed {args.seed}")
    print(format_agreement(agreement(eng, mes, scen), n_e, args.n))
    print()
    print(f"engine: {n_e} replications in {t_e:.2f} s = {t_e / n_e * 1000:.1f} ms per replication")
    print(f"Mesa:   {args.n} replications in {t_m:.2f} s = {t_m / args.n * 1000:.1f} ms per replication")
    print(f"engine speed-up over Mesa: {(t_m / args.n) / (t_e / n_e):.0f}x per replication")


if __name__ == "__main__":
    main()
