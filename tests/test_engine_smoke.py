"""Smoke run of the default scenario: shapes, ledger consistency, outcome fields."""

from __future__ import annotations

import numpy as np
import pytest

from engine_scenarios import FixedEngagement
from xuefeng.engine import estimate_bytes, simulate
from xuefeng.results.model import CATEGORIES, Results
from xuefeng.scenario import load_scenario

K = {c: i for i, c in enumerate(CATEGORIES)}


def _model():
    try:
        from xuefeng.engagement import EngagementModel

        return EngagementModel.default()
    except Exception:  # pragma: no cover - until the fitted parameters ship
        return FixedEngagement()


@pytest.fixture(scope="module")
def run() -> Results:
    sc = load_scenario("west-hunan-1945")
    return simulate(sc, 6, seed=3, keep_series=2, engagement=_model())


def test_ledger_non_negative_and_consistent(run: Results) -> None:
    L = run.ledger
    assert L.shape == (6, len(run.unit_ids), len(CATEGORIES))
    assert np.all(np.isfinite(L)) and np.all(L >= -1e-9)
    assert np.all(L[..., K["died_of_wounds"]] <= L[..., K["wounded"]] + 1e-9)
    assert np.all(L[..., K["died_of_illness"]] <= L[..., K["sick"]] + 1e-9)
    # nobody returns to duty who was not wounded or sick
    assert np.all(L[..., K["returned_to_duty"]] <= L[..., K["wounded"]] + L[..., K["sick"]] + 1e-6)
    assert L[..., K["killed"]].sum() > 0 and L[..., K["sick"]].sum() > 0


def test_outcome_and_records(run: Results) -> None:
    o = run.outcome
    assert o.winner.shape == (6,) and set(np.unique(o.winner)) <= {0, 1}
    assert o.arrival_time.shape == (6, len(run.unit_ids))
    assert np.all(o.advance_km >= 0)
    assert np.all(o.end_time >= np.datetime64(run.start))
    assert run.civilian_casualties.shape == (6,) and np.all(run.civilian_casualties >= 0)
    assert run.aircrew_lost.shape == (6, len(run.sides)) and np.all(run.aircrew_lost >= 0)
    assert run.series is not None and run.series.sizes["replication"] == 2
    assert set(run.series.data_vars) >= {"strength", "lat", "lon", "posture", "supply", "morale", "fatigue"}
    ev = run.events
    assert list(ev.columns) == ["replication", "time", "kind", "side", "units", "cell", "lat", "lon", "detail"]
    assert {"arrival", "phase_start"} <= set(ev.kind)
    # units present at the start have arrived at the start
    assert np.all(o.arrival_time[:, o.arrival_time[0] == np.datetime64(run.start)] == np.datetime64(run.start))


def test_estimate_bytes_grows_with_replications() -> None:
    sc = load_scenario("west-hunan-1945")
    small = estimate_bytes(sc, 10, 1)
    big = estimate_bytes(sc, 10_000, 1)
    assert 0 < small < big
    assert estimate_bytes(sc, 10, 10) > small
