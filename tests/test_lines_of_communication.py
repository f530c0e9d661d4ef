"""Lines of communication: road supply reaches a unit only over ground its side controls; an
encircled unit lives on its stock, foraging and the air (supply.py, kernels.supply_connected)."""

from __future__ import annotations

import numpy as np

from engine_scenarios import PROV, base, build, phase, plan, unit
from xuefeng.engine import EngineParams, Simulation, compile_scenario, kernels


def ring_scenario():
    d = base()
    # six small blue units: too weak to attack the red division (counter_ratio), which holds
    d["units"] = [unit("r", "red", 27.5, 110.5)] + [unit(f"b{k}", "blue", 27.5, 110.9, men=1000) for k in range(6)]
    d["plans"] = [plan("red", phase("hold", ["r"], "hasty_defence"))]
    d["logistics"] = {"depots": [{"id": "dep", "name": "Depot", "side": "red", "location": {"lat": 27.5, "lon": 110.05},
                                  "stock_tons": 1e6, "provenance": PROV}],
                      "transport": [{"side": "red", "mode": "foot", "capacity_tons_per_day": 1000, "provenance": PROV}]}
    return build(d)


def placed(c, ring: int):
    """Cells: the red unit at its start, `ring` blue units on its neighbours, the rest far away."""
    cell = c.start_cell.copy()
    r = cell[0]
    nb = [n for n in c.nbr[r] if n != r][:6]
    for k in range(6):
        cell[1 + k] = nb[k] if k < ring else c.start_cell[1 + k]
    return cell[None, :]


def test_a_ring_of_enemies_cuts_the_road_and_a_gap_does_not() -> None:
    c = compile_scenario(ring_scenario())
    alive = np.ones((1, c.n_units), bool)
    stock = np.full((1, c.n_depots), 1e6)

    def connected(ring: int, zoc: bool = False) -> bool:
        out = kernels.supply_connected(c.nbr, placed(c, ring), alive, c.side, c.enemy, c.n_sides, c.depot_cell,
                                       c.depot_side, stock, not zoc)
        return bool(out[0, 0])

    assert connected(0) and connected(5)
    assert not connected(6)
    empty = np.zeros((1, c.n_depots))
    assert not kernels.supply_connected(c.nbr, placed(c, 0), alive, c.side, c.enemy, c.n_sides, c.depot_cell,
                                        c.depot_side, empty, True)[0, 0]  # no stocked depot


def test_an_encircled_unit_starves_unless_the_rule_is_off() -> None:
    sc = ring_scenario()

    def stock(on: bool) -> float:
        p = EngineParams().with_overrides({"supply": {"lines_of_communication": on}})
        c = compile_scenario(sc, params=p)
        sim = Simulation(c, np.arange(1), 0, keep_series=0)
        sim._s.cell[:] = placed(c, 6)
        for _ in range(4 * 12):
            sim._s.cell[0, 1:] = placed(c, 6)[0, 1:]  # the ring stays closed
            sim.step()
        return float(sim.s.supply[0, 0])

    assert stock(True) < 0.3 < stock(False)
