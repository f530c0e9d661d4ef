"""Small synthetic scenario and `Results` for the report, plot and web tests.

They do not depend on the engine: a two-sided toy campaign whose units walk
toward each other and lose men, so that tests of presentation are quick and
can check exact figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xuefeng.results.model import CATEGORIES, Outcome, Results
from xuefeng.scenario.schema import Scenario

P = {"source": "assumption", "note": "test fixture"}
START = dt.datetime(1945, 4, 6)
STEP_HOURS = 6


def toy_scenario() -> Scenario:
    """Two sides, a river, roads, towns, an airfield, a small order of battle."""
    def unit(uid, name, side, echelon, parent=None, men=0.0, lat=None, lon=None, commander=None):
        d = {"id": uid, "name": name, "side": side, "echelon": echelon, "parent": parent,
             "strength": {"infantry": men}, "provenance": P, "commander": commander}
        if lat is not None:
            d["location"] = {"lat": lat, "lon": lon}
        return d

    doc = {
        "meta": {"name": "toy", "title": "Toy campaign", "description": "A synthetic test campaign.",
                 "start": START.isoformat(), "end": (START + dt.timedelta(days=10)).isoformat(),
                 "time_step_hours": STEP_HOURS,
                 "sides": [{"id": "blue", "name": "Blue", "color": "#3366cc"},
                           {"id": "red", "name": "Red", "color": "#cc3333"}],
                 "provenance": P},
        "theater": {
            "bounds": {"west": 110.0, "south": 26.5, "east": 111.0, "north": 27.5},
            "h3_resolution": 5,
            "terrain": [{"id": "ridge", "name": "Ridge", "terrain": "mountains", "provenance": P,
                         "polygon": [[110.4, 26.6], [110.6, 26.6], [110.6, 27.4], [110.4, 27.4]]}],
            "rivers": [{"id": "river-a", "name": "River A", "provenance": P,
                        "coordinates": [[110.1, 27.4], [110.3, 27.0], [110.2, 26.6]]}],
            "roads": [{"id": "hw", "name": "Highway", "road_class": "highway", "provenance": P,
                       "coordinates": [[110.1, 27.0], [110.9, 27.0]]},
                      {"id": "tr", "name": "Track", "road_class": "track", "provenance": P,
                       "coordinates": [[110.5, 26.6], [110.5, 27.4]]}],
            "towns": [{"id": "westville", "name": "Westville", "provenance": P,
                       "location": {"lat": 27.0, "lon": 110.15}},
                      {"id": "eastville", "name": "Eastville", "provenance": P,
                       "location": {"lat": 27.0, "lon": 110.85}}],
            "airfields": [{"id": "west-field", "name": "West Field", "side": "blue", "provenance": P,
                           "location": {"lat": 27.1, "lon": 110.15}}],
        },
        "units": [
            unit("blue-army", "Blue Army", "blue", "army", commander="Gen. Azure"),
            unit("blue-1d", "1st Division", "blue", "division", "blue-army", 9000, 27.1, 110.2, "Col. Cobalt"),
            unit("blue-2d", "2nd Division", "blue", "division", "blue-army", 8000, 26.9, 110.2),
            unit("blue-3b", "3rd Brigade", "blue", "brigade", "blue-army", 4000, 27.0, 110.25),
            unit("red-army", "Red Army", "red", "army", commander="Gen. Crimson"),
            unit("red-1d", "Red 1st Division", "red", "division", "red-army", 10000, 27.1, 110.8),
            unit("red-5r", "Red 5th Regiment", "red", "regiment", "red-1d", 3000, 26.9, 110.8),
        ],
        "events": [{"id": "conference", "date": (START + dt.timedelta(days=2)).isoformat(),
                    "kind": "conference", "description": "A conference.", "provenance": P}],
        "claims": [
            {"id": "blue-cas", "figure": 3000, "category": "casualties", "side": "blue",
             "source": "Source One", "provenance": P},
            {"id": "red-killed", "figure": 1500, "category": "killed", "side": "red",
             "source": "Source Two", "note": "official figure", "provenance": P},
            {"id": "red-sick", "figure": 900, "category": "sick", "side": "red",
             "source": "Source Two", "provenance": P},
            {"id": "civ", "figure": 100, "category": "civilian_casualties",
             "source": "Source Three", "provenance": P},
        ],
        "victory": [{"id": "hold-westville", "kind": "hold_objective", "side": "blue",
                     "objective": "westville", "by": (START + dt.timedelta(days=10)).isoformat(),
                     "provenance": P}],
    }
    return Scenario.model_validate(doc)


def toy_results(scenario: Scenario | None = None, replications: int = 1, steps: int = 20,
                seed: int = 7) -> Results:
    """Units walk toward the middle and lose men; replication r scales losses by (1 + r/10)."""
    sc = scenario or toy_scenario()
    units = [u for u in sc.units]
    ids = tuple(u.id for u in units)
    sides = tuple(s.id for s in sc.meta.sides)
    unit_sides = np.array([sides.index(u.side) for u in units])
    R, T, U = replications, steps, len(units)
    times = np.array([np.datetime64(START) + np.timedelta64(STEP_HOURS * k, "h") for k in range(T)],
                     dtype="datetime64[ns]")
    lat = np.full((R, T, U), np.nan)
    lon = np.full((R, T, U), np.nan)
    strength = np.full((R, T, U), np.nan)
    frac = np.linspace(0, 1, T)
    for j, u in enumerate(units):
        if u.location is None:
            continue  # headquarters without a location are not on the map
        toward = 110.5 + (0.05 if u.side == "red" else -0.05)
        lon[:, :, j] = u.location.lon + (toward - u.location.lon) * frac
        lat[:, :, j] = u.location.lat
        loss = 0.25 if u.side == "blue" else 0.35
        for r in range(R):
            strength[r, :, j] = u.strength.total * (1 - loss * (1 + r / 10) * frac)
    # one unit arrives late: off the map for the first quarter
    late = ids.index("blue-3b")
    lat[:, : T // 4, late] = np.nan
    lon[:, : T // 4, late] = np.nan
    strength[:, : T // 4, late] = np.nan
    posture = np.zeros((R, T, U), dtype=np.int8)
    posture[:, T // 2:, :] = 1
    supply = np.clip(1 - 0.5 * frac, 0, 1)[None, :, None] * np.ones((R, T, U))
    series = xr.Dataset(
        {"strength": (("replication", "time", "unit"), strength),
         "lat": (("replication", "time", "unit"), lat),
         "lon": (("replication", "time", "unit"), lon),
         "posture": (("replication", "time", "unit"), posture,
                     {"flag_meanings": "attack hasty_defence"}),
         "supply": (("replication", "time", "unit"), supply),
         "morale": (("replication", "time", "unit"), 0.8 * np.ones((R, T, U))),
         "fatigue": (("replication", "time", "unit"), 0.2 * np.ones((R, T, U)))},
        coords={"replication": np.arange(R), "time": times, "unit": list(ids)},
    )
    ledger = np.zeros((R, U, len(CATEGORIES)))
    for r in range(R):
        for j in range(U):
            s = strength[r, :, j]
            fin = s[np.isfinite(s)]
            lost = float(fin[0] - fin[-1]) if fin.size else 0.0
            ledger[r, j, CATEGORIES.index("killed")] = 0.3 * lost
            ledger[r, j, CATEGORIES.index("wounded")] = 0.5 * lost
            ledger[r, j, CATEGORIES.index("missing")] = 0.1 * lost
            ledger[r, j, CATEGORIES.index("sick")] = 0.1 * lost
    end = np.datetime64(START + dt.timedelta(hours=STEP_HOURS * (T - 1)), "s")
    outcome = Outcome(
        winner=np.array([r % 2 for r in range(R)]),
        objective_lost=np.array([r % 2 == 1 for r in range(R)]),
        advance_km=np.linspace(20, 60, R),
        end_time=np.full(R, end),
        offensive_end_time=np.array([end if r % 3 else np.datetime64("NaT") for r in range(R)],
                                    dtype="datetime64[s]"),
        arrival_time=np.full((R, U), np.datetime64(START, "s")),
    )
    events = pd.DataFrame({
        "replication": [0, 0],
        "time": [pd.Timestamp(START + dt.timedelta(hours=12)), pd.Timestamp(START + dt.timedelta(days=3))],
        "kind": ["combat", "arrival"],
        "side": ["blue", "blue"],
        "units": [["blue-1d", "red-1d"], ["blue-3b"]],
        "cell": ["", ""],
        "lat": [27.1, 27.0],
        "lon": [110.5, 110.25],
        "detail": ["<b>First</b> clash", "3rd Brigade arrives"],
    })
    return Results(
        scenario=sc.meta.name, seed=seed, sides=sides, unit_ids=ids,
        unit_names=tuple(u.name for u in units), unit_sides=unit_sides, start=START,
        step_hours=STEP_HOURS, replication_ids=np.arange(R, dtype=np.int64), ledger=ledger,
        civilian_casualties=np.full(R, 80.0), aircrew_lost=np.zeros((R, len(sides))),
        outcome=outcome, events=events, series=series,
    )


def manoeuvre_count(results: Results) -> int:
    """Units of the series that are somewhere on the map at some step."""
    lat = results.series["lat"].isel(replication=0).values
    return int(np.isfinite(lat).any(axis=0).sum())


def wandering_results(scenario: Scenario, steps: int = 40, replications: int = 1, seed: int = 1) -> Results:
    """Any scenario: units with a location drift toward the theater's centre and lose men."""
    rng = np.random.default_rng(seed)
    units = list(scenario.units)
    ids = tuple(u.id for u in units)
    sides = tuple(s.id for s in scenario.meta.sides)
    R, T, U = replications, steps, len(units)
    b = scenario.theater.bounds
    clat, clon = (b.south + b.north) / 2, (b.west + b.east) / 2
    frac = np.linspace(0, 1, T)[None, :]
    lat = np.full((R, T, U), np.nan)
    lon = np.full((R, T, U), np.nan)
    strength = np.full((R, T, U), np.nan)
    for j, u in enumerate(units):
        if u.location is None:
            continue
        lat[:, :, j] = u.location.lat + (clat - u.location.lat) * 0.3 * frac
        lon[:, :, j] = u.location.lon + (clon - u.location.lon) * 0.3 * frac
        strength[:, :, j] = max(u.strength.total, 1.0) * (1 - 0.3 * frac * rng.uniform(0.5, 1.5))
    times = np.array([np.datetime64(scenario.meta.start.replace(tzinfo=None))
                      + np.timedelta64(scenario.meta.time_step_hours * k, "h") for k in range(T)],
                     dtype="datetime64[ns]")
    dims = ("replication", "time", "unit")
    series = xr.Dataset({"strength": (dims, strength), "lat": (dims, lat), "lon": (dims, lon),
                         "posture": (dims, np.zeros((R, T, U), dtype=np.int8)),
                         "supply": (dims, np.ones((R, T, U))), "morale": (dims, np.ones((R, T, U))),
                         "fatigue": (dims, np.zeros((R, T, U)))},
                        coords={"replication": np.arange(R), "time": times, "unit": list(ids)})
    ledger = np.zeros((R, U, len(CATEGORIES)))
    ledger[:, :, 0] = rng.uniform(0, 500, (R, U))
    end = np.datetime64(scenario.meta.end.replace(tzinfo=None), "s")
    outcome = Outcome(winner=np.zeros(R, dtype=int), objective_lost=np.zeros(R, dtype=bool),
                      advance_km=rng.uniform(10, 100, R), end_time=np.full(R, end),
                      offensive_end_time=np.full(R, np.datetime64("NaT"), dtype="datetime64[s]"),
                      arrival_time=np.full((R, U), np.datetime64(scenario.meta.start.replace(tzinfo=None), "s")))
    return Results(scenario=scenario.meta.name, seed=seed, sides=sides, unit_ids=ids,
                   unit_names=tuple(u.name for u in units),
                   unit_sides=np.array([sides.index(u.side) for u in units]),
                   start=scenario.meta.start, step_hours=scenario.meta.time_step_hours,
                   replication_ids=np.arange(R, dtype=np.int64), ledger=ledger,
                   civilian_casualties=np.zeros(R), aircrew_lost=np.zeros((R, len(sides))),
                   outcome=outcome, events=pd.DataFrame(), series=series)


def west_hunan_case() -> tuple[Scenario, Any, Results]:
    """The default scenario, its hex map and wandering results: the real theater for report,
    map and browser tests."""
    from xuefeng.geo import build_hexmap
    from xuefeng.scenario import DEFAULT_SCENARIO, load_scenario

    sc = load_scenario(DEFAULT_SCENARIO)
    return sc, build_hexmap(sc.theater), wandering_results(sc)
