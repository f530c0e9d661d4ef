"""Logistics (DESIGN.md §2): depots, reach along the road network, throughput.

Each unit draws on the nearest depot of its side that still has stock, measured
as hours of travel along the map (a cost-to-go field per depot in the side's
supply transport mode: foot/pack or motor). Per step the fraction of its need
that arrives is

    f = min(1, capacity_s / demand_s) / (1 + (hours / reach_hours[mode])^2)
        * (1 - air interdiction cut_s) * (1 - guerrilla cut_u)

(capacity from the scenario's transport modes; demand = men * kg per man per day
by posture). The unit's supply state (0..1, a basic load) then moves by
dt / basic_load_days * ((f - 1) * need/kg_reference + refill * f * (1 - supply)):
a unit that gets all it needs refills, one that gets nothing empties its basic
load in basic_load_days at the reference need. Tons delivered
are taken from the depot. A side with no depots is treated as fully supplied
(its logistics are not modelled); a unit out of reach of every stocked depot
gets `forage_fraction`. Low supply degrades combat (combat.py), movement
(movement.py) and health (medical.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xuefeng.engine import kernels
from xuefeng.engine.state import mm


@dataclass(frozen=True)
class SupplyParams:
    kg_per_man_day: tuple[float, ...] = (2.5, 2.0, 2.0, 2.0, 2.0, 2.0, 1.5)
    """Supply need per man per day out of combat by posture (attack, hasty, prepared, fortified,
    delay, withdrawal, reserve), kg (assumption: light Asian infantry of 1945 — rations ~1.5 kg
    plus fodder and medical stores; a column on the march needs a little more)."""
    kg_combat_extra: float = 2.5
    """Extra need per man per day of a unit engaged in combat, kg (assumption: ammunition)."""
    kg_reference: float = 3.0
    """Need (kg/man/day) that one basic load covers for basic_load_days (assumption)."""
    basic_load_days: float = 7.0
    """Days a unit's basic load (carried rations and ammunition) lasts at the reference need
    with nothing delivered (assumption: a week, the Japanese norm of 5-7 days' rations carried)."""
    refill: float = 0.5
    """Rate (per basic_load_days) at which a depleted unit refills when supply gets through (assumption)."""
    reach_hours_foot: float = 200.0
    """Hours of foot/pack travel from a depot at which delivery falls to half:
    reach = 1 / (1 + (hours / reach_hours)^2) (assumption: porters and pack animals eat much of
    what they carry; about eight days' march halves deliveries — the seed: supply on foot over
    the mountains)."""
    reach_hours_motor: float = 80.0
    """Hours of motor travel at which delivery falls to half (assumption: trucks on mountain roads;
    motor hours are far shorter for the same distance)."""
    forage_fraction: float = 0.2
    """Least delivery fraction of any unit, from foraging and requisition in the countryside
    (assumption: a fifth of needs living off the land); also the delivery beyond every stocked depot."""
    start_supply: float = 1.0
    """Supply state of every unit at the start (assumption: full basic load)."""


def supply_step(c, s, p: SupplyParams, alive: np.ndarray, cut_air: np.ndarray, cut_guer: np.ndarray,
                dt_days: float, engaged: np.ndarray | None = None) -> np.ndarray:
    """Update s.supply and s.depot_stock; return the delivery fraction f (R,U)."""
    R, U = s.cell.shape
    if c.n_depots == 0:
        s.supply = np.where(alive, np.minimum(1.0, s.supply + dt_days / p.basic_load_days), s.supply)
        return np.ones((R, U))
    men = s.men()
    kg = np.asarray(p.kg_per_man_day)[s.posture]
    if engaged is not None:
        kg = kg + np.where(engaged, p.kg_combat_extra, 0.0)
    demand_t = np.where(alive, men * kg / 1000.0, 0.0)  # tons/day
    side_demand = mm(demand_t, c.side_onehot)  # (R,S)
    ratio = np.where(np.isfinite(c.side_capacity)[None, :],
                     np.minimum(1.0, c.side_capacity[None, :] / np.maximum(side_demand, 1e-9)), 1.0)
    d_best, h_best = kernels.nearest_depot(c.depot_ctg, s.cell, c.depot_side, c.side, s.depot_stock)
    reach_h = np.where(c.side_supply_motor[c.side], p.reach_hours_motor, p.reach_hours_foot)[None, :]
    reach = np.where(np.isfinite(h_best), 1.0 / (1.0 + (h_best / reach_h) ** 2), p.forage_fraction)
    has_depots = c.side_has_depots[c.side][None, :]
    f = ratio[:, c.side] * reach * (1.0 - cut_air[:, c.side]) * (1.0 - cut_guer)
    f = np.where(has_depots, np.maximum(f, p.forage_fraction), 1.0)
    need = kg / p.kg_reference
    ds = dt_days / p.basic_load_days * ((f - 1.0) * need + p.refill * f * (1.0 - s.supply))
    s.supply = np.where(alive, np.clip(s.supply + ds, 0.0, 1.0), s.supply)
    # draw the tons from the depots
    tons = np.where(alive & np.isfinite(h_best) & has_depots, f * demand_t * dt_days, 0.0)
    # tons per (replication, depot), added in unit order (as np.add.at would)
    D = s.depot_stock.shape[1]
    take = np.bincount((np.arange(R)[:, None] * D + d_best).ravel(), weights=tons.ravel(),
                       minlength=R * D).reshape(R, D)
    s.depot_stock = np.maximum(s.depot_stock - take, 0.0)
    return f
