"""Supply lines share the roads (engine supply.py, line_share): where the vehicles of a side's
formations in a cell outnumber what its roads carry in a day, only that share of the deliveries
to the units beyond it gets through; a scenario whose roads are never over capacity runs as
before."""

from __future__ import annotations

import numpy as np
import pytest

from engine_scenarios import PROV, base, build, unit
from xuefeng.engine import EngineConfig, Simulation, compile_scenario
from xuefeng.engine import supply as sup
from xuefeng.engine import kernels


def road_scenario(crowd_trucks: float):
    """A depot at 'west' on the highway; the unit 'far' at 110.8 E and, between them at 110.45 E,
    'crowd', a formation with `crowd_trucks` trucks on the same highway."""
    d = base()
    far = unit("far", "red", 27.5, 110.8)
    crowd = unit("crowd", "red", 27.5, 110.45)
    crowd["equipment"] = {**crowd["equipment"], "trucks": crowd_trucks}
    d["units"] = [far, crowd]
    d["logistics"] = {"depots": [{"id": "dep", "name": "Depot", "side": "red",
                                  "location": {"lat": 27.5, "lon": 110.1}, "stock_tons": 1e6, "provenance": PROV}],
                      "transport": [{"side": "red", "mode": "motor", "capacity_tons_per_day": 5000,
                                     "provenance": PROV}]}
    return build(d)


def shares(crowd_trucks: float):
    c = compile_scenario(road_scenario(crowd_trucks), config=EngineConfig())
    sim = Simulation(c, np.arange(1), 0, keep_series=0)
    s = sim.s
    alive = s.present & (s.men() > 0)
    load = sup.road_load(c, s, alive)
    d_best, _ = kernels.nearest_depot(c.depot_ctg, s.cell, c.depot_side, c.side, s.depot_stock)
    return c, load, np.broadcast_to(sup.line_share(c, load, s.cell, d_best), s.cell.shape)


def test_a_crowded_road_between_a_unit_and_its_depot_lets_only_its_capacity_through() -> None:
    c, load, share = shares(5000.0)
    cap = c.road_capacity[c.start_cell[1]]
    assert cap == pytest.approx(2800.0)  # a highway cell
    assert load is not None and load[0, 0, c.start_cell[1]] == pytest.approx(5000.0)
    assert share[0, 0] == pytest.approx(cap / 5000.0)  # 'far': its deliveries come up through the crowd
    assert share[0, 1] == 1.0  # the crowd's own deliveries do not pass through its own cell


def test_roads_within_their_capacity_slow_nothing() -> None:
    _, load, share = shares(2000.0)
    assert load is None and (share == 1.0).all()


def test_west_hunan_s_roads_are_never_over_capacity_at_the_start() -> None:
    import xuefeng as xf

    c = compile_scenario(xf.load_scenario("west-hunan-1945"))
    s = Simulation(c, np.arange(2), 0, keep_series=0).s
    assert sup.road_load(c, s, s.present & (s.men() > 0)) is None
