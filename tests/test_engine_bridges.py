"""Bridges (engine bridges.py): a guarded bridge is blown in the enemy's face with its
probability, a blown bridge costs the crossing without it, engineers rebuild it after their
hours whatever the step length, and a scenario that lists no bridges runs as before."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from engine_scenarios import PROV, ROAD_LAT, FixedEngagement, base, build, phase, plan, run_one, unit
from xuefeng.engine import EngineConfig, EngineParams, Simulation, compile_scenario

PARAMS = EngineParams().with_overrides({"command": {"spread": 0.0}})
RIVER_LON = 110.5


def bridge_scenario(bridge: dict | None = None, lat: float = ROAD_LAT, lon: float = 110.1, step_hours: int = 6,
                    posture: str = "attack"):
    """A red division at (lat, lon) ordered to 'east' along the highway, which crosses a
    north-south river at 110.5 E; `bridge`: the listed bridge's fields beyond id, name, river,
    location (none: the crossing is an ordinary road bridge)."""
    d = base()
    d["meta"]["time_step_hours"] = step_hours
    d["theater"]["rivers"] = [{"id": "r", "name": "River", "coordinates": [(RIVER_LON, 27.05), (RIVER_LON, 27.95)],
                               "provenance": PROV}]
    if bridge is not None:
        d["theater"]["bridges"] = [{"id": "b", "name": "Bridge", "river": "r",
                                    "location": {"lat": ROAD_LAT, "lon": RIVER_LON}, "provenance": PROV, **bridge}]
    d["units"] = [unit("red1", "red", lat, lon)]
    d["plans"] = [plan("red", phase("go", ["red1"], posture, "east" if posture == "attack" else None))]
    return build(d)


def run(sc, hours: float, params: EngineParams = PARAMS):
    return run_one(sc, hours, params, keep_series=1)


def hours_to_east(sc, limit_h: float = 240) -> float:
    """Hours until the division stands in 'east' (inf if not by limit_h)."""
    c = compile_scenario(sc, params=PARAMS, config=EngineConfig())
    sim = Simulation(c, np.arange(1), 0, keep_series=0, engagement=FixedEngagement())
    goal = c.field_cells[c.place_field[c.place_ids.index("east")]]
    for k in range(int(limit_h / c.step_hours)):
        sim.step()
        if sim.s.cell[0, 0] == goal:
            return (k + 1) * c.step_hours
    return float("inf")


def events(sim, kind: str):
    e = sim.results("t").events
    return e[e.kind == kind]


def test_a_listed_bridge_is_the_road_edge_over_its_river() -> None:
    c = compile_scenario(bridge_scenario({"guarded_by": "blue"}))
    assert c.n_bridges == 1 and c.bridge_ids == ("b",)
    (a, ka), (b, kb) = c.bridge_edges[0]
    assert c.nbr[a, ka] == b and c.nbr[b, kb] == a
    assert c.bridge_at[a, ka] == 0 and c.bridge_at[b, kb] == 0 and (c.bridge_at >= 0).sum() == 2
    # down, the crossing costs more than the road bridge, in every weather and mode
    assert np.all(c.bridge_down_hours[:, :, 0] > c.edge_hours[:, :, a, ka])
    assert c.bridge_guard[0] == c.side_ids.index("blue") and c.bridge_p[0] == PARAMS.bridges.demolition_probability
    none = compile_scenario(bridge_scenario(None))
    assert none.n_bridges == 0 and (none.bridge_at < 0).all()


def test_bad_bridges_are_named() -> None:
    with pytest.raises(ValidationError, match="unknown river 'nile'"):
        bridge_scenario({"river": "nile"})
    with pytest.raises(ValidationError, match="unknown side 'green'"):
        bridge_scenario({"guarded_by": "green"})
    far = bridge_scenario({"location": {"lat": 27.95, "lon": RIVER_LON}})  # no road crosses the river there
    with pytest.raises(ValueError, match="bridge 'b': no road crosses river 'r'"):
        compile_scenario(far)


def test_a_guarded_bridge_is_blown_in_the_enemys_face_and_slows_the_crossing() -> None:
    standing = hours_to_east(bridge_scenario(None))
    never = hours_to_east(bridge_scenario({"guarded_by": "blue", "demolition_probability": 0.0}))
    blown = hours_to_east(bridge_scenario({"guarded_by": "blue", "demolition_probability": 1.0}))
    # (listing a bridge adds its draws to the random stream, so the other draws differ)
    assert abs(never - standing) <= 24 and standing < 240
    assert never < blown < 240  # it crosses the slow way (or once it is rebuilt)
    c, sim = run(bridge_scenario({"guarded_by": "blue", "demolition_probability": 1.0}), 72)
    ev = events(sim, "bridge_blown")
    assert len(ev) == 1 and ev.side.iloc[0] == "blue" and ev.detail.iloc[0] == "Bridge"  # its name
    # one chance: the guard does not try again
    assert sim.s.bridge_tried[0, 0]


def test_an_unguarded_bridge_is_never_blown() -> None:
    c, sim = run(bridge_scenario({"demolition_probability": 1.0}), 72)
    assert len(events(sim, "bridge_blown")) == 0 and not sim.s.bridge_blown[0, 0]


@pytest.mark.parametrize("step_hours", [3, 6, 12])
def test_engineers_rebuild_a_bridge_after_their_hours_whatever_the_step(step_hours: int) -> None:
    """A bridge down at the start, a division at its west end ordered across: its order takes
    effect after the command delay (24 h without spread) and the bridge stands 24 h
    (rebuild_hours) later, at 48 h, at 3, 6 and 12 h steps. With the carry cap below the
    crossing's hours the division cannot ferry over first."""
    c0 = compile_scenario(bridge_scenario({"blown": True}))
    ends = c0.bridge_ends[0]
    west = ends[np.argmin(c0.x_km[ends])]
    sc = bridge_scenario({"blown": True, "rebuild_hours": 24}, lat=float(c0.lat[west]), lon=float(c0.lon[west]),
                         step_hours=step_hours)
    params = PARAMS.with_overrides({"movement": {"carry_hours_cap": 1.0}})
    c, sim = run(sc, 48, params)
    ev = events(sim, "bridge_rebuilt")
    assert len(ev) == 1 and ev.side.iloc[0] == "red"
    assert (ev.time.iloc[0] - c.start).total_seconds() / 3600 == pytest.approx(48.0)
    assert not sim.s.bridge_blown[0, 0]


def test_no_rebuilding_without_a_unit_waiting_to_cross() -> None:
    c, sim = run(bridge_scenario({"blown": True, "rebuild_hours": 6}, posture="hasty_defence"), 48)
    assert sim.s.bridge_blown[0, 0] and sim.s.bridge_work[0, 0] == 0.0


@pytest.mark.parametrize("command", [["validate"], ["run", "-n", "1"]])
def test_a_bridge_off_the_roads_is_refused_by_the_cli(tmp_path, command: list[str]) -> None:
    import json

    from typer.testing import CliRunner

    from cli_support import one_line_exit_2
    from xuefeng.cli import app

    d = bridge_scenario({"location": {"lat": 27.95, "lon": RIVER_LON}}).model_dump(mode="json", exclude_none=True)
    f = tmp_path / "scenario.yaml"
    f.write_text(json.dumps(d))
    result = CliRunner().invoke(app, [*command, str(f)])
    one_line_exit_2(result, "bridge 'b'", "no road crosses river 'r'")
