"""Fuel: motor fuel as its own supply class, the one that stops vehicles (DESIGN.md §2, logistics).

Modelled only where the scenario gives a depot `fuel_tons` (any depot: then every
depot's fuel is its `fuel_tons`, 0 where not given); otherwise vehicles never run
dry and `fuel_ok` stays 1, as before this module existed.

Each unit carries a fuel load (`s.fuel`, the fraction of a full load: enough for
`load_march_hours` hours of marching of all its vehicles) and burns, per day,

    need = vehicles_kg_per_march_hour * hours marched + idle_kg_per_vehicle_day * vehicles

with vehicles_kg_per_march_hour = tanks * tank_kg_per_march_hour + trucks *
truck_kg_per_march_hour. It asks its side's nearest depot that still holds fuel
for its need plus what refills its load over `refill_days`, and the request
competes with the general supply for the side's transport capacity
(supply.supply_step shares the capacity over both); what arrives goes the same
way as the general supply (distance, air interdiction, guerrillas, lines of
communication). `s.fuel_ok` (0..1) is the share of its need that its load and
deliveries covered: a motorised unit's march speed falls towards
movement.low_supply_speed_floor_motor as it runs dry, and its tanks fight as
combat.fuel_floor says (dug in, immobile). A unit with no vehicles needs no
fuel (`fuel_ok` 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xuefeng.engine import kernels


@dataclass(frozen=True)
class FuelParams:
    tank_kg_per_march_hour: float = 30.0
    """Fuel a tank burns per hour of marching, kg (planning figure: a 1944 medium tank used
    about 2 litres per km on roads and more across country, ~15 km/h on the march: ~30 l or
    ~25 kg an hour; assumption)."""
    truck_kg_per_march_hour: float = 6.0
    """Fuel a truck burns per hour of marching, kg (planning figure: a 2.5-3 t truck ~0.35 l
    per km at ~20 km/h: ~7 l or ~5-6 kg an hour; assumption)."""
    idle_kg_per_vehicle_day: float = 3.0
    """Fuel per vehicle and day standing (warming engines, generators, short moves), kg
    (assumption)."""
    load_march_hours: float = 8.0
    """Hours of marching a full fuel load lasts (assumption: one 'unit of fuel' of the era,
    fuel for about 100 km on roads, ~8 hours on the march)."""
    refill_days: float = 2.0
    """Days over which a unit asks to refill an empty fuel load on top of its need (assumption)."""
    start_fuel: float = 1.0
    """Fuel load of every unit at the start, fraction of a full load (assumption: full tanks)."""


def vehicle_kg_per_march_hour(c, p: FuelParams) -> np.ndarray:
    """(U,) kg of fuel each unit's vehicles burn per hour of marching at full strength."""
    return c.tanks0 * p.tank_kg_per_march_hour + c.trucks0 * p.truck_kg_per_march_hour


def load_tons(c, p: FuelParams, frac: np.ndarray) -> np.ndarray:
    """(R,U) tons in a full fuel load of each unit, scaled by the strength it has left."""
    return vehicle_kg_per_march_hour(c, p)[None, :] * p.load_march_hours * frac / 1000.0


def need_tons_per_day(c, p: FuelParams, frac: np.ndarray, march_hours_per_day: np.ndarray,
                      alive: np.ndarray) -> np.ndarray:
    """(R,U) fuel each unit burns per day: its vehicles' marching and standing."""
    vehicles = (c.tanks0 + c.trucks0)[None, :] * frac
    kg = vehicle_kg_per_march_hour(c, p)[None, :] * frac * march_hours_per_day \
        + p.idle_kg_per_vehicle_day * vehicles
    return np.where(alive, kg / 1000.0, 0.0)


def request_tons_per_day(c, s, p: FuelParams, frac: np.ndarray, march_hours_per_day: np.ndarray,
                         alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(need, request) tons/day of each unit: its need plus the refill of its load."""
    need = need_tons_per_day(c, p, frac, march_hours_per_day, alive)
    refill = load_tons(c, p, frac) * (1.0 - s.fuel) / p.refill_days
    return need, np.where(alive, need + refill, 0.0)


def deliver(c, s, p: FuelParams, need: np.ndarray, request: np.ndarray, transport: np.ndarray,
            reach_hours: np.ndarray, frac: np.ndarray, alive: np.ndarray, dt_days: float) -> None:
    """Update s.fuel, s.fuel_ok and s.depot_fuel after dt days. `transport` (R,U): the share of
    a request the side's transport carries this step before distance (capacity, cuts;
    supply.supply_step); `reach_hours` (1,U): the hours at which distance halves a delivery.
    Fuel comes from the nearest depot that still holds fuel, over the lines of communication."""
    R = s.cell.shape[0]
    d_best, h_best = kernels.nearest_depot(c.depot_ctg, s.cell, c.depot_side, c.side, s.depot_fuel)
    reachable = np.isfinite(h_best) & s.connected & alive
    reach = np.where(reachable, 1.0 / (1.0 + (np.where(reachable, h_best, 0.0) / reach_hours) ** 2), 0.0)
    delivered = transport * reach * request
    load = np.maximum(load_tons(c, p, frac), 1e-9)
    have = s.fuel * load + delivered * dt_days
    want = need * dt_days
    ok = np.where(want > 0, np.minimum(1.0, have / np.maximum(want, 1e-12)), 1.0)
    stock = np.clip((have - np.minimum(have, want)) / load, 0.0, 1.0)
    has_vehicles = (c.tanks0 + c.trucks0)[None, :] > 0
    s.fuel = np.where(alive & has_vehicles, stock, s.fuel)
    s.fuel_ok = np.where(alive, np.where(has_vehicles, ok, 1.0), s.fuel_ok)
    D = s.depot_fuel.shape[1]
    take = np.bincount((np.arange(R)[:, None] * D + d_best).ravel(), weights=(delivered * dt_days).ravel(),
                       minlength=R * D).reshape(R, D)
    s.depot_fuel = np.maximum(s.depot_fuel - take, 0.0)
