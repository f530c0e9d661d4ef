"""Fuel: motor fuel as its own supply class, the one that stops vehicles (DESIGN.md §2, logistics).

Modelled only where the scenario gives a depot `fuel_tons` (any depot: then every
depot's fuel is its `fuel_tons`, 0 where not given); otherwise vehicles never run
dry and `fuel_ok` stays 1, as before this module existed.

Each unit carries a fuel load (`s.fuel`, the fraction of a full load: enough for
`load_km` km of road marching of all its vehicles) and burns, per day,

    need = vehicles_kg_per_km * km marched + idle_kg_per_vehicle_day * vehicles

with vehicles_kg_per_km = tanks * tank_kg_per_km + trucks * truck_kg_per_km, and
the km marched counted as road km: an edge with a road or highway on it counts its
km, any other (tracks, cross-country) `offroad_factor` times its km
(`edge_fuel_km`, compiled once). Fuel goes with the ground covered, not with the
hours: a column waiting at a blown bridge or crawling through forest burns what
standing burns, not a march's worth every hour. It asks its side's nearest depot
that still holds fuel for its need plus what refills its load over `refill_days`,
and the request competes with the general supply for the side's transport capacity
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
from xuefeng.engine.supply import line_share
from xuefeng.geo.movement import ROAD_CODES


@dataclass(frozen=True)
class FuelParams:
    tank_kg_per_km: float = 2.2
    """Fuel a tank burns per km on roads, kg (planning figures of the era's medium tanks: a
    Panzer IV's 470 l lasted about 200 km on roads, a Panther's 720 l and an M4's 660 l about
    190-200 km: ~2.5-3.6 l/km, taken as 3 l or 2.2 kg per km at 0.74 kg/l; assumption from
    commonly quoted ranges, not checked against a source in shared/)."""
    truck_kg_per_km: float = 0.25
    """Fuel a truck burns per km on roads, kg (a 3 t truck of the era used ~0.3-0.35 l per km;
    assumption)."""
    offroad_factor: float = 1.5
    """Fuel per km off the roads (tracks, cross-country) against the road figure (the same
    tanks' cross-country ranges were about 0.5-0.65 of their road ranges; assumption at the low
    end)."""
    idle_kg_per_vehicle_day: float = 3.0
    """Fuel per vehicle and day standing (warming engines, generators, short moves), kg
    (assumption)."""
    load_km: float = 100.0
    """Road km a full fuel load lasts (assumption: one 'unit of fuel' of the era, the German
    Verbrauchssatz, was fuel for 100 km of a formation's vehicles on roads)."""
    refill_days: float = 2.0
    """Days over which a unit asks to refill an empty fuel load on top of its need (assumption)."""
    start_fuel: float = 1.0
    """Fuel load of every unit at the start, fraction of a full load (assumption: full tanks)."""


def vehicle_kg_per_km(c, p: FuelParams) -> np.ndarray:
    """(U,) kg of fuel each unit's vehicles burn per road km at full strength."""
    return c.tanks0 * p.tank_kg_per_km + c.trucks0 * p.truck_kg_per_km


def edge_fuel_km(edge_km: np.ndarray, edge_road: np.ndarray, p: FuelParams) -> np.ndarray:
    """(C,6) road km of fuel a hop along each edge costs: its km (edge_km, geo.HexMap) where
    a road or highway runs along it (edge_road, geo ROAD_CODES), offroad_factor times its km
    elsewhere; 0 where there is no neighbour."""
    km = np.where(np.isfinite(edge_km), edge_km, 0.0).astype(np.float64)
    return np.ascontiguousarray(np.where(edge_road >= ROAD_CODES["road"], km, km * p.offroad_factor))


def load_tons(c, p: FuelParams, frac: np.ndarray) -> np.ndarray:
    """(R,U) tons in a full fuel load of each unit, scaled by the strength it has left."""
    return vehicle_kg_per_km(c, p)[None, :] * p.load_km * frac / 1000.0


def need_tons_per_day(c, p: FuelParams, frac: np.ndarray, km_per_day: np.ndarray,
                      alive: np.ndarray) -> np.ndarray:
    """(R,U) fuel each unit burns per day: its vehicles' marching (road km, edge_fuel_km) and
    standing."""
    vehicles = (c.tanks0 + c.trucks0)[None, :] * frac
    kg = vehicle_kg_per_km(c, p)[None, :] * frac * km_per_day \
        + p.idle_kg_per_vehicle_day * vehicles
    return np.where(alive, kg / 1000.0, 0.0)


def request_tons_per_day(c, s, p: FuelParams, frac: np.ndarray, km_per_day: np.ndarray,
                         alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(need, request) tons/day of each unit: its need plus the refill of its load."""
    need = need_tons_per_day(c, p, frac, km_per_day, alive)
    refill = load_tons(c, p, frac) * (1.0 - s.fuel) / p.refill_days
    return need, np.where(alive, need + refill, 0.0)


def deliver(c, s, p: FuelParams, need: np.ndarray, request: np.ndarray, transport: np.ndarray,
            reach_hours: np.ndarray, frac: np.ndarray, alive: np.ndarray, dt_days: float,
            road_load: np.ndarray | None = None) -> None:
    """Update s.fuel, s.fuel_ok and s.depot_fuel after dt days. `transport` (R,U): the share of
    a request the side's transport carries this step before distance (capacity, cuts;
    supply.supply_step); `reach_hours` (1,U): the hours at which distance halves a delivery.
    Fuel comes from the nearest depot that still holds fuel, over the lines of communication and
    the roads between (supply.line_share of `road_load`)."""
    R = s.cell.shape[0]
    d_best, h_best = kernels.nearest_depot(c.depot_ctg, s.cell, c.depot_side, c.side, s.depot_fuel)
    reachable = np.isfinite(h_best) & s.connected & alive
    reach = np.where(reachable, 1.0 / (1.0 + (np.where(reachable, h_best, 0.0) / reach_hours) ** 2), 0.0)
    delivered = transport * reach * request * line_share(c, road_load, s.cell, d_best)
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
