"""Fuel as its own supply class (engine fuel.py): vehicles burn it marching and standing, a
unit out of fuel slows to its floor, and a scenario that declares no fuel runs as before."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine_scenarios import PROV, base, build, phase, plan, run_one, unit
from xuefeng.engine import EngineParams, compile_scenario
from xuefeng.engine import fuel as fuel_mod

PARAMS = EngineParams().with_overrides({"command": {"spread": 0.0}})


def fuel_scenario(fuel_tons: float | None, posture: str = "attack", step_hours: int = 6):
    """A motorised division (50 tanks, 500 trucks) on the highway at 'west', ordered east (or to
    hold where it stands), with one depot beside it holding plenty of general stores and `fuel_tons` of fuel."""
    d = base()
    d["meta"]["time_step_hours"] = step_hours
    u = unit("panzer", "red", 27.5, 110.1, march_mode="motor")
    u["equipment"] = {**u["equipment"], "tanks": 50, "trucks": 500}
    d["units"] = [u]
    d["plans"] = [plan("red", phase("go", ["panzer"], posture, "east" if posture == "attack" else None))]
    depot = {"id": "dep", "name": "Depot", "side": "red", "location": {"lat": 27.5, "lon": 110.1},
             "stock_tons": 1e6, "provenance": PROV}
    if fuel_tons is not None:
        depot["fuel_tons"] = fuel_tons
    d["logistics"] = {"depots": [depot],
                      "transport": [{"side": "red", "mode": "motor", "capacity_tons_per_day": 5000,
                                     "provenance": PROV}]}
    return build(d)


def run(sc, hours: float, params: EngineParams = PARAMS):
    return run_one(sc, hours, params, keep_series=0)


def east_km(c, sim) -> float:
    return float(c.x_km[sim.s.cell[0, 0]] - c.x_km[c.start_cell[0]])


def test_fuel_is_modelled_only_where_a_depot_gives_it() -> None:
    import xuefeng as xf

    assert not compile_scenario(xf.load_scenario("west-hunan-1945")).fuel_modelled
    assert compile_scenario(xf.load_scenario("ardennes-1944")).fuel_modelled
    assert not compile_scenario(fuel_scenario(None)).fuel_modelled
    c = compile_scenario(fuel_scenario(0.0))
    assert c.fuel_modelled and c.trucks0[0] == 500 and c.depot_fuel0[0] == 0.0


def test_plenty_of_fuel_marches_as_if_fuel_were_not_modelled() -> None:
    c0, free = run(fuel_scenario(None), 72)
    c1, fuelled = run(fuel_scenario(1e5), 72)
    assert east_km(c1, fuelled) == pytest.approx(east_km(c0, free)) and east_km(c0, free) > 20
    assert fuelled.s.fuel_ok[0, 0] == 1.0


def test_out_of_fuel_the_vehicles_stop() -> None:
    """With a quarter load (25 road km) and a dry depot the division burns its fuel
    on its first march and then crawls at movement.low_supply_speed_floor_motor; with fuel
    delivered it goes on at full speed."""
    from xuefeng.engine.movement import march_speed

    low = PARAMS.with_overrides({"fuel": {"start_fuel": 0.25}})
    cf, fuelled = run(fuel_scenario(1e5), 48, low)
    cd, dry = run(fuel_scenario(0.0), 48, low)
    assert dry.s.fuel[0, 0] == 0.0 and dry.s.fuel_ok[0, 0] == 0.0
    assert fuelled.s.fuel_ok[0, 0] == 1.0
    fast = march_speed(cf, fuelled.s, low.movement)[0, 0]
    slow = march_speed(cd, dry.s, low.movement)[0, 0]
    floor = low.movement.low_supply_speed_floor_motor
    assert slow == pytest.approx(floor * fast / 1.0, rel=0.05)
    assert east_km(cd, dry) < 0.85 * east_km(cf, fuelled)
    assert dry.s.depot_fuel[0, 0] == 0.0 and fuelled.s.depot_fuel[0, 0] < 1e5


def test_standing_vehicles_burn_their_idle_fuel_whatever_the_step() -> None:
    """Holding with a dry depot, the load falls by the idle burn: 550 vehicles x 3 kg a day
    against a load of (50 x 2.2 + 500 x 0.25) kg/km x 100 km = 23.5 t, i.e. 1.65 / 23.5 a day,
    at 3-, 6- and 12-hour steps alike."""
    p = fuel_mod.FuelParams()
    load_t = (50 * p.tank_kg_per_km + 500 * p.truck_kg_per_km) * p.load_km / 1000
    per_day = 550 * p.idle_kg_per_vehicle_day / 1000 / load_t
    got = []
    for h in (3, 6, 12):
        _, sim = run(fuel_scenario(0.0, posture="hasty_defence", step_hours=h), 96)
        got.append(float(sim.s.fuel[0, 0]))
    assert got == pytest.approx([1 - 4 * per_day] * 3, rel=2e-3)


def test_marching_burns_more_than_standing() -> None:
    _, moving = run(fuel_scenario(0.0), 48)
    _, standing = run(fuel_scenario(0.0, posture="hasty_defence"), 48)
    assert moving.s.fuel[0, 0] < standing.s.fuel[0, 0] - 0.1


def test_fuel_tons_must_not_be_negative() -> None:
    with pytest.raises(ValidationError, match="fuel_tons"):
        fuel_scenario(-1.0)


def test_a_hop_costs_its_km_of_fuel_on_a_road_and_offroad_factor_times_them_elsewhere() -> None:
    from xuefeng.geo import build_hexmap

    sc = fuel_scenario(1e5)
    c = compile_scenario(sc)
    hm = build_hexmap(sc.theater)
    on_road = hm.edge_road >= 2
    has = hm.neighbours >= 0
    assert on_road.any() and (has & ~on_road).any()
    km = hm.edge_km.astype(float)
    p = fuel_mod.FuelParams()
    assert c.edge_fuel_km[has & on_road] == pytest.approx(km[has & on_road])
    assert c.edge_fuel_km[has & ~on_road] == pytest.approx(p.offroad_factor * km[has & ~on_road])
    assert (c.edge_fuel_km[~has] == 0).all()


def test_marching_burns_fuel_by_the_km_covered_whatever_the_step() -> None:
    """Down the highway with a dry depot, the load falls by the idle burn plus the road km
    marched over load_km: about one road km of fuel per km gained eastward (hex hops zigzag a
    little round the straight line: 2/sqrt(3) at most), the same at 3-, 6- and 12-hour steps."""
    p = fuel_mod.FuelParams()
    load_t = (50 * p.tank_kg_per_km + 500 * p.truck_kg_per_km) * p.load_km / 1000
    idle = 550 * p.idle_kg_per_vehicle_day / 1000 / load_t * 36 / 24
    per_km = []
    for h in (3, 6, 12):
        c, sim = run(fuel_scenario(0.0, step_hours=h), 36)
        km = east_km(c, sim)
        assert km > 20
        per_km.append((1.0 - float(sim.s.fuel[0, 0]) - idle) * p.load_km / km)
    assert 1.0 <= per_km[0] <= 1.25
    assert per_km == pytest.approx([per_km[0]] * 3, rel=1e-6)
