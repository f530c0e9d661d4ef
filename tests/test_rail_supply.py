"""Rail as a supply transport mode: trains along the map's railways, from a depot to the
railhead nearest a unit and on by the side's road mode (geo.layered_cost_to_go)."""

from __future__ import annotations

import numpy as np
import pytest

from engine_scenarios import PROV, base, build, phase, plan, unit
from xuefeng.engine import EngineParams, Simulation, compile_scenario
from xuefeng.geo import build_hexmap, cost_to_go, layered_cost_to_go

RAIL_LAT = 27.2


def rail_scenario(rail_capacity: float, railway: bool = True):
    """A depot in the far west on a railway that runs east along 27.2 N; a unit in the east at
    the line's end, 80 km from the depot, supplied on foot (and by rail when given)."""
    d = base()
    if railway:
        d["theater"]["railways"] = [{"id": "line", "name": "Line", "provenance": PROV,
                                     "coordinates": [(110.05, RAIL_LAT), (110.95, RAIL_LAT)]}]
    d["units"] = [unit("u", "red", RAIL_LAT, 110.9)]
    d["plans"] = [plan("red", phase("hold", ["u"], "hasty_defence"))]
    transport = [{"side": "red", "mode": "foot", "capacity_tons_per_day": 1000, "provenance": PROV}]
    if rail_capacity:
        transport.append({"side": "red", "mode": "rail", "capacity_tons_per_day": rail_capacity,
                          "provenance": PROV})
    d["logistics"] = {"depots": [{"id": "dep", "name": "Depot", "side": "red",
                                  "location": {"lat": RAIL_LAT, "lon": 110.05}, "stock_tons": 1e6,
                                  "provenance": PROV}], "transport": transport}
    return build(d)


def test_layered_cost_is_never_worse_than_either_mode_and_uses_the_fast_layer() -> None:
    sc = rail_scenario(500)
    hm = build_hexmap(sc.theater)
    foot = hm.edge_hours("foot")
    rail = hm.rail_edge_hours()
    dep = hm.cell_of(RAIL_LAT, 110.05)
    by_foot = cost_to_go(hm, foot, [dep])
    both = layered_cost_to_go(hm, [foot, rail], 12.0, [dep])
    assert np.all(both <= by_foot + 1e-9)
    far = hm.cell_of(RAIL_LAT, 110.9)
    # by train: ~85 km at 400 km/day is ~5 h, plus a transfer each way
    assert both[far] < 0.5 * by_foot[far]
    assert 24.0 <= both[far] < 24.0 + 12.0
    # off the railway, the last leg is on foot: nearer the line is nearer the depot
    assert both[hm.cell_of(27.9, 110.9)] > both[far]


def test_a_unit_at_a_railhead_is_better_supplied_with_rail_transport() -> None:
    p = EngineParams()
    out = {}
    for cap in (0, 500):
        c = compile_scenario(rail_scenario(cap), params=p)
        sim = Simulation(c, np.arange(1), 0, keep_series=0)
        for _ in range(4 * 30):
            sim.step()
        out[cap] = (float(c.depot_ctg[0, sim.s.cell[0, 0]]), float(sim.s.supply[0, 0]))
    (h_foot, stock_foot), (h_rail, stock_rail) = out[0], out[500]
    assert h_rail < 0.5 * h_foot
    assert stock_rail > stock_foot


def test_rail_transport_without_railways_is_refused() -> None:
    with pytest.raises(Exception) as e:
        rail_scenario(500, railway=False)
    assert "rail transport needs railways on the map" in str(e.value)


def test_railway_layer_in_geojson_joins_the_theater() -> None:
    from xuefeng.scenario.geojson import LAYERS

    assert LAYERS["railway"] == ("railways", "LineString")
