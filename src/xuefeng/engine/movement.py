"""Movement: hex steps along precomputed cost-to-go fields (DESIGN.md §2b).

Each step a moving unit gains `step_hours * speed` hours of movement points;
it then steps, up to `max_hops_per_6h` times per 6 hours, to the neighbour its current
field names (precomputed at compile time per (mode, target)), paying the edge's
elapsed hours (`geo.HexMap.edge_hours`, rest included; the rain field when it
rains). speed = (floor + (1-floor)*fed) * (1 - fatigue_penalty*fatigue) * the air factor
(under enemy air presence columns give up daylight marching: `air_march_factor`).
A unit that is not withdrawing stops when it enters a cell in an enemy's zone
of control (the enemy's cell or a neighbour) and does not leave one — unless it
is bypassing (ai.bypassing: a motorised attacker whose enemy the others hold),
when it marches on and goes round a cell the enemy holds on its way, over that
cell's free neighbours to the cell after it (kernels.march, `s.detour_to`).

Fatigue (0..1) grows with hours marched, times a terrain exertion factor, and
recovers while a unit rests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xuefeng.engine import kernels
from xuefeng.engine.postures import WITHDRAWAL


@dataclass(frozen=True)
class MovementModelParams:
    max_hops_per_6h: int = 4
    """Most hex steps per 6 hours of a step (computational bound, scaled with the step length;
    a res-6 hex is ~6 km, so 4 hops = 24 km per 6 h, above any foot column's rate)."""
    carry_hours_cap: float = 60.0
    """Most unused movement hours a unit may carry to the next step; must exceed the
    costliest passable edge (a res-6 mountain hex on foot takes ~26 h) so that slow
    edges can be crossed over several steps. Units that stop lose their hours (computational
    bound, not a calibration)."""
    rain_factor: float = 1.4
    """Off-road and track hours multiplier on a rain day (assumption: mud on paddy-field paths
    and mountain tracks; geo applies it to off-road and track edges only)."""
    contact_withdrawal_speed: float = 0.5
    """Speed of a unit withdrawing while in contact with the enemy, as a fraction (assumption:
    a fighting withdrawal by bounds moves half the force while the other half covers it, so
    the whole goes at about half its march rate)."""
    low_supply_speed_floor: float = 0.6
    """Speed factor of a unit on foot with no supply (assumption: hungry columns march ~40% slower)."""
    low_supply_speed_floor_motor: float = 0.2
    """Speed factor of a motorised unit with no supply (assumption: out of fuel its vehicles
    stop; it moves what it can tow and walk, about foot pace, a fifth of its road rate)."""
    fatigue_speed_penalty: float = 0.3
    """Speed lost at full fatigue (assumption)."""
    fatigue_per_march_day: float = 0.12
    """Fatigue gained per 24 h of marching on flat ground (assumption: about a week of
    continuous marching exhausts a formation)."""
    fatigue_recovery_per_day: float = 0.15
    """Fatigue shed per day of rest (assumption)."""
    day_march_denial: float = 0.8
    """Share of its daylight marching a column gives up under full enemy air presence
    (air.py presence, 0..1) (assumption: under Allied air superiority in 1944-45 Japanese and
    German columns moved by night and lay up by day; some daylight movement off the roads and
    under cloud remains). The daylight share of the day comes from air.day_start_hour and
    day_end_hour, so the effect does not depend on the step length."""
    terrain_exertion: tuple[float, ...] = (1.0, 1.1, 1.5, 2.2, 1.3, 1.6, 1.0, 1.0)
    """Exertion multiplier by terrain class (flat, rolling, hills, mountains, forest, marsh,
    urban, water) for fatigue and disease (assumption: climbing roughly doubles effort)."""


def max_hops(p: MovementModelParams, step_hours: float) -> int:
    """Most hex steps a unit may take in a step of `step_hours`."""
    return max(1, int(np.ceil(p.max_hops_per_6h * step_hours / 6.0)))


def air_march_factor(p: MovementModelParams, enemy_presence: np.ndarray, daylight_share: float) -> np.ndarray:
    """Speed factor of a side's marching under the enemy's air presence today (any shape):
    the daylight share of the day's marching, times day_march_denial, is lost in proportion to
    the enemy's presence (columns move by night)."""
    return 1.0 - daylight_share * p.day_march_denial * np.clip(enemy_presence, 0.0, 1.0)


def march_speed(c, s, p: MovementModelParams, enemy_presence: np.ndarray | None = None,
                daylight_share: float = 0.5) -> np.ndarray:
    """(R,U) share of its full marching rate each unit makes this step: supply (a motorised
    unit out of fuel falls to low_supply_speed_floor_motor, one on foot to
    low_supply_speed_floor; its fuel is fuel.py's `fuel_ok` where the scenario models fuel,
    else the general supply), fatigue, and the enemy's air presence."""
    floor = np.where(c.mode == 1, p.low_supply_speed_floor_motor, p.low_supply_speed_floor)[None, :]
    # where fuel is its own class (fuel.py), a motorised unit's vehicles go as far as their fuel
    lives_on = np.where(c.mode[None, :] == 1, s.fuel_ok, s.fed) if c.fuel_modelled else s.fed
    speed = (floor + (1 - floor) * lives_on) * (1 - p.fatigue_speed_penalty * s.fatigue)
    if enemy_presence is not None:
        speed = speed * air_march_factor(p, enemy_presence[:, c.side], daylight_share)
    return speed


def move_units(c, s, p: MovementModelParams, alive: np.ndarray, enemy_presence: np.ndarray | None = None,
               daylight_share: float = 0.5, bypass: np.ndarray | None = None) -> np.ndarray:
    """Phase 2 of a step, in place: bank movement hours, march along fields (zones of control
    stop the march), envelopment marches straight at their target cell. `enemy_presence` (R,S):
    the enemy air presence over each side today (air.py); `daylight_share`: the share of the
    day that is daylight; `bypass` (R,U): units marching on past the enemy (ai.bypassing: no
    zone of control stops them, they go round enemy-held cells). Returns the hours each unit
    moved and the km it covered as fuel counts them (c.edge_fuel_km, fuel.py), both (R,U)."""
    withdrawing = s.posture == WITHDRAWAL
    speed = march_speed(c, s, p, enemy_presence, daylight_share)
    moving = alive & ~(s.halted & ~withdrawing)
    in_contact = kernels.in_enemy_zone(c.nbr_self, s.cell, alive, c.side, c.n_sides, c.n_cells)
    speed = np.where(withdrawing & in_contact, speed * p.contact_withdrawal_speed, speed)
    chasing = moving & (s.chase >= 0)
    s.mp = np.where(moving & ((s.field >= 0) | chasing), s.mp + c.step_hours * speed, 0.0)
    cell, mp, moved, km, s.detour_around, s.detour_to = kernels.march(
        c.nbr, c.nbr_self, c.next_k, c.edge_hours, c.edge_fuel_km, c.mode, c.side, c.n_sides,
        np.where(chasing, -1, s.field), s.cell, s.mp, moving, withdrawing, alive, s.rain, max_hops(p, c.step_hours),
        c.bridge_at, s.bridge_blown, c.bridge_down_hours,
        np.zeros_like(alive) if bypass is None else bypass & ~chasing, s.detour_around, s.detour_to)
    if chasing.any():
        cell2, mp2, moved2, km2 = kernels.step_toward_cells(c.nbr, c.edge_ok, c.x_km, c.y_km, c.edge_hours,
                                                            c.edge_fuel_km, c.mode, np.where(chasing, s.chase, -1),
                                                            s.cell, s.mp, s.rain, max_hops(p, c.step_hours),
                                                            c.bridge_at, s.bridge_blown, c.bridge_down_hours)
        cell = np.where(chasing, cell2, cell)
        mp = np.where(chasing, mp2, mp)
        moved = np.where(chasing, moved2, moved)
        km = np.where(chasing, km2, km)
    s.cell = cell
    s.mp = np.minimum(mp, p.carry_hours_cap)
    return moved, km


def step_toward_cells(nbr: np.ndarray, edge_ok: np.ndarray, x: np.ndarray, y: np.ndarray, eh: np.ndarray,
                      ekm: np.ndarray, mode: np.ndarray, target: np.ndarray, cell: np.ndarray, mp: np.ndarray,
                      rain: np.ndarray, max_hops: int, bridges: tuple | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Greedy hex steps straight toward a target cell (units with target >= 0) for short moves
    with no precomputed field (an envelopment a few hexes away): each hop goes to the passable
    neighbour nearest the target, if nearer than the current cell. `bridges`: (bridge_at,
    bridge_blown, bridge_down_hours) as kernels.march takes them. Returns (cell, mp, hours, km),
    the km summed over the hops as `ekm` (C,6) counts each edge, as in kernels.march.
    The rule in NumPy; the engine runs its kernel (kernels.step_toward_cells)."""
    cell = cell.copy()
    mp = mp.copy()
    moved = np.zeros_like(mp)
    km = np.zeros_like(mp)
    # step the units with a target only (n of them); the others keep cell and mp
    rr, uu = np.nonzero(target >= 0)
    c_, mp_, mv_, km_ = cell[rr, uu], mp[rr, uu], moved[rr, uu], km[rr, uu]
    m_, wi = mode[uu], rain.astype(np.int64)[rr]
    act = np.ones(rr.shape, bool)
    tx, ty = x[target[rr, uu]], y[target[rr, uu]]
    for _ in range(max_hops):
        if not act.any():
            break
        nb = nbr[c_]  # (n,6)
        dn = np.hypot(x[nb] - tx[..., None], y[nb] - ty[..., None])
        dn = np.where(edge_ok[c_], dn, np.inf)
        k = np.argmin(dn, axis=-1)
        best = np.take_along_axis(dn, k[..., None], axis=-1)[..., 0]
        here = np.hypot(x[c_] - tx, y[c_] - ty)
        cost = eh[wi, m_, c_, k]
        if bridges is not None and bridges[1].size:
            b = bridges[0][c_, k]
            down = (b >= 0) & bridges[1][rr, np.maximum(b, 0)]
            cost = np.where(down, bridges[2][wi, m_, np.maximum(b, 0)], cost)
        go = act & (best < here - 1e-9) & (mp_ >= cost)
        km_ = np.where(go, km_ + ekm[c_, k], km_)
        c_ = np.where(go, np.take_along_axis(nb, k[..., None], axis=-1)[..., 0], c_)
        mp_ = np.where(go, mp_ - cost, mp_)
        mv_ = np.where(go, mv_ + cost, mv_)
        act = go
    cell[rr, uu], mp[rr, uu], moved[rr, uu], km[rr, uu] = c_, mp_, mv_, km_
    return cell, mp, moved, km
