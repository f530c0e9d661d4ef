"""Logistics (DESIGN.md §2): depots, unit stocks, flow along the road network.

Stock and flow, in tons. Each unit carries a stock (`s.supply`: the fraction
of its basic load, `basic_load_days` of the reference need `kg_reference` per
man and day) and consumes its need each day (kg per man by posture, more in
combat). It asks its side's nearest depot that still holds stock (hours of
travel along the map in the side's supply transport mode, a cost-to-go field
per depot; a side with `rail` transport may also send it by train along the
map's railways, from and to any railhead: `geo.layered_cost_to_go`) for its
need plus what refills its basic load in `refill_days`. Of
that request the fraction

    f = min(1, capacity_s / request_s) / (1 + (hours / reach_hours[mode])^2)
        * (1 - air interdiction cut_s) * (1 - guerrilla cut_u) * line share_u

arrives (capacity: tons/day of the side's transport modes in the scenario;
the reach term: what porters, pack animals or trucks eat and lose on the
way; the line share: where the side's formations crowd a cell its deliveries
come up through with more vehicles than its roads carry in a day, only that
share gets through, `line_share`). Foraging supplies at least
`forage_fraction` of the need anywhere. The unit consumes its need while its
stock is above `ration_stock`; below it, short of deliveries, it rations (stock_update), so its stock falls smoothly toward a
floor instead of running dry; what it lives on this step (`s.fed`, 0..1) is the
share of its need it consumed — 1 while its stock is above `ration_stock` or
its deliveries cover its need. Tons delivered are taken from the
depot. A side with no depots is treated as fully supplied (its logistics are
not modelled). `fed` degrades combat (combat.py), movement (movement.py),
health (medical.py) and morale recovery; the stock halts an attack that has
outrun its supply (ai.py) until it is rebuilt.
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
    refill_days: float = 4.0
    """Days over which a unit asks to refill an empty basic load, on top of its need (assumption:
    a depleted formation is restocked over a few days, not at once)."""
    reach_hours_foot: float = 200.0
    """Hours of foot/pack travel from a depot at which delivery falls to half:
    reach = 1 / (1 + (hours / reach_hours)^2) (assumption: porters and pack animals eat much of
    what they carry; about eight days' march halves deliveries — the seed: supply on foot over
    the mountains)."""
    reach_hours_motor: float = 80.0
    """Hours of motor travel at which delivery falls to half (assumption: trucks on mountain roads;
    motor hours are far shorter for the same distance)."""
    reach_hours_rail: float = 2000.0
    """Hours by train at which delivery would fall to half (assumption: a railway loses little of
    what it carries; about 80 days' running). Rail hours count in a unit's distance from its depot
    as reach_hours_mode / reach_hours_rail hours of the side's supply mode each."""
    rail_transfer_hours: float = 12.0
    """Supply-mode hours added for loading onto or unloading from a train at a railhead
    (assumption: half a day of transshipment)."""
    lines_of_communication: bool = True
    """Road supply reaches a unit only over ground its side controls: from a stocked depot over
    cells no enemy unit holds alone (kernels.supply_connected, checked once a day). A unit cut
    off — encircled, every way back held by the enemy — lives on its stock, foraging and air
    supply. False: every unit is reached whatever stands between (the map's distance only)
    (assumption: the minimum that makes an encirclement cut a unit off)."""
    zones_of_control_cut_supply: bool = False
    """Also count the cells next to an enemy unit (its zone of control) as cut, unless a friendly
    unit stands there (assumption, off: with 6 km cells it cut the West Hunan columns' supply
    wherever a Chinese unit stood beside their road, and Japanese forces x2 then advanced less
    far than x1.25)."""
    forage_fraction: float = 0.2
    """Least share of its need any unit gets, from foraging and requisition in the countryside
    (assumption: a fifth of needs living off the land)."""
    start_supply: float = 1.0
    """Stock of every unit at the start, fraction of its basic load (assumption: full basic load)."""
    road_vehicles_per_day: tuple[float, ...] = (250.0, 500.0, 1400.0, 2800.0)
    """Vehicles a day the roads of a cell carry, by the best road through it (none, track, road,
    highway). Supply comes up through the cells between a unit and its depot, and where the
    vehicles of its side's formations standing and moving in one of them (tanks and trucks)
    outnumber what its roads carry in a day, only the share capacity / vehicles of the
    deliveries gets through (line_share). Road: Cole 1965, p. 666 — the US XII Corps moved
    11,000 vehicles on two roads in four days, about 1,400 a road a day under the US Army's
    traffic control; highway twice that, track and none: assumptions."""
    ration_stock: float = 0.5
    """Stock (fraction of the basic load) below which a unit whose deliveries fall short of its
    need rations: it allows itself what arrives or, if more, the share stock / ration_stock of its
    need, so it stretches the last of its stock instead of living well until it is gone and then
    starving. Fire, marching and rations then fall with the stock, and a thinner flow (air
    interdiction, a longer road) tells at once. 0: no rationing (the full need while any stock
    lasts, then a cliff) (assumption: half the basic load, about three and a half days, the point
    at which a commander of the 1940s cut issues rather than risk running dry)."""


def road_capacity(edge_road: np.ndarray, p: SupplyParams) -> np.ndarray:
    """(C,) vehicles a day each cell's roads carry: road_vehicles_per_day of the best road class
    on any of its edges (edge_road (C,6), geo ROAD_CODES: 0 none ... 3 highway)."""
    return np.asarray(p.road_vehicles_per_day, float)[np.asarray(edge_road).max(axis=1)]


def road_load(c, s, alive: np.ndarray) -> np.ndarray | None:
    """(R,S,C) vehicles (tanks and trucks, as many as the strength the unit has left) of each
    side's formations in each cell, or None where no cell holds more than its roads carry, so
    that no supply line is slowed (line_share would be 1 everywhere)."""
    R, U = s.cell.shape
    S, C = c.n_sides, c.n_cells
    veh = (c.tanks0 + c.trucks0)[None, :] * np.minimum(s.men() / c.men0[None, :], 1.0)
    veh = np.where(alive, veh, 0.0)
    # no cell can be over capacity where a side's vehicles all together fit the least road
    if not (mm(veh, c.side_onehot) > c.road_capacity.min()).any():
        return None
    idx = (np.arange(R)[:, None] * S + c.side[None, :]) * C + s.cell
    load = np.bincount(idx.ravel(), weights=veh.ravel(), minlength=R * S * C).reshape(R, S, C)
    if not (load > c.road_capacity[None, None, :]).any():
        return None
    return load


def line_share_reference(depot_next: np.ndarray, capacity: np.ndarray, load: np.ndarray, cell: np.ndarray,
                         side: np.ndarray, depot: np.ndarray) -> np.ndarray:
    """(R,U) share of a delivery that gets through the cells between each unit and its depot
    (depot (R,U), the depot it draws on): the least, over the cells its supply passes after its
    own (depot_next (D,C): the next cell toward each depot, the depot's cell its own), of
    min(1, capacity / the vehicles of the unit's side there). The rule in NumPy, one unit at a
    time; the engine runs its kernel (kernels.line_share)."""
    R, U = cell.shape
    out = np.ones((R, U))
    for r in range(R):
        for u in range(U):
            d, here = depot[r, u], cell[r, u]
            share = 1.0
            for _ in range(depot_next.shape[1]):
                nxt = depot_next[d, here]
                if nxt == here:
                    break
                here = nxt
                v = load[r, side[u], here]
                if v > capacity[here]:
                    share = min(share, capacity[here] / v)
            out[r, u] = share
    return out


def line_share(c, load: np.ndarray | None, cell: np.ndarray, depot: np.ndarray) -> np.ndarray | float:
    """line_share_reference by its kernel; 1.0 where no cell is over its roads' capacity."""
    if load is None:
        return 1.0
    return kernels.line_share(c.depot_next, c.road_capacity, load, cell, c.side, depot)


def basic_load_tons(p: SupplyParams, men: np.ndarray) -> np.ndarray:
    """Tons in a unit's basic load: basic_load_days of the reference need."""
    return men * p.kg_reference * p.basic_load_days / 1000.0


def need_tons_per_day(p: SupplyParams, men: np.ndarray, posture: np.ndarray, engaged: np.ndarray | None,
                      alive: np.ndarray) -> np.ndarray:
    """Each unit's need, tons/day, by posture and combat."""
    kg = np.asarray(p.kg_per_man_day)[posture]
    if engaged is not None:
        kg = kg + np.where(engaged, p.kg_combat_extra, 0.0)
    return np.where(alive, men * kg / 1000.0, 0.0)


def stock_update(p: SupplyParams, supply: np.ndarray, men: np.ndarray, need: np.ndarray,
                 delivered: np.ndarray, dt_days: float) -> tuple[np.ndarray, np.ndarray]:
    """stock_update_reference, by its kernel (kernels.stock_update) for (R,U) arrays."""
    if np.ndim(supply) != 2:
        return stock_update_reference(p, supply, men, need, delivered, dt_days)
    a = [np.ascontiguousarray(np.broadcast_to(np.asarray(v, float), np.shape(supply)))
         for v in (supply, men, need, delivered)]
    return kernels.stock_update(*a, float(dt_days), p.basic_load_days, p.kg_reference, p.ration_stock)


def stock_update_reference(p: SupplyParams, supply: np.ndarray, men: np.ndarray, need: np.ndarray,
                           delivered: np.ndarray, dt_days: float) -> tuple[np.ndarray, np.ndarray]:
    """(stock as a fraction of the basic load, fed) after dt days of consuming and receiving
    `delivered` (tons/day): the stock never falls below zero, and `fed` is the share of the need
    that stock and deliveries covered over the step.

    A unit consumes its whole `need` while its stock is above `ration_stock`; below it, when
    deliveries cover a share c < 1 of the need, it allows itself max(c, stock / ration_stock) of
    its need, so the stock falls exponentially toward c * ration_stock. The step is solved exactly
    (a linear fall to ration_stock, then the exponential approach), so the step length does not
    change the result."""
    load = np.maximum(basic_load_tons(p, men), 1e-9)
    n = np.maximum(need, 1e-12)
    c = delivered / n  # share of the need that arrives
    x0 = supply
    gain = np.minimum(1.0, x0 + (c - 1.0) * n * dt_days / load)  # c >= 1: full need, surplus stocked
    r = p.ration_stock
    rate = (1.0 - c) * n / load  # stock fraction lost per day at the full need (c < 1)
    t1 = np.where(x0 > r, (x0 - r) / np.maximum(rate, 1e-12), 0.0)  # days until the stock is at r
    floor = c * r  # where rationing settles
    tau = np.maximum(r * load / n, 1e-12)  # days: the exponential approach's time constant
    start = np.where(x0 > r, r, x0)
    after = floor + np.maximum(start - floor, 0.0) * np.exp(-np.maximum(dt_days - t1, 0.0) / tau)
    after = np.where(start > floor, after, start)  # at or below the floor: lives on what arrives
    short = np.where(t1 >= dt_days, x0 - rate * dt_days, after)
    stock = np.clip(np.where(c >= 1.0, gain, short), 0.0, 1.0)
    fed = np.minimum(1.0, c + (x0 - stock) * load / (n * dt_days))
    fed = np.where((c >= 1.0) | (t1 >= dt_days), 1.0, fed)  # the full need, exactly
    fed = np.where(need > 0, np.maximum(fed, 0.0), 1.0)
    return stock, fed


def air_supply_share(request: np.ndarray, delivered: np.ndarray, alive: np.ndarray, side_onehot: np.ndarray,
                     tons_per_day: np.ndarray) -> np.ndarray:
    """Tons/day each unit receives by air (R,U): each side's air-supply tons (R,S), shared over
    its live units in proportion to what their deliveries fall short of their requests, never
    more than that shortfall."""
    short = np.where(alive, np.maximum(request - delivered, 0.0), 0.0)
    tot = short @ side_onehot  # (R,S)
    side = np.argmax(side_onehot, axis=1)
    have = tons_per_day[:, side]
    return np.minimum(short, have * short / np.maximum(tot[:, side], 1e-12))


def lines_of_communication(c, s, p: SupplyParams, alive: np.ndarray) -> None:
    """Update s.connected (R,U): which units their depots can reach over ground their side
    controls (once a day, and at the start)."""
    if not p.lines_of_communication or c.n_depots == 0:
        s.connected = np.ones_like(alive)
        return
    s.connected = kernels.supply_connected(c.nbr, s.cell, alive, c.side, c.enemy, c.n_sides, c.depot_cell,
                                           c.depot_side, s.depot_stock, not p.zones_of_control_cut_supply)


def supply_step(c, s, p: SupplyParams, alive: np.ndarray, cut_air: np.ndarray, cut_guer: np.ndarray,
                dt_days: float, engaged: np.ndarray | None = None,
                air_tons: np.ndarray | None = None, fuel_request: np.ndarray | None = None,
                fuel_delivery=None, road_load: np.ndarray | None = None) -> np.ndarray:
    """Update s.supply, s.fed and s.depot_stock; return the share of each unit's request that
    arrived, (R,U). `air_tons` (R,S): tons the side's air supply delivers this step (air.py).
    `fuel_request` (R,U) tons/day of fuel (fuel.py), which competes with the general supply for
    the side's transport capacity; `fuel_delivery(transport, reach_hours)` is then called with the
    share of a request the transport carries before distance (R,U) and each unit's reach hours
    (1,U), for the fuel's own depots. `road_load` (R,S,C, from road_load; None: no road is over
    its capacity): the vehicles on the roads its deliveries come up (line_share)."""
    R, U = s.cell.shape
    men = s.men()
    if c.n_depots == 0:
        s.supply = np.where(alive, np.minimum(1.0, s.supply + dt_days / p.refill_days), s.supply)
        s.fed = np.where(alive, 1.0, s.fed)
        s.flow = np.where(alive, 1.0, s.flow)
        return np.ones((R, U))
    need = need_tons_per_day(p, men, s.posture, engaged, alive)
    refill = basic_load_tons(p, men) * (1.0 - s.supply) / p.refill_days
    request = np.where(alive, need + refill, 0.0)
    side_request = mm(request if fuel_request is None else request + fuel_request, c.side_onehot)  # (R,S)
    ratio = np.where(np.isfinite(c.side_capacity)[None, :],
                     np.minimum(1.0, c.side_capacity[None, :] / np.maximum(side_request, 1e-9)), 1.0)
    d_best, h_best = kernels.nearest_depot(c.depot_ctg, s.cell, c.depot_side, c.side, s.depot_stock)
    h_best = np.where(s.connected, h_best, np.inf)  # cut off: no road supply
    reach_h = np.where(c.side_supply_motor[c.side], p.reach_hours_motor, p.reach_hours_foot)[None, :]
    reach = np.where(np.isfinite(h_best), 1.0 / (1.0 + (h_best / reach_h) ** 2), 0.0)
    has_depots = c.side_has_depots[c.side][None, :]
    f = ratio[:, c.side] * reach * (1.0 - cut_air[:, c.side]) * (1.0 - cut_guer) \
        * line_share(c, road_load, s.cell, d_best)
    if fuel_delivery is not None:
        fuel_delivery(ratio[:, c.side] * (1.0 - cut_air[:, c.side]) * (1.0 - cut_guer), reach_h)
    from_depot = np.where(has_depots, f * request, request)
    delivered = np.maximum(from_depot, p.forage_fraction * need)
    if air_tons is not None and air_tons.any():
        delivered = delivered + air_supply_share(request, delivered, alive, c.side_onehot, air_tons / dt_days)
    stock, fed = stock_update(p, s.supply, men, need, delivered, dt_days)
    s.supply = np.where(alive, stock, s.supply)
    s.fed = np.where(alive, fed, s.fed)
    s.flow = np.where(alive, np.where(need > 0, delivered / np.maximum(need, 1e-12), 1.0), s.flow)
    # draw the tons from the depots
    tons = np.where(alive & np.isfinite(h_best) & has_depots, from_depot * dt_days, 0.0)
    # tons per (replication, depot), added in unit order (as np.add.at would)
    D = s.depot_stock.shape[1]
    take = np.bincount((np.arange(R)[:, None] * D + d_best).ravel(), weights=tons.ravel(),
                       minlength=R * D).reshape(R, D)
    s.depot_stock = np.maximum(s.depot_stock - take, 0.0)
    return np.where(request > 0, delivered / np.maximum(request, 1e-12), 1.0)
