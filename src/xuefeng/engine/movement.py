"""Movement: hex steps along precomputed cost-to-go fields (DESIGN.md §2b).

Each step a moving unit gains `step_hours * speed` hours of movement points;
it then steps, up to `max_hops_per_step` times, to the neighbour its current
field names (precomputed at compile time per (mode, target)), paying the edge's
elapsed hours (`geo.HexMap.edge_hours`, rest included; the rain field when it
rains). speed = (floor + (1-floor)*supply) * (1 - fatigue_penalty*fatigue).
A unit that is not withdrawing stops when it enters a cell in an enemy's zone
of control (the enemy's cell or a neighbour) and does not leave one.

Fatigue (0..1) grows with hours marched, times a terrain exertion factor, and
recovers while a unit rests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MovementModelParams:
    max_hops_per_step: int = 4
    """Most hex steps in one 6-hour step (computational bound; a res-6 hex is ~6 km, so
    4 hops = 24 km per 6 h, above any foot column's rate)."""
    carry_hours_cap: float = 60.0
    """Most unused movement hours a unit may carry to the next step; must exceed the
    costliest passable edge (a res-6 mountain hex on foot takes ~26 h) so that slow
    edges can be crossed over several steps. Units that stop lose their hours (computational
    bound, not a calibration)."""
    rain_factor: float = 1.4
    """Off-road and track hours multiplier on a rain day (assumption: mud on paddy-field paths
    and mountain tracks; geo applies it to off-road and track edges only)."""
    contact_withdrawal_speed: float = 0.4
    """Speed of a unit withdrawing while in contact with the enemy, as a fraction (assumption,
    tuned: a fighting withdrawal leapfrogs rear guards; the seed's Japanese took some three weeks,
    under pursuit and flank attacks, to get back to their start lines by 7 June)."""
    low_supply_speed_floor: float = 0.6
    """Speed factor of a unit with no supply (assumption: hungry columns march ~40% slower)."""
    fatigue_speed_penalty: float = 0.3
    """Speed lost at full fatigue (assumption)."""
    fatigue_per_march_day: float = 0.12
    """Fatigue gained per 24 h of marching on flat ground (assumption: about a week of
    continuous marching exhausts a formation)."""
    fatigue_recovery_per_day: float = 0.15
    """Fatigue shed per day of rest (assumption)."""
    terrain_exertion: tuple[float, ...] = (1.0, 1.1, 1.5, 2.2, 1.3, 1.6, 1.0, 1.0)
    """Exertion multiplier by terrain class (flat, rolling, hills, mountains, forest, marsh,
    urban, water) for fatigue and disease (assumption: climbing roughly doubles effort)."""


def step_units(nbr: np.ndarray, next_k: np.ndarray, eh: np.ndarray, mode: np.ndarray,
               field: np.ndarray, cell: np.ndarray, mp: np.ndarray, moving: np.ndarray,
               ignore_zoc: np.ndarray, zoc: np.ndarray, enemy_side: np.ndarray,
               rain: np.ndarray, max_hops: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of movement for all units of all replications.

    nbr (C,6) neighbours; next_k (M,F,C) slot of the next neighbour toward field F
    (-1 at the target or unreachable); eh (2,M,C,6) edge hours (fair, rain);
    mode (U,) transport-mode index; field (R,U) target field (-1 = none);
    cell, mp (R,U); moving (R,U) bool; ignore_zoc (R,U) bool (withdrawing units);
    zoc (R,S,C) bool: cell is in side s's zone of control; enemy_side (U,) side whose
    ZOC stops the unit; rain (R,) bool.
    Returns (cell, mp, hours_moved).
    """
    R, U = cell.shape
    r_idx = np.arange(R)[:, None]
    cell = cell.copy()
    mp = mp.copy()
    moved = np.zeros_like(mp)
    active = moving & (field >= 0)
    # a unit that starts the step in an enemy ZOC does not march on (it fights instead)
    active &= ignore_zoc | ~zoc[r_idx, enemy_side[None, :], cell]
    # march the active units only (n of them); the others keep cell and mp
    rr, uu = np.nonzero(active)
    c_, mp_, mv_ = cell[rr, uu], mp[rr, uu], moved[rr, uu]
    m_, f_, wi, ign, es = mode[uu], field[rr, uu], rain.astype(np.int64)[rr], ignore_zoc[rr, uu], enemy_side[uu]
    act = np.ones(rr.shape, bool)
    for _ in range(max_hops):
        k = next_k[m_, f_, c_].astype(np.int64)  # (n,)
        kk = np.maximum(k, 0)
        cost = eh[wi, m_, c_, kk]
        go = act & (k >= 0) & (mp_ >= cost)
        if not go.any():
            break
        c_ = np.where(go, nbr[c_, kk], c_)
        mp_ = np.where(go, mp_ - cost, mp_)
        mv_ = np.where(go, mv_ + cost, mv_)
        # entering an enemy ZOC ends the march for this step
        stop = go & ~ign & zoc[rr, es, c_]
        act = act & go & ~stop
    cell[rr, uu], mp[rr, uu], moved[rr, uu] = c_, mp_, mv_
    return cell, mp, moved


def step_toward_cells(nbr: np.ndarray, edge_ok: np.ndarray, x: np.ndarray, y: np.ndarray, eh: np.ndarray,
                      mode: np.ndarray, target: np.ndarray, cell: np.ndarray, mp: np.ndarray,
                      rain: np.ndarray, max_hops: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy hex steps straight toward a target cell (units with target >= 0) for short moves
    with no precomputed field (an envelopment a few hexes away): each hop goes to the passable
    neighbour nearest the target, if nearer than the current cell. Returns (cell, mp, hours)."""
    cell = cell.copy()
    mp = mp.copy()
    moved = np.zeros_like(mp)
    # step the units with a target only (n of them); the others keep cell and mp
    rr, uu = np.nonzero(target >= 0)
    c_, mp_, mv_ = cell[rr, uu], mp[rr, uu], moved[rr, uu]
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
        go = act & (best < here - 1e-9) & (mp_ >= cost)
        c_ = np.where(go, np.take_along_axis(nb, k[..., None], axis=-1)[..., 0], c_)
        mp_ = np.where(go, mp_ - cost, mp_)
        mv_ = np.where(go, mv_ + cost, mv_)
        act = go
    cell[rr, uu], mp[rr, uu], moved[rr, uu] = c_, mp_, mv_
    return cell, mp, moved
