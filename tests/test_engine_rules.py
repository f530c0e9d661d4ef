"""Engine-wide rules: outcome bookkeeping, triggers, configuration errors, documentation,
and that the engine knows no scenario."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from engine_scenarios import FixedEngagement, base, build, phase, plan, unit
from xuefeng.engine import EngineConfig, EngineParams, compile_scenario, parameter_table, simulate

ENGINE = Path(__file__).parents[1] / "src" / "xuefeng" / "engine"
MODEL = FixedEngagement()


def _victory(d: dict, holder: str, objective: str) -> dict:
    d["victory"] = [{"id": "v", "kind": "hold_objective", "side": holder, "objective": objective,
                     "by": d["meta"]["end"], "provenance": {"source": "assumption", "note": "t"}}]
    return d


def test_objective_taken_gives_the_attacker_the_win_and_ends_the_campaign() -> None:
    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.1, men=20000), unit("b", "blue", 27.9, 110.9, men=3000)]
    d["plans"] = [plan("red", phase("go", ["r"], "attack", "east")),
                  plan("blue", phase("hold", ["b"], "hasty_defence"))]
    sc = build(_victory(d, "blue", "east"))
    res = simulate(sc, 2, seed=1, engagement=MODEL)
    red = res.sides.index("red")
    assert res.outcome.objective_lost.all()
    assert (res.outcome.winner == red).all()
    assert (res.outcome.end_time < np.datetime64("1950-05-21")).all()
    assert (res.events.kind == "objective_taken").sum() == 2
    # advance measured along the line start -> objective reaches the objective's distance
    c = compile_scenario(sc, config=EngineConfig())
    assert res.outcome.advance_km.min() == pytest.approx(c.line_km, abs=8.0)


def test_defender_wins_when_the_objective_is_held() -> None:
    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.1, men=3000), unit("b", "blue", 27.5, 110.9, men=20000)]
    d["plans"] = [plan("red", phase("go", ["r"], "attack", "east")),
                  plan("blue", phase("hold", ["b"], "prepared_defence", "east"))]
    res = simulate(build(_victory(d, "blue", "east")), 2, seed=1, engagement=MODEL)
    assert (res.outcome.winner == res.sides.index("blue")).all()
    assert not res.outcome.objective_lost.any()


def test_retreat_plan_and_enemy_retreating_trigger() -> None:
    """A beaten attacker calls off its offensive, its withdrawal phase (no start, no trigger)
    takes over, the defender's `enemy_retreating` phase fires, and the campaign ends when the
    attacker is back at its start line."""
    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.1, men=4000), unit("b", "blue", 27.5, 110.6, men=30000)]
    d["plans"] = [plan("red", phase("go", ["r"], "attack", "east"), phase("back", ["r"], "withdrawal", "west",
                                                                           start=None)),
                  plan("blue", phase("hold", ["b"], "prepared_defence"),
                       phase("chase", ["b"], "attack", "west", start=None, trigger="enemy_retreating"))]
    sc = build(_victory(d, "blue", "east"))
    # called off by its losses (the outnumbered rule off: red is outnumbered from the start)
    params = EngineParams().with_overrides({"ai": {"retreat_strength": 0.97, "retreat_ratio": 0.0}})
    res = simulate(sc, 2, seed=3, engagement=MODEL, params=params, config=EngineConfig())
    ev = res.events
    assert (ev.kind == "retreat").any()
    starts = ev[ev.kind == "phase_start"]
    assert {"back", "chase"} <= set(starts.detail)
    assert (~np.isnat(res.outcome.offensive_end_time)).all()
    assert (res.outcome.offensive_end_time == res.outcome.end_time).all()


def test_unknown_trigger_and_bad_engine_config_are_named(tmp_path: Path) -> None:
    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.1)]
    d["plans"] = [plan("red", phase("go", ["r"], "attack", "east", start=None, trigger="full_moon"))]
    with pytest.raises(ValueError, match="full_moon"):
        compile_scenario(build(d), config=EngineConfig())
    with pytest.raises(ValueError, match="liason_system"):
        EngineConfig.from_dict({"sides": {"red": {"liason_system": True}}})
    with pytest.raises(ValueError, match="combat"):
        EngineParams().with_overrides({"combat": {"no_such_field": 1}})


def test_every_parameter_is_documented() -> None:
    rows = parameter_table()
    assert len(rows) > 50
    for r in rows:
        assert len(r["doc"]) > 10, f"{r['sub_model']}.{r['name']} lacks its documentation"
        assert re.search(r"assumption|seed|FM |source|bound|Dupuy|standard|computational|tuned|physical",
                         r["doc"], re.I) or r["name"] in ("start_supply",), f"{r['sub_model']}.{r['name']}: no source"


def test_engine_code_knows_no_scenario() -> None:
    """DESIGN §4: no place names, unit names or dates of the default scenario in engine code."""
    import yaml

    data = yaml.safe_load((ENGINE.parents[0] / "scenario" / "data" / "west-hunan-1945" / "scenario.yaml").read_text())
    names = {data["meta"]["name"]} | {s["id"] for s in data["meta"]["sides"]}
    names |= {u["id"] for u in data["units"]} | {e["id"] for e in data.get("events", [])}
    for pl in data.get("plans", []):
        names |= {ph["id"] for ph in pl["phases"]}
    words = {n for n in names if len(n) > 3}
    words |= {"zhijiang", "shaoyang", "hunan", "1945", "chongqing", "wuyang"}
    code = "\n".join(_code_only(p) for p in ENGINE.glob("*.py"))
    found = sorted(w for w in words if re.search(rf"\b{re.escape(w.lower())}\b", code))
    assert not found, f"engine code names the default scenario: {found}"


def _code_only(path: Path) -> str:
    """Source without comments and docstrings (parameter docs cite their sources, which may
    name the campaign a default was tuned on; code may not)."""
    import io
    import tokenize

    out = []
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type == tokenize.COMMENT:
            continue
        if tok.type == tokenize.STRING and tok.string.lstrip("rbuRBU").startswith(('"""', "'''")):
            continue
        out.append(tok.string.lower())
    return " ".join(out)


def test_campaigns_without_plans_or_with_three_sides_run() -> None:
    d = base()
    # red outnumbers its two enemies together (or it calls its offensive off as outnumbered)
    d["units"] = [unit("r", "red", 27.5, 110.1, men=30000), unit("b", "blue", 27.5, 110.9)]
    res = simulate(build(d), 2, seed=1, engagement=MODEL, config=EngineConfig())
    assert (res.outcome.winner == -1).all()  # no victory condition: no decision
    assert res.ledger[..., 0].sum() == 0  # nobody attacked
    d["meta"]["sides"].append({"id": "green", "name": "Green"})
    d["units"].append(unit("g", "green", 27.9, 110.5))
    d["plans"] = [plan("red", phase("go", ["r"], "attack", "east"))]
    res = simulate(build(d), 2, seed=1, engagement=MODEL, config=EngineConfig())
    assert res.aircrew_lost.shape == (2, 3)
    assert res.ledger[:, 0, 0].sum() > 0  # red fought its way east
