"""Air supply (air mission `air_supply`): transports fill the shortfalls of a side's units
wherever they are — the stock of a unit its depots cannot reach holds up."""

from __future__ import annotations

import numpy as np

from engine_scenarios import PROV, base, build, phase, plan, unit
from xuefeng.engine import Simulation, compile_scenario
from xuefeng.engine.supply import air_supply_share


def cut_off(aircraft: float):
    d = base()
    d["units"] = [unit("u", "red", 27.5, 110.5), unit("v", "red", 27.5, 110.1)]
    d["plans"] = [plan("red", phase("hold", ["u", "v"], "hasty_defence"))]
    # an empty depot in a corner: no road supply at all, only foraging (and the air)
    d["logistics"] = {"depots": [{"id": "dep", "name": "Depot", "side": "red", "location": {"lat": 27.95, "lon": 110.95},
                                  "stock_tons": 0.0, "provenance": PROV}],
                      "transport": [{"side": "red", "mode": "foot", "capacity_tons_per_day": 1000, "provenance": PROV}]}
    if aircraft:
        d["air_groups"] = [{"id": "tc", "name": "Troop carriers", "side": "red", "aircraft": aircraft,
                            "sorties_per_aircraft_per_day": 1.0, "missions": ["air_supply"], "provenance": PROV}]
    return build(d)


def stock_after(sc, days=18):
    """(mean stock, mean share of the need met) over the last four days (the campaign ends on day 20) (air supply arrives by
    day; the stock carries the units through the night)."""
    c = compile_scenario(sc)
    sim = Simulation(c, np.arange(2), 0, keep_series=0)
    steps = days * 24 // c.step_hours
    stock, fed = [], []
    for k in range(steps):
        sim.step()
        if k >= steps - 4 * 24 // c.step_hours:
            stock.append(sim.s.supply.mean())
            fed.append(sim.s.fed.mean())
    return float(np.mean(stock)), float(np.mean(fed))


def test_air_supply_feeds_units_the_depots_cannot_reach() -> None:
    none_stock, none_fed = stock_after(cut_off(0))
    few_stock, few_fed = stock_after(cut_off(4))
    many_stock, many_fed = stock_after(cut_off(40))
    assert none_fed < few_fed < many_fed
    assert none_stock <= few_stock <= many_stock
    assert many_fed > 0.9 > none_fed


def test_air_supply_goes_to_the_shortfalls_and_never_beyond() -> None:
    request = np.array([[10.0, 10.0, 4.0]])
    delivered = np.array([[10.0, 2.0, 0.0]])
    onehot = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    got = air_supply_share(request, delivered, np.ones((1, 3), bool), onehot, np.array([[100.0, 1.0]]))
    assert got.tolist() == [[0.0, 8.0, 1.0]]  # side 0 fills unit 1's shortfall, side 1 has 1 t for unit 2
