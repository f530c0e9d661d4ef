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
    """With a quarter load (two hours of marching) and a dry depot the division burns its fuel
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
    against a load of (50 x 30 + 500 x 6) kg/h x 8 h = 36 t, i.e. 1.65 / 36 a day, at 3-, 6-
    and 12-hour steps alike."""
    p = fuel_mod.FuelParams()
    load_t = (50 * p.tank_kg_per_march_hour + 500 * p.truck_kg_per_march_hour) * p.load_march_hours / 1000
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
