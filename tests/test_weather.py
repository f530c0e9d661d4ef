"""Recorded weather (scenario `weather`): dated periods override the climate's daily draw;
overcast grounds strike aircraft without mud, rain does both, clear does neither."""

from __future__ import annotations

import numpy as np
import pytest

from engine_scenarios import PROV, base, build, phase, plan, unit
from xuefeng.engine import EngineConfig, Simulation, compile_scenario


def weather_scenario(periods):
    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.1), unit("b", "blue", 27.5, 110.9)]
    d["plans"] = [plan("red", phase("hold-r", ["r"], "hasty_defence")),
                  plan("blue", phase("hold-b", ["b"], "hasty_defence"))]
    d["air_groups"] = [{"id": "ag", "name": "Air", "side": "red", "aircraft": 100,
                        "sorties_per_aircraft_per_day": 2.0, "missions": ["air_superiority"], "provenance": PROV}]
    d["weather"] = [{"id": f"w{k}", "start": a, "end": b, "condition": cond, "provenance": PROV}
                    for k, (a, b, cond) in enumerate(periods)]
    return build(d)


def days(sc, n_days=15, rainy_climate=True):
    """(rain, overcast, aircraft lost) per day of one replication."""
    cfg = EngineConfig(rain_probability_by_month={5: 1.0 if rainy_climate else 0.0})
    c = compile_scenario(sc, config=cfg)
    sim = Simulation(c, np.arange(1), 0, keep_series=0)
    per_day = 24 // c.step_hours
    out = []
    for _ in range(n_days):
        before = sim.s.aircraft.sum()
        for _ in range(per_day):
            sim.step()
        out.append((bool(sim.s.rain[0]), bool(sim.s.overcast[0]), before - sim.s.aircraft.sum()))
    return out


PERIODS = [("1950-05-01T00:00:00", "1950-05-06T00:00:00", "clear"),
           ("1950-05-06T00:00:00", "1950-05-11T00:00:00", "overcast"),
           ("1950-05-11T00:00:00", "1950-05-16T00:00:00", "rain")]


def test_recorded_weather_overrides_the_climate() -> None:
    d = days(weather_scenario(PERIODS))
    assert [x[:2] for x in d[1:4]] == [(False, False)] * 3  # clear although the climate always rains
    assert [x[:2] for x in d[6:9]] == [(False, True)] * 3
    assert [x[:2] for x in d[11:14]] == [(True, False)] * 3


def test_low_cloud_grounds_aircraft() -> None:
    clear = days(weather_scenario([("1950-05-01T00:00:00", "1950-05-16T00:00:00", "clear")]), rainy_climate=False)
    cloud = days(weather_scenario([("1950-05-01T00:00:00", "1950-05-16T00:00:00", "overcast")]), rainy_climate=False)
    lost_clear = sum(x[2] for x in clear)
    lost_cloud = sum(x[2] for x in cloud)
    assert lost_cloud < 0.6 * lost_clear  # losses follow sorties (air.rain_sortie_factor)


def test_weather_period_needs_start_before_end() -> None:
    with pytest.raises(Exception) as e:
        weather_scenario([("1950-05-06T00:00:00", "1950-05-01T00:00:00", "clear")])
    assert "start < end" in str(e.value)
