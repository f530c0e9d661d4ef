"""The Mesa reference implementation (benchmarks/mesa_reference.py) agrees with the engine
on the main outcomes of the West Hunan campaign, and the agreement check can fail: a
deliberately changed Mesa model is caught."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mesa")

from xuefeng.engine import compile_scenario, simulate
from xuefeng.results.model import CATEGORIES
from xuefeng.scenario import load_scenario

SCENARIO = "west-hunan-1945"
SEED = 11
#: Replications: the engine's are cheap; the Mesa model's (~0.5 s each here) bound the test's time.
N_ENGINE = 1000
N_MESA = 80
#: Replications of each deliberately changed Mesa model (a gross change needs few).
N_CHANGED = 12


def _load_reference():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "mesa_reference.py"
    spec = importlib.util.spec_from_file_location("mesa_reference", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the file runs
    spec.loader.exec_module(mod)
    return mod


mr = _load_reference()


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def engine_results(scenario):
    return simulate(scenario, N_ENGINE, SEED, keep_series=0)


@pytest.fixture(scope="module")
def mesa_results(scenario):
    return mr.simulate_mesa(scenario, N_MESA, SEED + 1)


def _changed(scenario, **subs):
    """Mesa results with some sub-model parameters replaced, e.g. medical={'base_incidence_per_day': 0}."""
    p = compile_scenario(scenario).params
    for sub, vals in subs.items():
        p = dataclasses.replace(p, **{sub: dataclasses.replace(getattr(p, sub), **vals)})
    return mr.simulate_mesa(scenario, N_CHANGED, SEED + 2, params=p)


def test_results_contract(scenario, mesa_results):
    r = mesa_results
    c = compile_scenario(scenario)
    assert r.ledger.shape == (N_MESA, c.n_units, len(CATEGORIES))
    assert r.unit_ids == c.unit_ids and r.sides == c.side_ids
    assert r.aircrew_lost.shape == (N_MESA, c.n_sides) and r.civilian_casualties.shape == (N_MESA,)
    assert r.outcome.arrival_time.shape == (N_MESA, c.n_units)
    assert np.all(r.ledger >= 0)
    L = r.ledger
    assert np.all(L[..., CATEGORIES.index("died_of_wounds")] <= L[..., CATEGORIES.index("wounded")] + 1e-9)
    assert np.all(L[..., CATEGORIES.index("died_of_illness")] <= L[..., CATEGORIES.index("sick")] + 1e-9)
    assert list(r.events.columns) == mr.EVENT_COLUMNS


def test_reproducible_and_progress(scenario):
    calls = []
    a = mr.simulate_mesa(scenario, 2, 5, progress=lambda d, n: calls.append((d, n)))
    b = mr.simulate_mesa(scenario, 1, 5, first_replication=1)
    assert calls == [(1, 2), (2, 2)]
    np.testing.assert_array_equal(a.ledger[1:], b.ledger)  # replication i depends on (seed, i) only


def test_mesa_agrees_with_engine(scenario, engine_results, mesa_results):
    rows = mr.agreement(engine_results, mesa_results, scenario)
    table = mr.format_agreement(rows, N_ENGINE, N_MESA)
    print(table)
    quantities = {r.quantity for r in rows}
    assert {"china victory share", "advance km", "offensive end", "china battle casualties",
            "japan battle casualties", "japan sick", "civilian casualties", "china aircrew lost",
            "arrival of new-6th-corps"} <= quantities
    assert all(r.ok for r in rows), table


@pytest.mark.parametrize("change,caught", [
    ({"medical": {"base_incidence_per_day": 0.0}}, "japan sick"),  # disease off
    # engagement casualties cut to 30% (doubling them is not a gross change of the campaign's
    # totals: units break and offensives are called off sooner, which caps the losses)
    ({"combat": {"intensity": 0.3}}, "battle casualties"),
])
def test_agreement_detects_a_changed_model(scenario, engine_results, change, caught):
    rows = mr.agreement(engine_results, _changed(scenario, **change), scenario)
    assert any(not r.ok for r in rows if caught in r.quantity), mr.format_agreement(rows, N_ENGINE, N_CHANGED)


def test_the_reference_refuses_what_it_does_not_mirror():
    """Fuel and bridges are not in the Mesa reference: a scenario with them is refused, by name."""
    c = compile_scenario(load_scenario("ardennes-1944"))
    with pytest.raises(ValueError, match="mirrors neither fuel .* bridges"):
        mr.CampaignModel(c, None, 0, 0)
