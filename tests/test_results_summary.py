"""Summaries and the comparison table, on synthetic results with known numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from synthetic import make_results, make_scenario

from xuefeng.analysis.quantities import great_circle_km, interval, quantile, wilson_interval
from xuefeng.analysis.summary import (
    SUMMARY_CATEGORIES,
    AliasError,
    claim_quantity,
    comparison_table,
    json_safe,
    summarise,
)


@pytest.fixture(scope="module")
def summary():
    return summarise(make_results(21), make_scenario())


def test_quantile_matches_numpy_on_finite_values():
    x = np.random.default_rng(1).random(37) * 1000
    for q in (0.05, 0.5, 0.95):
        assert quantile(x, q) == pytest.approx(np.quantile(x, q))


def test_quantile_treats_inf_as_never():
    assert quantile(np.array([1.0, 2.0, math.inf]), 0.5) == 2.0
    assert quantile(np.array([1.0, math.inf, math.inf]), 0.5) == math.inf
    assert quantile(np.array([1.0, math.inf]), 0.5) == math.inf
    assert quantile(np.array([1.0, math.inf]), 0.0) == 1.0


def test_wilson_interval_brackets_the_estimate():
    lo, hi = wilson_interval(19, 21)
    assert lo < 19 / 21 < hi <= 1
    assert wilson_interval(0, 10)[0] == 0.0


def test_probabilities(summary):
    assert summary["replications"] == 21
    assert summary["seed"] == 7
    assert summary["p_victory"] == {"red": pytest.approx(2 / 21), "blue": pytest.approx(19 / 21)}
    assert summary["p_objective_lost"] == pytest.approx(1 / 21)
    assert summary["p_no_decision"] == 0.0


def test_casualty_medians_and_intervals(summary):
    # side total of category c in replication r = (r+1) * W_side * (c+1); 21 replications
    assert set(summary["casualties"]) == {"red", "blue"}
    assert tuple(summary["casualties"]["red"]) == SUMMARY_CATEGORIES
    assert summary["casualties"]["red"]["killed"] == {"median": 66.0, "p05": 12.0, "p95": 120.0}
    assert summary["casualties"]["blue"]["wounded"] == {"median": 330.0, "p05": 60.0, "p95": 600.0}
    assert summary["casualties"]["blue"]["died_of_illness"]["median"] == 11 * 15 * 7
    totals = summary["casualty_totals"]["red"]
    assert totals["casualties"]["median"] == 11 * 6 * (1 + 2 + 4)
    assert totals["total_deaths"]["median"] == 11 * 6 * (1 + 3 + 7)
    assert totals["total_losses"]["median"] == 11 * 6 * (1 + 2 + 4 + 6)
    assert totals["killed_or_wounded"]["median"] == 11 * 6 * 3


def test_other_figures(summary):
    assert summary["civilian_casualties"] == {"median": 1100.0, "p05": 200.0, "p95": 2000.0}
    assert summary["aircrew_lost"]["blue"] == {"median": 22.0, "p05": 4.0, "p95": 40.0}
    assert summary["advance_km_median"] == 110.0
    assert summary["end_date_median"] == "1900-05-10"  # 1 March + 60 + 10 days
    assert summary["offensive_end_date_median"] == "1900-04-30"


def test_summary_is_strict_json(summary):
    text = json.dumps(json_safe(summary), allow_nan=False)
    assert json.loads(text)["replications"] == 21


def test_json_safe_replaces_non_finite():
    assert json_safe({"a": [math.nan, math.inf, np.float64(2.5)], "b": np.int64(3)}) == {"a": [None, None, 2.5],
                                                                                      "b": 3}


def test_aliases_copy_values_from_paths():
    s = summarise(make_results(21), None, {"p_red_wins": "p_victory.red", "goal_lost": "p_objective_lost",
                                             "blue_air": "aircrew_lost.blue"})
    assert s["p_red_wins"] == pytest.approx(2 / 21)
    assert s["goal_lost"] == pytest.approx(1 / 21)
    assert s["blue_air"]["median"] == 22.0
    with pytest.raises(AliasError, match="green"):
        summarise(make_results(3), None, {"x": "p_victory.green"})


def test_single_replication_has_equal_quantiles():
    s = summarise(make_results(1), None)
    k = s["casualties"]["red"]["killed"]
    assert k["median"] == k["p05"] == k["p95"] == 6.0


def test_comparison_table_rows():
    rows = {r.claim_id: r for r in comparison_table(make_results(21), make_scenario())}
    assert list(rows) == ["blue-killed", "blue-cas", "red-deaths", "red-kw", "red-losses", "civ", "air",
                          "blue-corps-killed", "red-strength"]
    assert rows["blue-killed"].simulated == interval(165 / 11 * (np.arange(21) + 1))
    assert rows["blue-killed"].simulated.median == 165.0
    assert rows["blue-killed"].within_interval is True  # 100 inside 30..300
    assert rows["blue-cas"].simulated.median == 11 * 15 * 7
    assert rows["red-deaths"].simulated.median == 11 * 6 * 11
    assert rows["red-kw"].within_interval is False
    assert rows["red-losses"].simulated.median == 11 * 6 * 13
    assert rows["civ"].simulated.median == 1100.0
    assert rows["air"].simulated.median == 22.0
    # a unit's claim: the corps and its subordinate division (weights 4 + 5), not the whole side
    assert rows["blue-corps-killed"].quantity == "unit.blue-corps.killed"
    assert rows["blue-corps-killed"].simulated.median == 11 * 9
    assert rows["red-strength"].simulated is None and rows["red-strength"].within_interval is None


def test_claim_quantity_mapping():
    sc = make_scenario()
    q = {c.id: claim_quantity(c) for c in sc.claims}
    assert q["blue-killed"] == "casualties.blue.killed"
    assert q["civ"] == "civilian_casualties"
    assert q["air"] == "aircrew_lost.blue"
    assert q["red-strength"] is None


def test_summary_includes_comparison_when_scenario_given(summary):
    assert [c["claim"] for c in summary["comparison"]][0] == "blue-killed"
    assert summary["comparison"][-1]["simulated"] is None


def test_great_circle_known_distance():
    # one degree of latitude is ~111.2 km on the mean-radius sphere
    assert great_circle_km(10, 20, 11, 20) == pytest.approx(111.195, abs=0.01)
    assert great_circle_km(41, 11.5, 41, 10.5) == pytest.approx(83.92, abs=0.05)


# --------------------------------------------------------------------------- properties

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=1, max_size=60), st.floats(min_value=0, max_value=1))
def test_quantile_equals_numpy_for_finite_values(xs, q):
    assert quantile(np.array(xs), q) == pytest.approx(float(np.quantile(np.array(xs), q)), rel=1e-9, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(finite, st.just(math.inf)), min_size=1, max_size=40))
def test_interval_is_ordered_and_never_nan(xs):
    iv = interval(np.array(xs))
    assert not any(math.isnan(v) for v in (iv.p05, iv.median, iv.p95))
    assert iv.p05 <= iv.median <= iv.p95
    # more than half "never" makes the median "never"
    if sum(math.isinf(x) for x in xs) > len(xs) / 2:
        assert iv.median == math.inf
