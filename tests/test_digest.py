"""The event digest: a day's engagement steps at one defender become one line naming both sides,
the place and the outcome; orders issued are left out; historical events are marked."""

from __future__ import annotations

import pandas as pd

from engine_scenarios import PROV, base, build, phase, plan, unit
from xuefeng.results.digest import digest, digest_frame


def scenario():
    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.1, name="Red Division"), unit("b", "blue", 27.5, 110.9, name="Blue Brigade")]
    d["plans"] = [plan("red", phase("go", ["r"], "attack", "east"))]
    d["events"] = [{"id": "h", "date": "1950-05-02T00:00:00", "kind": "battle", "description": "A battle.",
                    "units": ["r"], "provenance": PROV}]
    return build(d)


def ev(time, kind, side, units, detail, lat=27.5, lon=110.9):
    return {"replication": 0, "time": pd.Timestamp(time), "kind": kind, "side": side, "units": units, "cell": 1,
            "lat": lat, "lon": lon, "detail": detail}


def test_a_days_fighting_is_one_line_naming_both_sides_and_the_place() -> None:
    sc = scenario()
    events = pd.DataFrame([
        ev("1950-05-02 00:00", "phase_issued", "red", "", "go"),
        ev("1950-05-02 06:00", "engagement", "blue", "b,r", "fighting goes on"),
        ev("1950-05-02 12:00", "engagement", "blue", "b,r", "attack repulsed"),
        ev("1950-05-02 18:00", "engagement", "blue", "b,r", "fighting goes on"),
        ev("1950-05-03 00:00", "engagement", "blue", "b,r", "attackers won; defender retreats"),
        {**ev("1950-05-04 00:00", "engagement", "blue", "b,r", "x"), "replication": 1},
    ])
    items = digest(sc, events)
    eng = [i for i in items if i.kind == "engagement"]
    assert len(eng) == 2  # two days; replication 1 is not this digest's
    assert "Red Division (Red) attacked Blue Brigade (Blue) at East: attack repulsed (3 steps" in eng[0].text
    assert "driven back" in eng[1].text and eng[0].sides == ("red", "blue")
    assert not any(i.kind == "phase_issued" for i in items)
    hist = [i for i in items if i.source == "historical"]
    assert len(hist) == 1 and "A battle." in hist[0].text and "[Red Division]" in hist[0].text
    assert list(digest_frame(items).columns) == ["time", "kind", "sides", "text", "source"]


def test_run_events_prints_the_digest() -> None:
    from typer.testing import CliRunner

    from xuefeng.cli import app

    res = CliRunner().invoke(app, ["run", "--events", "--json"])
    assert res.exit_code == 0, res.output
    import json

    d = json.loads(res.stdout)
    assert d["events"] and {"time", "kind", "sides", "text", "source"} <= set(d["events"][0])
    assert any(e["kind"] == "engagement" and " attacked " in e["text"] for e in d["events"])
    assert any(e["source"] == "historical" for e in d["events"])
