"""Cost-to-go fields and the one-gather movement policy (DESIGN.md §2b).

Instead of a path search per unit per step, the engine precomputes, per
transport mode and objective, the least time from every cell to the
objective; a unit then steps to the neighbour `next_step_toward` names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from xuefeng.geo.hexmap import HexMap

# scipy's csgraph treats a stored 0 weight as an edge, but keep weights strictly
# positive anyway so that every move costs something.
_MIN_WEIGHT = 1e-9


def _reversed_graph(hm: HexMap, edge_hours: np.ndarray) -> csr_matrix:
    w = np.asarray(edge_hours, dtype=np.float64)
    C = hm.n_cells
    if w.shape != (C, 6):
        raise ValueError(f"edge_hours must have shape ({C}, 6), got {w.shape}")
    if np.any(np.isnan(w)) or np.any(w < 0):
        raise ValueError("edge_hours must be >= 0 (inf for impassable), without NaN")
    ok = (hm.neighbours >= 0) & np.isfinite(w)
    src, k = np.nonzero(ok)
    dst = hm.neighbours[src, k]
    # reversed: an edge src -> dst becomes dst -> src, so distances from the
    # targets in this graph are distances *to* the targets in the original.
    return csr_matrix((np.maximum(w[src, k], _MIN_WEIGHT), (dst, src)), shape=(C, C))


def _check_targets(hm: HexMap, targets: Sequence[int] | np.ndarray) -> np.ndarray:
    t = np.unique(np.asarray(targets, dtype=np.int64).ravel())
    if t.size == 0:
        raise ValueError("cost_to_go needs at least one target cell")
    if t.min() < 0 or t.max() >= hm.n_cells:
        raise ValueError(f"target cell indices must be in 0..{hm.n_cells - 1}, got {t.min()}..{t.max()}")
    return t


def cost_to_go(hm: HexMap, edge_hours: np.ndarray, targets: Sequence[int] | np.ndarray) -> np.ndarray:
    """Least hours from every cell to the nearest target cell, shape (C,);
    0 at targets, inf where no target can be reached."""
    t = _check_targets(hm, targets)
    g = _reversed_graph(hm, edge_hours)
    d = dijkstra(g, directed=True, indices=t, min_only=True)
    return np.asarray(d, dtype=np.float64)


def cost_to_go_fields(hm: HexMap, edge_hours: np.ndarray,
                      target_sets: Sequence[Sequence[int]]) -> np.ndarray:
    """`cost_to_go` for several target sets at once (one graph build), shape (T, C)."""
    g = _reversed_graph(hm, edge_hours)
    out = np.empty((len(target_sets), hm.n_cells), dtype=np.float64)
    for n, targets in enumerate(target_sets):
        out[n] = dijkstra(g, directed=True, indices=_check_targets(hm, targets), min_only=True)
    return out


def layered_cost_to_go(hm: HexMap, layers: Sequence[np.ndarray], transfer_hours: float,
                       targets: Sequence[int] | np.ndarray) -> np.ndarray:
    """Least hours from every cell to the nearest target over a network of several modes, shape
    (C,): `layers[0]` (C,6) edge hours of the mode that starts and ends the journey, each further
    layer another mode's (a railway's, in hours already weighed against the first mode); a
    journey may change between the first layer and any other at any cell for `transfer_hours`
    each way (loading at a railhead). Targets are in the first layer."""
    t = _check_targets(hm, targets)
    C = hm.n_cells
    if not (np.isfinite(transfer_hours) and transfer_hours >= 0):
        raise ValueError(f"transfer_hours must be a finite number >= 0, got {transfer_hours!r}")
    blocks = [_reversed_graph(hm, w).tocoo() for w in layers]
    rows, cols, vals = [], [], []
    for k, b in enumerate(blocks):
        rows.append(b.row + k * C); cols.append(b.col + k * C); vals.append(b.data)
    cells = np.arange(C)
    w = np.full(C, max(float(transfer_hours), _MIN_WEIGHT))
    for k in range(1, len(blocks)):
        rows += [cells, cells + k * C]; cols += [cells + k * C, cells]; vals += [w, w]
    n = C * len(blocks)
    g = csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    d = dijkstra(g, directed=True, indices=t, min_only=True)
    return np.asarray(d[:C], dtype=np.float64)


def next_step_toward(hm: HexMap, ctg: np.ndarray, edge_hours: np.ndarray | None = None) -> np.ndarray:
    """For each cell, the neighbour to step to next, shape (C,) int64; the cell
    itself where it is a target (ctg 0), unreachable (inf) or no neighbour is
    better.

    Without `edge_hours`: the neighbour with the lowest cost-to-go (strictly
    lower than the cell's own, so following it always ends at a target) —
    but that neighbour may lie across an edge the mode cannot use (e.g. a
    truck next to a mountain cell that has a low cost-to-go), so pass
    `edge_hours` wherever some edges are impassable.
    With the `edge_hours` the field was computed from (recommended): the
    neighbour minimising ``edge_hours[i, k] + ctg[neighbour]`` — exactly the
    shortest path, and never across an impassable edge.
    `ctg` may also be (..., C) (e.g. a stack of fields); the result then has
    the same leading shape.
    """
    ctg = np.asarray(ctg, dtype=np.float64)
    C = hm.n_cells
    if ctg.shape[-1] != C:
        raise ValueError(f"ctg's last axis must have length {C}, got shape {ctg.shape}")
    nb = hm.neighbours
    has = nb >= 0
    cand = np.where(has, ctg[..., np.where(has, nb, 0)], np.inf)  # (..., C, 6)
    if edge_hours is not None:
        w = np.asarray(edge_hours, dtype=np.float64)
        if w.shape != (C, 6):
            raise ValueError(f"edge_hours must have shape ({C}, 6), got {w.shape}")
        cand = cand + np.where(has, w, np.inf)
    k = np.argmin(cand, axis=-1)
    best = np.take_along_axis(cand, k[..., None], axis=-1)[..., 0]
    step = np.take_along_axis(np.broadcast_to(nb, (*ctg.shape[:-1], C, 6)), k[..., None], axis=-1)[..., 0]
    here = np.broadcast_to(np.arange(C), ctg.shape)
    if edge_hours is None:
        move = (best < ctg) & np.isfinite(ctg)
    else:
        # move when the cell is not a target and a finite path exists
        move = (ctg > 0) & np.isfinite(ctg) & np.isfinite(best)
    return np.where(move, step, here).astype(np.int64)
