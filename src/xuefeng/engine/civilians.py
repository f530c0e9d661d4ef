"""Civilian casualties (DESIGN.md §2): they follow combat and movement in
populated cells.

Per step of dt hours, for each engagement at a defender's cell with population P:

    civilians hurt = combat_rate * P * min(dt / 6 h, battle casualties / casualty_scale)

(linear in the battle's casualties, so the step length does not matter; at most
combat_rate of the people per 6 hours of full-scale fighting)

plus, for each unit standing in a populated cell of the enemy's home territory
(occupation, foraging, reprisals): occupation_rate_per_day * P * dt.
Population comes from the scenario's towns (population field), plus an
optional rural density (engine.yaml `civilians.rural_density_per_km2`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


#: Hours of fighting that combat_rate and casualty_scale refer to.
RATE_HOURS = 6.0


@dataclass(frozen=True)
class CivilianParams:
    combat_rate: float = 0.0
    """Share of a cell's population hurt per 6 hours of full-scale engagement in it (assumption:
    none unless a scenario gives its rate - how many civilians fighting hurts depends on
    warning, evacuation, shelter and the weapons used, for which no general figure exists;
    a campaign's engine.yaml sets it with its source)."""
    casualty_scale: float = 300.0
    """Battle casualties in 6 hours that make an engagement 'full-scale' (assumption)."""
    occupation_rate_per_day: float = 0.0
    """Share of a populated enemy-home cell's people hurt per day by an occupying unit
    (assumption: none unless a scenario gives its rate, like combat_rate: requisition, forced
    labour and reprisals depend on the occupier's conduct)."""
    default_town_population: float = 0.0
    """Population of towns whose population is not given (assumption: none counted)."""


def civilian_step(c, s, p: CivilianParams, cell_cas: np.ndarray, alive: np.ndarray,
                  dt_days: float) -> np.ndarray:
    """(R,) civilians hurt this step."""
    pop = c.population[s.cell]  # (R,U)
    combat = p.combat_rate * pop * np.minimum(dt_days * 24.0 / RATE_HOURS, cell_cas / p.casualty_scale)
    owner = c.home_side[s.cell]
    occupying = alive & (owner >= 0) & (owner != c.side[None, :])
    occ = np.where(occupying, p.occupation_rate_per_day * pop * dt_days, 0.0)
    return (combat + occ).sum(1)
