"""Small hand-made scenarios for the engine tests (built with the schema models)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from xuefeng.scenario.schema import Scenario

PROV = {"source": "assumption", "note": "engine test"}
ROAD_LAT = 27.5


def base(**over: Any) -> dict[str, Any]:
    """A 1x1 degree flat theater with a west-east highway at 27.5 N, two towns on it
    ('west' at 110.1 E, 'east' at 110.9 E), two sides red and blue, no units yet."""
    d: dict[str, Any] = {
        "meta": {"name": "engine-test", "title": "t", "start": "1950-05-01T00:00:00",
                 "end": "1950-05-21T00:00:00", "time_step_hours": 6,
                 "sides": [{"id": "red", "name": "Red"}, {"id": "blue", "name": "Blue"}], "provenance": PROV},
        "theater": {
            "bounds": {"west": 110.0, "south": 27.0, "east": 111.0, "north": 28.0},
            "h3_resolution": 6, "default_terrain": "flat",
            "roads": [{"id": "hw", "name": "Highway", "road_class": "highway",
                       "coordinates": [(110.05, ROAD_LAT), (110.95, ROAD_LAT)], "provenance": PROV}],
            "towns": [
                {"id": "west", "name": "West", "location": {"lat": ROAD_LAT, "lon": 110.1}, "provenance": PROV},
                {"id": "east", "name": "East", "location": {"lat": ROAD_LAT, "lon": 110.9}, "provenance": PROV},
                {"id": "north", "name": "North", "location": {"lat": 27.9, "lon": 110.5}, "provenance": PROV},
            ],
        },
        "units": [], "plans": [],
    }
    d.update(over)
    return d


def unit(uid: str, side: str, lat: float, lon: float, men: float = 10000, **kw: Any) -> dict[str, Any]:
    u = {"id": uid, "name": uid, "side": side, "echelon": "division",
         "strength": {"infantry": men * 0.85, "artillery": men * 0.1, "support": men * 0.05},
         "equipment": {"artillery_pieces": men / 500, "mortars": men / 200},
         "location": {"lat": lat, "lon": lon}, "provenance": PROV}
    u.update(kw)
    return u


def phase(pid: str, units: list[str], posture: str, objective: str | None = None, start: str | None =
          "1950-05-01T00:00:00", **kw: Any) -> dict[str, Any]:
    ph = {"id": pid, "name": pid, "units": units, "posture": posture, "provenance": PROV}
    if objective:
        ph["objective"] = objective
    if start:
        ph["start"] = start
    ph.update(kw)
    return ph


def plan(side: str, *phases: dict[str, Any]) -> dict[str, Any]:
    return {"side": side, "phases": list(phases), "provenance": PROV}


def build(d: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(copy.deepcopy(d))


def run_one(sc: Scenario, hours: float, params: Any, keep_series: int = 0):
    """Compile `sc` with `params` and step one replication (seed 0, FixedEngagement) for
    `hours`; returns (compiled, simulation)."""
    from xuefeng.engine import EngineConfig, Simulation, compile_scenario

    c = compile_scenario(sc, params=params, config=EngineConfig())
    sim = Simulation(c, np.arange(1), 0, keep_series=keep_series, engagement=FixedEngagement())
    for _ in range(int(round(hours / c.step_hours))):
        sim.step()
    return c, sim


class FixedEngagement:
    """A transparent stand-in with `EngagementModel.predict_batch`'s signature, for tests
    that need a known answer: p_win and casualty rates follow the force ratio only."""

    def predict_batch(self, att_strength, def_strength, att_artillery=np.nan, def_artillery=np.nan,
                      att_tanks=np.nan, def_tanks=np.nan, air_superiority=np.nan, surprise=np.nan,
                      defender_posture=np.nan, terrain=np.nan, duration_hours=24.0, front_km=np.nan,
                      advantages=None):
        a = np.asarray(att_strength, float)
        d = np.asarray(def_strength, float)
        lr = np.log(a / d) + 0.5 * np.nan_to_num(np.asarray(air_superiority, float))
        p = 1.0 / (1.0 + np.exp(-2.0 * lr))
        rate = 0.01 * np.asarray(duration_hours, float) / 24.0
        return p, a * rate * np.exp(-0.5 * lr), d * rate * np.exp(0.5 * lr)
