"""Medical: disease, died of wounds, died of illness, return to duty (DESIGN.md §2).

New sick per step = men * incidence * dt_days * noise, where

    incidence = base_incidence * season[month] * side_factor
                * (1 + exertion_weight * exertion) * terrain_exertion[terrain]^terrain_power
                * (1 + supply_weight * (1 - fed))

exertion = fraction of the step spent marching or fighting. Of the wounded a
fixed fraction die of wounds and of the sick a fraction die of illness (counted
at onset, so died_of_wounds <= wounded and died_of_illness <= sick always);
the rest wait in pools and return to duty at a daily rate. In this campaign the
attacker lost far more men to illness than to battle: the parameters below are
the ones that can show it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MedicalParams:
    base_incidence_per_day: float = 0.0015
    """New sick per man per day at season factor 1, rest, full supply, flat ground
    (assumption: about half a disease admission per man per year, the order of the US
    Army's World War II disease admission rates overseas; a scenario's side disease_factor
    and its climate's season factors scale it for its army and theatre)."""
    exertion_weight: float = 1.0
    """Extra incidence at full exertion (marching/fighting all step) (assumption)."""
    terrain_power: float = 1.0
    """Exponent on the movement module's terrain exertion factor (assumption: mountains ~2x)."""
    supply_weight: float = 2.0
    """Extra incidence at zero supply (assumption: hunger and no medicine triple disease)."""
    died_of_illness_fraction: float = 0.083
    """Share of the sick who die (seed: 2,301/24,640 = 9.3% Senshi Sosho; 1,992/27,372 = 7.3%
    20th Army medical department; mean)."""
    died_of_wounds_fraction: float = 0.185
    """Share of the wounded who die of wounds (seed: 322/1,181 = 27% Senshi Sosho; 275/2,691
    = 10% 20th Army medical department; mean)."""
    sick_return_per_day: float = 0.04
    """Share of the sick pool returning to duty each day (assumption: ~25 days in hospital)."""
    wounded_return_per_day: float = 0.02
    """Share of the wounded pool returning to duty each day (assumption: ~50 days)."""
    noise: float = 0.2
    """Relative spread of daily incidence (uniform +-; assumption)."""


def disease(c, s, p: MedicalParams, alive: np.ndarray, exertion: np.ndarray, month_factor: float,
            u: np.ndarray, dt_days: float, terrain_exertion: np.ndarray) -> np.ndarray:
    """New sick this step (R,U)."""
    men = s.men()
    terr = terrain_exertion[c.terrain[s.cell]] ** p.terrain_power
    inc = (p.base_incidence_per_day * month_factor * c.side_disease[c.side][None, :]
           * (1.0 + p.exertion_weight * exertion) * terr * (1.0 + p.supply_weight * (1.0 - s.fed)))
    noise = 1.0 + p.noise * (2.0 * u - 1.0)
    return np.where(alive, men * inc * dt_days * noise, 0.0)


def returns(s, p: MedicalParams, dt_days: float) -> tuple[np.ndarray, np.ndarray]:
    """Men returning to duty this step from the wounded and sick pools."""
    rw = s.wounded_pool * min(1.0, p.wounded_return_per_day * dt_days)
    rs = s.sick_pool * min(1.0, p.sick_return_per_day * dt_days)
    return rw, rs
