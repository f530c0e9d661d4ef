"""Further objectives (victory conditions after the first) are scored without ending the
campaign, and the time an offensive is called off is recorded; both survive saving, loading
and concatenation, and are history-target quantities."""

from __future__ import annotations

import numpy as np
import pytest

from engine_scenarios import PROV, base, build, phase, plan, unit
from xuefeng.analysis.quantities import QuantityError, evaluate
from xuefeng.engine import simulate
from xuefeng.results.io import concat, load, save


def scenario():
    d = base()
    d["meta"]["end"] = "1950-05-15T00:00:00"
    # red marches east through 'west' (empty) on a far objective that blue holds strongly
    d["units"] = [unit("r", "red", 27.5, 110.05), unit("b", "blue", 27.5, 110.9, men=30000)]
    d["plans"] = [plan("red", phase("go", ["r"], "attack", "east")),
                  plan("blue", phase("hold", ["b"], "prepared_defence", "east"))]
    d["victory"] = [{"id": "hold-east", "kind": "hold_objective", "side": "blue", "objective": "east",
                     "by": "1950-05-15T00:00:00", "provenance": PROV},
                    {"id": "hold-west", "kind": "hold_objective", "side": "blue", "objective": "west",
                     "by": "1950-05-15T00:00:00", "provenance": PROV}]
    return build(d)


def test_a_further_objective_is_scored_and_the_campaign_goes_on(tmp_path) -> None:
    sc = scenario()
    r = simulate(sc, 4, 0, keep_series=0)
    lost = r.outcome.objectives_lost["hold-west"]
    assert lost.all()  # red walks through the empty town
    assert not r.outcome.objective_lost.any()  # the first objective decides the campaign
    assert (r.outcome.winner == r.sides.index("blue")).all()
    assert evaluate(r, "objective_lost.hold-west").values.tolist() == [1.0] * 4
    with pytest.raises(QuantityError, match="known: hold-west"):
        evaluate(r, "objective_lost.nowhere")
    called = evaluate(r, "called_off_time").values
    assert np.isfinite(called).all()  # red's attack on 30,000 men is called off
    save(r, tmp_path / "run")
    back = load(tmp_path / "run")
    assert np.array_equal(back.outcome.objectives_lost["hold-west"], lost)
    assert np.array_equal(back.outcome.called_off_time, r.outcome.called_off_time)
    two = concat([simulate(sc, 2, 0, keep_series=0), simulate(sc, 2, 0, keep_series=0, first_replication=2)])
    assert np.array_equal(two.outcome.objectives_lost["hold-west"], lost)
    assert np.array_equal(two.outcome.called_off_time, r.outcome.called_off_time)


def test_a_lost_objective_retaken_by_its_holder_counts_as_held(tmp_path) -> None:
    """'Holds (is not taken, or is relieved)': a town lost and later reached again by its holder
    with no enemy in it is relieved; one lost and never regained is not held."""
    sc = scenario()
    plain = simulate(sc, 2, 0, keep_series=0)
    assert plain.outcome.objectives_lost["hold-west"].all()
    assert evaluate(plain, "objective_held.hold-west").values.tolist() == [0.0, 0.0]
    d = sc.model_dump(mode="json")
    # a blue force 25 km east of 'west' strikes back at it once red has walked through it
    d["units"].append(unit("relief", "blue", 27.5, 110.35, men=20000))
    d["plans"][1]["phases"].append(phase("relieve", ["relief"], "attack", "west", start="1950-05-02T00:00:00"))
    r = simulate(build(d), 4, 0, keep_series=0)
    assert r.outcome.objectives_lost["hold-west"].all()
    back = r.outcome.objectives_relieved["hold-west"]
    assert back.all()
    assert evaluate(r, "objective_held.hold-west").values.tolist() == [1.0] * 4
    with pytest.raises(QuantityError, match="known: hold-west"):
        evaluate(r, "objective_held.nowhere")
    save(r, tmp_path / "run")
    assert np.array_equal(load(tmp_path / "run").outcome.objectives_relieved["hold-west"], back)
    two = concat([simulate(build(d), 2, 0, keep_series=0), simulate(build(d), 2, 0, keep_series=0, first_replication=2)])
    assert np.array_equal(two.outcome.objectives_relieved["hold-west"], back)
