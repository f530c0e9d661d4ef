"""Guerrillas: partisans in the attacker's rear (DESIGN.md §2).

A side with `guerrilla_intensity` > 0 (scenario engine.yaml) has partisans in
its home territory — the cells nearer to its units' start positions than to
any enemy's. An enemy unit standing in that territory is exposed in proportion
to how deep it is (km beyond the line of its own side's start positions):

    exposure = intensity * min(1, depth_km / depth_scale_km)

Exposure cuts the unit's supply throughput by `max_supply_cut * (1 - exp(-exposure))`
and costs it `loss_per_day * exposure * men * dt` men (killed/wounded/missing
like battle casualties).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GuerrillaParams:
    depth_scale_km: float = 60.0
    """Depth into enemy home territory at which exposure is full (assumption: a supply line
    of two-three days' march is fully exposed)."""
    max_supply_cut: float = 0.4
    """Largest share of throughput partisans can cut (assumption)."""
    loss_per_day: float = 0.0004
    """Men lost per man per day at exposure 1 (assumption: raids, snipers and mines — small)."""


def exposure(c, s, p: GuerrillaParams) -> np.ndarray:
    """(R,U) exposure of each unit to enemy partisans."""
    depth = c.depth_km[c.side[None, :], s.cell]  # km beyond own start line into enemy territory
    owner = c.home_side[s.cell]  # (R,U) side whose home the cell is
    inten = c.side_guerrilla[np.maximum(owner, 0)] * (owner >= 0) * (owner != c.side[None, :])
    return inten * np.minimum(1.0, depth / p.depth_scale_km)


def effects(c, s, p: GuerrillaParams, alive: np.ndarray, u: np.ndarray, dt_days: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """(supply cut (R,U), men lost (R,U))."""
    e = np.where(alive, exposure(c, s, p), 0.0)
    cut = p.max_supply_cut * (1.0 - np.exp(-e))
    lost = p.loss_per_day * e * s.men() * dt_days * (2.0 * u)
    return cut, lost
