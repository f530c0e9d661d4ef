"""Bridges: road bridges a side blows in the enemy's face and engineers build again (DESIGN.md §2b).

Modelled only for the bridges a scenario lists (`theater.bridges`); every other road
crossing of a river stands all campaign, as before this module existed. A listed
bridge is the road edge over its river nearest its location (compile.py).

* **Demolition.** A bridge `guarded_by` a side (engineers with charges laid) is
  blown by that side when a unit of an enemy side first comes within
  `reach_cells` of either end: it goes up with the bridge's
  `demolition_probability` (default `demolition_probability`); a failed demolition
  leaves the bridge standing to whoever takes it. The guard has one chance (the
  charges are laid once), drawn when the enemy first arrives, so the outcome does
  not depend on the step length. A bridge nobody guards is never blown in the
  campaign (it may be down at the start: `blown`).
* **While down** the edge costs what a crossing with no bridge costs
  (geo.hexmap.unbridged_edge_hours: off-road, plus the mode's river-crossing or ford
  hours), both ways. The movement fields stay those computed with the bridge:
  a unit does not look for another crossing, it crosses where it meant to,
  the slow way.
* **Rebuilding.** A side's engineers bridge it again after `rebuild_hours` of work
  (the bridge's own, or the default) while a unit of that side stands at one end
  waiting to cross (its next step on its route is over the bridge) and no enemy
  of it stands at either end; hours worked are kept over interruptions.

Supply routes (supply.py's distances to the depots) and retreat paths keep the
bridge: a blown bridge slows marching units only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BridgeParams:
    demolition_probability: float = 0.7
    """Chance a bridge is blown when the enemy reaches it, where the scenario does not say
    (assumption: most bridges prepared for demolition in 1944-45 went up in the enemy's
    face, but charges failed, were cut, or the crossing was rushed, as at Nijmegen and Remagen)."""
    rebuild_hours: float = 24.0
    """Engineer hours to bridge a river again where the scenario does not say (assumption: a
    division's engineers put a tactical pontoon or treadway bridge over a river of 20-100 m in
    about a day)."""
    reach_cells: int = 1
    """Cells from either end of a bridge within which a unit reaches it (assumption: 1, the end
    cells and their neighbours - a hex of resolution 6 is about 6 km across, a few hours' march,
    the warning a guard gets of an enemy column)."""


def zone_masks(nbr_self: np.ndarray, ends: np.ndarray, reach_cells: int, n_cells: int) -> np.ndarray:
    """(B, C) bool: the cells within reach_cells of either end of each bridge (ends (B, 2))."""
    B = ends.shape[0]
    out = np.zeros((B, n_cells), bool)
    for b in range(B):
        cur = np.unique(ends[b])
        out[b, cur] = True
        for _ in range(max(reach_cells, 0)):
            nxt = nbr_self[cur].ravel()
            cur = np.unique(nxt[nxt >= 0])
            out[b, cur] = True
    return out


def waiting_to_cross(c, s, alive: np.ndarray) -> np.ndarray:
    """(R,U) the down bridge each unit stands at, its next step on its route over it (-1 none)."""
    f = np.maximum(s.field, 0)
    k = c.next_k[c.mode[None, :], f, s.cell]  # (R,U) slot of the next step, -1 none
    b = np.where(k >= 0, c.bridge_at[s.cell, np.maximum(k, 0)], -1)
    r = np.arange(s.cell.shape[0])[:, None]
    down = (b >= 0) & s.bridge_blown[r, np.maximum(b, 0)]
    return np.where(alive & (s.field >= 0) & down, b, -1)


def bridge_step(c, s, p: BridgeParams, alive: np.ndarray, u: np.ndarray, step_hours: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Demolitions and rebuilding this step, in place on s.bridge_blown, s.bridge_tried and
    s.bridge_work. u (R,B): uniforms for the demolitions. Returns (blown now, the side that
    blew it, rebuilt now, the side that rebuilt it), (R,B)."""
    R = s.cell.shape[0]
    B = c.n_bridges
    if B == 0:
        z = np.zeros((R, 0), bool)
        return z, z.astype(np.int64), z, z.astype(np.int64)
    live = alive[None, :, :]
    oh = c.side_onehot.astype(float)  # (U,S)
    esm = c.enemy_side_matrix.astype(float)  # (S,S): [s, t] t is an enemy of s
    zone = c.bridge_zone[:, s.cell] & live  # (B,R,U): unit within reach of the bridge
    near = np.einsum("bru,us->rbs", zone.astype(float), oh) > 0  # (R,B,S)
    enemy_near = np.einsum("rbt,st->rbs", near.astype(float), esm) > 0
    # demolition: the guard's one chance, when an enemy first comes within reach
    guard = c.bridge_guard[None, :] >= 0
    g = np.maximum(c.bridge_guard, 0)
    attempt = guard & ~s.bridge_blown & ~s.bridge_tried & enemy_near[:, np.arange(B), g]
    blown_now = attempt & (u < c.bridge_p[None, :])
    s.bridge_tried |= attempt
    s.bridge_blown |= blown_now
    # rebuilding: a unit waits at an end to cross, no enemy of its side at either end
    at_end = ((s.cell[None] == c.bridge_ends[:, 0, None, None]) | (s.cell[None] == c.bridge_ends[:, 1, None, None])) \
        & live  # (B,R,U)
    end_side = np.einsum("bru,us->rbs", at_end.astype(float), oh) > 0
    enemy_at_end = np.einsum("rbt,st->rbs", end_side.astype(float), esm) > 0
    wait = waiting_to_cross(c, s, alive)  # (R,U)
    waits = np.einsum("bru,us->rbs", (wait[None] == np.arange(B)[:, None, None]).astype(float), oh) > 0
    builds = waits & ~enemy_at_end  # (R,B,S)
    works = builds.any(2) & s.bridge_blown & ~blown_now
    s.bridge_work = np.where(works, s.bridge_work + step_hours, s.bridge_work)
    rebuilt = s.bridge_blown & (s.bridge_work >= c.bridge_rebuild_h[None, :])
    s.bridge_blown &= ~rebuilt
    s.bridge_work = np.where(rebuilt | blown_now, 0.0, s.bridge_work)
    return blown_now, np.broadcast_to(g, (R, B)), rebuilt, np.argmax(builds, axis=2)
