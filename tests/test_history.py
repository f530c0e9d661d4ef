"""The history check: targets file reading and pass/fail logic on known numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from synthetic import make_results, make_scenario

from xuefeng.analysis.history import check_history, format_value
from xuefeng.analysis.quantities import great_circle_km
from xuefeng.analysis.targets import HistoryTargets, TargetsError, check_against, load_targets

SRC = {"source": "a source says so", "text": "the target in words"}


def targets(*items, advance=True) -> HistoryTargets:
    return HistoryTargets.model_validate({
        "scenario": "synthetic",
        "advance": {"start": "origin", "objective": "goal"} if advance else None,
        "targets": [{"name": f"t{i}", **SRC, **t} for i, t in enumerate(items)],
    })


def verdict(results, *items, scenario=None):
    out = check_history(results, scenario or make_scenario(), targets(*items))
    return out[0] if len(out) == 1 else out


R21 = make_results(21)


@pytest.mark.parametrize("bound, holds", [({"min": 0.8}, True), ({"min": 0.95}, False),
                                          ({"min": 0.9, "max": 0.91}, True)])
def test_probability_lower_bound(bound, holds):
    v = verdict(R21, {"kind": "probability", "quantity": "victory.blue", **bound})
    assert v.simulated_median == pytest.approx(19 / 21)
    assert v.p05 < v.simulated_median < v.p95
    assert v.holds is holds


@pytest.mark.parametrize("bound, holds", [(0.05, True), (0.04, False)])
def test_probability_upper_bound(bound, holds):
    v = verdict(R21, {"kind": "probability", "quantity": "objective_lost", "max": bound})
    assert v.simulated_median == pytest.approx(1 / 21)
    assert v.holds is holds


def test_advance_fraction_uses_great_circle_between_named_places():
    d = great_circle_km(41.0, 11.5, 41.0, 10.5)
    v = verdict(R21, {"kind": "median_range", "quantity": "advance_fraction", "min": 1.2, "max": 1.4})
    assert v.simulated_median == pytest.approx(110 / d)
    assert v.p05 == pytest.approx(20 / d) and v.p95 == pytest.approx(200 / d)
    assert v.holds
    assert not verdict(R21, {"kind": "median_range", "quantity": "advance_fraction", "min": 0.4,
                             "max": 0.85}).holds


@pytest.mark.parametrize("bounds, holds", [
    ({"max": dt.date(1900, 4, 30)}, True),      # a bare date as upper bound includes that whole day
    ({"max": dt.date(1900, 4, 29)}, False),
    ({"min": dt.date(1900, 4, 30), "max": dt.date(1900, 5, 1)}, True),
    ({"min": dt.date(1900, 5, 1)}, False),
])
def test_date_median_range(bounds, holds):
    v = verdict(R21, {"kind": "median_range", "quantity": "offensive_end_time", **bounds})
    assert v.simulated_median == dt.datetime(1900, 4, 30)
    assert v.value_kind == "time"
    assert v.holds is holds


def test_offensive_that_mostly_never_ends_fails():
    r = make_results(5, offensive_end_days=[50, np.nan, np.nan, 52, np.nan])
    v = verdict(r, {"kind": "median_range", "quantity": "offensive_end_time", "max": dt.date(1900, 6, 30)})
    assert v.simulated_median is None and not v.holds
    assert format_value(v.simulated_median, v.value_kind) == "never"


@pytest.mark.parametrize("bounds, holds", [({"min": 400, "max": 500}, True), ({"min": 463}, False),
                                           ({"max": 461}, False), ({"min": 462, "max": 462}, True)])
def test_count_median_range_is_inclusive(bounds, holds):
    v = verdict(R21, {"kind": "median_range", "quantity": "casualties.red.casualties", **bounds})
    assert v.simulated_median == 11 * 6 * 7 == 462
    assert v.holds is holds


def test_median_comparison():
    v = verdict(R21, {"kind": "median_comparison", "quantity": "casualties.blue.sick",
                      "greater_than": "casualties.blue.casualties"})
    assert v.simulated_median == 11 * 15 * 6 and v.compared_median == 11 * 15 * 7
    assert not v.holds
    v = verdict(R21, {"kind": "median_comparison", "quantity": "casualties.blue.sick",
                      "greater_than": "casualties.blue.killed"})
    assert v.holds


def test_latest_arrival_includes_subordinates():
    # blue-div-a (under blue-corps) arrives 10 + r days after the start; median r = 10
    v = verdict(R21, {"kind": "median_range", "quantity": "latest_arrival", "units": ["blue-corps"],
                      "max": dt.datetime(1900, 3, 21, 0, 0)})
    assert v.simulated_median == dt.datetime(1900, 3, 21) and v.holds
    v = verdict(R21, {"kind": "median_range", "quantity": "latest_arrival", "units": ["blue-corps"],
                      "max": dt.datetime(1900, 3, 20, 23, 59)})
    assert not v.holds
    v = verdict(R21, {"kind": "median_range", "quantity": "latest_arrival", "units": ["blue-div-b"],
                      "max": dt.datetime(1900, 3, 1)})
    assert v.holds


def test_a_unit_that_never_arrives_counts_as_never():
    arr = np.zeros((3, 6))
    arr[:, 4] = np.nan
    r = make_results(3, arrival_days=arr)
    v = verdict(r, {"kind": "median_range", "quantity": "latest_arrival", "units": ["blue-corps"],
                    "max": dt.date(1900, 6, 1)})
    assert v.simulated_median is None and not v.holds


def test_results_carry_source_and_text():
    v = verdict(R21, {"kind": "probability", "quantity": "victory.red", "max": 0.5})
    assert (v.name, v.source, v.target_text) == ("t0", SRC["source"], SRC["text"])


def test_targets_must_fit_the_scenario():
    sc = make_scenario()
    with pytest.raises(TargetsError, match="unknown unit 'ghost'"):
        check_against(targets({"kind": "median_range", "quantity": "latest_arrival", "units": ["ghost"],
                               "max": 1.0}), sc)
    with pytest.raises(TargetsError, match="unknown side 'green'"):
        check_against(targets({"kind": "probability", "quantity": "victory.green", "min": 0.5}), sc)
    bad_place = HistoryTargets.model_validate({"scenario": "s", "advance": {"start": "nowhere", "objective": "goal"}})
    with pytest.raises(TargetsError, match="nowhere"):
        check_against(bad_place, sc)
    with pytest.raises(TargetsError, match="advance"):
        check_history(R21, sc, targets({"kind": "median_range", "quantity": "advance_fraction", "max": 1.0},
                                       advance=False))
    with pytest.raises(TargetsError, match="unknown quantity"):
        check_history(R21, sc, targets({"kind": "median_range", "quantity": "morale", "max": 1.0}))


def test_targets_file_errors(tmp_path):
    f = tmp_path / "history_targets.yaml"
    f.write_text("scenario: s\ntargets:\n  - name: x\n    source: s\n    text: t\n    kind: probability\n"
                 "    quantity: objective_lost\n    max: 1.5\n")
    with pytest.raises(TargetsError, match="between 0 and 1"):
        load_targets(f)
    f.write_text("scenario: s\ntargets: [\n")
    with pytest.raises(TargetsError, match=r"history_targets.yaml:3: YAML syntax error"):
        load_targets(f)
    f.write_text("scenario: s\ntargets:\n  - name: x\n    source: s\n    text: t\n    kind: guess\n"
                 "    quantity: objective_lost\n    max: 0.5\n")
    with pytest.raises(TargetsError, match="kind"):
        load_targets(f)
    with pytest.raises(TargetsError, match="missing.yaml: file not found"):
        load_targets(tmp_path / "missing.yaml")


def test_yaml_dates_parse_as_dates(tmp_path):
    f = tmp_path / "history_targets.yaml"
    f.write_text("scenario: s\ntargets:\n  - name: x\n    source: s\n    text: t\n    kind: median_range\n"
                 "    quantity: offensive_end_time\n    min: 1945-05-28\n    max: 1945-06-17\n"
                 "  - name: y\n    source: s\n    text: t\n    kind: median_range\n"
                 "    quantity: latest_arrival\n    units: [a]\n    max: 1945-04-30T23:59:00\n")
    t = load_targets(f)
    assert t.targets[0].min == dt.date(1945, 5, 28)
    assert t.targets[1].max == dt.datetime(1945, 4, 30, 23, 59)


def test_bounds_must_match_the_quantity_type():
    with pytest.raises(TargetsError, match="must be dates"):
        verdict(R21, {"kind": "median_range", "quantity": "offensive_end_time", "max": 5.0})
    with pytest.raises(TargetsError, match="must be numbers"):
        verdict(R21, {"kind": "median_range", "quantity": "advance_km", "max": dt.date(1900, 1, 1)})


# --------------------------------------------------------------------------- the packaged scenario's file


def test_packaged_west_hunan_targets_fit_the_scenario():
    from dataclasses import replace

    from xuefeng.analysis.summary import summarise
    from xuefeng.analysis.targets import load_targets_for
    from xuefeng.scenario import load_scenario

    sc = load_scenario("west-hunan-1945")
    t = load_targets_for("west-hunan-1945")
    check_against(t, sc)  # every side, place and unit it names exists
    kinds = {x.name: x.kind for x in t.targets}
    assert len(kinds) == 12
    assert kinds["chinese-victory"] == "probability" and kinds["zhijiang-held"] == "probability"
    assert kinds["japanese-sickness-exceeds-battle"] == "median_comparison"
    assert all(x.source.strip() and x.text.strip() for x in t.targets)
    # the Shaoyang–Zhijiang line comes from the map, not from code
    assert 100 < t.advance_distance_km(sc) < 250
    # the scenario-specific summary keys come from the aliases
    r = replace(make_results(21), sides=("china", "japan"))
    s = summarise(r, None, t.summary_aliases)
    assert s["p_chinese_victory"] == s["p_victory"]["china"] == pytest.approx(2 / 21)
    assert s["p_zhijiang_lost"] == s["p_objective_lost"]
    assert s["us_aircrew_lost"] == s["aircrew_lost"]["china"]


def test_format_value():
    assert format_value(0.0, "number") == "0"
    assert format_value(0.4912, "number") == "0.49"
    assert format_value(14005.4, "number") == "14,005"
    assert format_value(0.905, "probability") == "90.5%"
    assert format_value(dt.datetime(1945, 6, 7), "time") == "1945-06-07"
    assert format_value(dt.datetime(1945, 6, 7, 18, 0), "time") == "1945-06-07 18:00"
    assert format_value(None, "time") == "never"


def test_battle_casualties_to_day_sums_a_side_s_first_days_of_the_daily_record():
    """battle_casualties_to_day.<side>.<n>: the first n campaign days of Outcome.daily_casualties,
    per replication; a day count outside 1..days, or not a whole number, is refused by name."""
    import dataclasses

    from xuefeng.analysis.quantities import QuantityError, evaluate

    base = make_results(5)
    dc = np.arange(5 * 4 * 2, dtype=float).reshape(5, 4, 2)
    res = dataclasses.replace(base, outcome=dataclasses.replace(base.outcome, daily_casualties=dc))
    blue = list(res.sides).index("blue")
    got = evaluate(res, "battle_casualties_to_day.blue.3")
    assert got.kind == "number" and np.array_equal(got.values, dc[:, :3, blue].sum(axis=1))
    assert np.array_equal(evaluate(res, "battle_casualties_to_day.red.4").values, dc[:, :, 1 - blue].sum(axis=1))
    for bad in ("0", "5", "2.5", "x"):
        with pytest.raises(QuantityError, match=f"battle_casualties_to_day.blue.{bad}"):
            evaluate(res, f"battle_casualties_to_day.blue.{bad}")
    with pytest.raises(QuantityError, match="unknown side"):
        evaluate(res, "battle_casualties_to_day.green.3")
    v = verdict(res, {"kind": "median_range", "quantity": "battle_casualties_to_day.blue.2",
                      "min": float(np.median(dc[:, :2, blue].sum(axis=1)))})
    assert v.holds
