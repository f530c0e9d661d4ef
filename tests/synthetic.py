"""Synthetic `Results` and a small generic scenario with known numbers.

Used by the results, summary, history and CLI tests so that they can check
exact medians and intervals without the engine.

Ledger: ``ledger[r, u, c] = (r + 1) * UNIT_WEIGHTS[u] * (c + 1)``, so a side's
total of category c in replication r is ``(r + 1) * W_side * (c + 1)``; with
21 replications the median is at r = 10 (factor 11), p05 at r = 1 (factor 2)
and p95 at r = 19 (factor 20), exactly.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import xarray as xr

from xuefeng.results.model import CATEGORIES, Outcome, Results
from xuefeng.scenario.schema import Scenario

SIDES = ("red", "blue")
UNIT_IDS = ("red-army", "red-div-1", "red-div-2", "blue-corps", "blue-div-a", "blue-div-b")
UNIT_SIDES = np.array([0, 0, 0, 1, 1, 1])
UNIT_WEIGHTS = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
SIDE_WEIGHT = {"red": 6.0, "blue": 15.0}
START = dt.datetime(1900, 3, 1)
P = {"source": "assumption", "note": "synthetic test data"}


def scenario_dict() -> dict:
    return {
        "meta": {
            "name": "synthetic", "title": "Synthetic", "start": START.isoformat(),
            "end": "1900-06-30T00:00:00", "time_step_hours": 6,
            "sides": [{"id": "red", "name": "Red"}, {"id": "blue", "name": "Blue"}],
            "provenance": P,
        },
        "theater": {
            "bounds": {"west": 10.0, "south": 40.0, "east": 12.0, "north": 42.0},
            "towns": [
                {"id": "origin", "name": "Origin", "location": {"lat": 41.0, "lon": 11.5}, "provenance": P},
                {"id": "goal", "name": "Goal", "location": {"lat": 41.0, "lon": 10.5}, "provenance": P},
            ],
        },
        "units": [
            {"id": "red-army", "name": "Red Army", "side": "red", "echelon": "army", "provenance": P},
            {"id": "red-div-1", "name": "Red 1st Div", "side": "red", "echelon": "division",
             "parent": "red-army", "provenance": P},
            {"id": "red-div-2", "name": "Red 2nd Div", "side": "red", "echelon": "division",
             "parent": "red-army", "provenance": P},
            {"id": "blue-corps", "name": "Blue Corps", "side": "blue", "echelon": "corps", "provenance": P},
            {"id": "blue-div-a", "name": "Blue Div A", "side": "blue", "echelon": "division",
             "parent": "blue-corps", "provenance": P},
            {"id": "blue-div-b", "name": "Blue Div B", "side": "blue", "echelon": "division",
             "provenance": P},
        ],
        "claims": [
            {"id": "blue-killed", "figure": 100, "category": "killed", "side": "blue",
             "source": "Source A", "provenance": P},
            {"id": "blue-cas", "figure": 500, "category": "casualties", "side": "blue",
             "source": "Source A", "provenance": P},
            {"id": "red-deaths", "figure": 70, "category": "total_deaths", "side": "red",
             "source": "Source B", "provenance": P},
            {"id": "red-kw", "figure": 1, "category": "killed_or_wounded", "side": "red",
             "source": "Source B", "provenance": P},
            {"id": "red-losses", "figure": 2, "category": "total_losses", "side": "red",
             "source": "Source B", "provenance": P},
            {"id": "civ", "figure": 300, "category": "civilian_casualties",
             "source": "Source C", "provenance": P},
            {"id": "air", "figure": 5, "category": "aircrew_lost", "side": "blue",
             "source": "Source C", "provenance": P},
            {"id": "blue-corps-killed", "figure": 60, "category": "killed", "side": "blue",
             "unit": "blue-corps", "source": "Source D", "provenance": P},
            {"id": "red-strength", "figure": 80000, "category": "strength", "side": "red",
             "source": "Source D", "provenance": P},
        ],
        "victory": [{"id": "hold-goal", "kind": "hold_objective", "side": "blue", "objective": "goal",
                     "by": "1900-06-30T00:00:00", "provenance": P}],
    }


def make_scenario() -> Scenario:
    return Scenario.model_validate(scenario_dict())


def make_results(n: int = 21, *, first_id: int = 0, seed: int = 7, winners=None, objective_lost=None,
                 advance_km=None, offensive_end_days=None, arrival_days=None,
                 with_series: bool = True, with_events: bool = True) -> Results:
    """A Results of n replications with the numbers the module docstring gives.

    winners: per-replication winner index (default: blue (1) except the
    first 2 replications, which red wins). offensive_end_days /
    arrival_days: days after START (None/NaN entries become NaT).
    """
    r = np.arange(n, dtype=float)
    ledger = ((r + 1)[:, None, None] * UNIT_WEIGHTS[None, :, None]
              * (np.arange(len(CATEGORIES)) + 1)[None, None, :])
    if winners is None:
        winners = np.where(np.arange(n) < 2, 0, 1)
    if objective_lost is None:
        objective_lost = np.arange(n) < 1
    if advance_km is None:
        advance_km = 10.0 * (r + 1)
    start64 = np.datetime64(START, "s")
    end_time = start64 + ((60 + r) * 86400).astype("timedelta64[s]")

    def days(d, shape):
        d = np.asarray(d, dtype=float).reshape(shape)
        out = np.full(shape, np.datetime64("NaT"), dtype="datetime64[s]")
        ok = ~np.isnan(d)
        out[ok] = start64 + (d[ok] * 86400).astype("timedelta64[s]")
        return out

    if offensive_end_days is None:
        offensive_end_days = 50 + r
    if arrival_days is None:
        arrival_days = np.zeros((n, len(UNIT_IDS)))
        arrival_days[:, 4] = 10 + r  # blue-div-a arrives later and later
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    events = pd.DataFrame()
    if with_events:
        events = pd.DataFrame({
            "replication": np.repeat(ids, 2),
            "time": np.repeat(end_time, 2),
            "kind": ["combat", "arrival"] * n,
            "side": ["red", "blue"] * n,
            "units": [["red-div-1", "blue-div-a"], ["blue-div-b"]] * n,
            "cell": np.arange(2 * n, dtype=np.int64) + 613_000_000_000_000_000,
            "lat": np.full(2 * n, 41.0),
            "lon": np.full(2 * n, 11.0),
            "detail": ["attack repulsed", "arrived"] * n,
        })
    series = None
    if with_series:
        k = min(n, 2)
        t = 4
        times = np.array([start64 + np.timedelta64(6 * 3600 * i, "s") for i in range(t)])
        series = xr.Dataset(
            {
                "strength": (("replication", "time", "unit"), np.random.default_rng(0).random((k, t, 6))),
                "cell": (("replication", "time", "unit"),
                         np.full((k, t, 6), 613_000_000_000_000_123, dtype=np.int64)),
                "posture": (("replication", "time", "unit"), np.arange(k * t * 6, dtype=np.int64).reshape(k, t, 6)),
                "broken": (("replication", "time", "unit"), np.zeros((k, t, 6), dtype=bool)),
            },
            coords={"replication": ids[:k], "time": times.astype("datetime64[s]"),
                    "unit": list(UNIT_IDS)},
            attrs={"scenario": "synthetic"},
        )
        series["strength"].attrs["units"] = "men"
        series["posture"].attrs["labels"] = "attack,defend"
    return Results(
        scenario="synthetic", seed=seed, sides=SIDES, unit_ids=UNIT_IDS,
        unit_names=tuple(u.replace("-", " ").title() for u in UNIT_IDS), unit_sides=UNIT_SIDES.copy(),
        start=START, step_hours=6, replication_ids=ids, ledger=ledger,
        civilian_casualties=100.0 * (r + 1), aircrew_lost=np.stack([r + 1, 2 * (r + 1)], axis=1),
        outcome=Outcome(
            winner=np.asarray(winners, dtype=np.int64),
            objective_lost=np.asarray(objective_lost, dtype=bool),
            advance_km=np.asarray(advance_km, dtype=float),
            end_time=end_time,
            offensive_end_time=days(offensive_end_days, (n,)),
            arrival_time=days(arrival_days, (n, len(UNIT_IDS))),
        ),
        events=events, series=series,
    )


def results_equal(a: Results, b: Results) -> None:
    """Assert two Results are equal, field by field."""
    for attr in ("scenario", "seed", "sides", "unit_ids", "unit_names", "start", "step_hours"):
        assert getattr(a, attr) == getattr(b, attr), attr
    for attr in ("unit_sides", "replication_ids", "ledger", "civilian_casualties", "aircrew_lost"):
        np.testing.assert_array_equal(np.asarray(getattr(a, attr)), np.asarray(getattr(b, attr)), err_msg=attr)
    for attr in ("winner", "objective_lost", "advance_km", "end_time", "offensive_end_time", "arrival_time"):
        np.testing.assert_array_equal(getattr(a.outcome, attr), getattr(b.outcome, attr), err_msg=attr)
    if len(a.events.columns) or len(b.events.columns):
        pd.testing.assert_frame_equal(a.events.reset_index(drop=True), b.events.reset_index(drop=True),
                                      check_dtype=False)
    if a.series is None or b.series is None:
        assert a.series is None and b.series is None
    else:
        xr.testing.assert_identical(a.series, b.series)
