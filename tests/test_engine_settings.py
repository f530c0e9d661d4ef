"""Engine settings (`engine.yaml` beside a scenario) are typed by the scenario schema: a bad
setting is named with its file, line and path, exit status 2, no traceback, both by
`xuefeng validate` and by the commands that run the engine; parameter overrides must name
engine parameters and have their kind."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xuefeng.cli import app
from xuefeng.engine.compile import EngineSettingsError, check_engine_settings, compile_scenario
from xuefeng.scenario import ScenarioError, load_scenario
from xuefeng.scenario.schema import EngineSettings

PACKAGED = Path(str(files("xuefeng") / "scenario" / "data" / "west-hunan-1945"))


def copy_with(tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    d = tmp_path / "scen"
    shutil.copytree(PACKAGED, d)
    p = d / "engine.yaml"
    text = p.read_text()
    assert old in text, old
    text = text.replace(old, new, 1)
    p.write_text(text)
    return d / "scenario.yaml", text


def params_block() -> str:
    """The packaged engine.yaml's `params:` block (its last), to replace with a test's own."""
    text = (PACKAGED / "engine.yaml").read_text()
    return text[text.index("\nparams:\n"):]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


LOCATED = {
    "misspelt field": ("    guerrilla_intensity: 1.0", "    guerilla_intensity: 1.0",
                       "sides.china.guerilla_intensity", "unknown field"),
    "not a number": ("    guerrilla_intensity: 1.0", "    guerrilla_intensity: lots",
                     "sides.china.guerrilla_intensity", "valid number"),
    "negative factor": ("    disease_factor: 0.5", "    disease_factor: -0.5", "sides.china.disease_factor", ">= 0"),
    "unknown mode": ("    march_mode: foot\n  japan:", "    march_mode: horse\n  japan:", "sides.china.march_mode",
                     "'foot' or 'motor'"),
    "unknown side": ("  japan:", "  nippon:", "sides.nippon", "unknown side 'nippon'"),
    "probability above 1": ("{4: 0.5, 5: 0.55, 6: 0.6}", "{4: 0.5, 5: 0.55, 6: 1.6}",
                            "climate.rain_probability_by_month[6]", "<= 1"),
}


@pytest.mark.parametrize("case", sorted(LOCATED))
def test_bad_setting_is_located_in_engine_yaml(case: str, tmp_path: Path) -> None:
    old, new, path, words = LOCATED[case]
    f, text = copy_with(tmp_path, old, new)
    for args in (["validate", str(f)], ["run", str(f)]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.stdout + result.stderr
        first = result.stderr.splitlines()[0]
        assert "Traceback" not in result.stderr
        needle = new.splitlines()[0].strip()
        assert f"engine.yaml:{line_of(text, needle)}: {path}: " in first, first
        assert words in first, first


@pytest.mark.parametrize(("override", "words"), [
    ("{combatt: {intensity: 1.0}}", "unknown sub-model 'combatt'"),
    ("{combat: {halt_ratio: 0.5}}", "unknown combat field(s) ['halt_ratio']"),
    ("{ai: {halt_ratio: high}}", "ai.halt_ratio: expected a number"),
    ("{movement: {max_hops_per_6h: 4.5}}", "movement.max_hops_per_6h: expected a whole number"),
    ("{movement: {terrain_exertion: [1, 2]}}", "movement.terrain_exertion: expected a list of 8 numbers"),
])
def test_parameter_overrides_are_checked(override: str, words: str, tmp_path: Path) -> None:
    f, _ = copy_with(tmp_path, params_block(), f"\nparams: {override}\n")
    with pytest.raises(EngineSettingsError, match="params"):
        check_engine_settings(load_scenario(f))
    for args in (["validate", str(f)], ["run", str(f)], ["ensemble", str(f), "-n", "2"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.stdout + result.stderr
        assert words in result.stderr and "Traceback" not in result.stderr


def test_good_overrides_reach_the_engine(tmp_path: Path) -> None:
    f, _ = copy_with(tmp_path, params_block(), "\nparams: {movement: {max_hops_per_6h: 5}, ai: {halt_ratio: 1}}\n")
    c = compile_scenario(load_scenario(f))
    assert c.params.movement.max_hops_per_6h == 5 and isinstance(c.params.movement.max_hops_per_6h, int)
    assert c.params.ai.halt_ratio == 1.0


def test_packaged_settings_are_typed(tmp_path: Path) -> None:
    s = load_scenario("west-hunan-1945").engine_settings
    assert isinstance(s, EngineSettings)
    assert s.sides["china"].liaison_system and not s.sides["japan"].liaison_system
    assert s.climate.rain_probability_by_month[5] == pytest.approx(0.55)
    f, _ = copy_with(tmp_path, "  japan:", "  nippon:")
    with pytest.raises(ScenarioError, match="unknown side 'nippon'"):
        load_scenario(f)


def test_each_side_may_have_its_own_doctrine() -> None:
    """engine.yaml `sides.<side>.doctrine` sets the halt/call-off/counterattack rules for that
    side's units only; other AI parameters are refused there; values are checked."""
    import numpy as np

    from engine_scenarios import base, build, phase, plan, unit
    from xuefeng.engine import EngineConfig, SideConfig, compile_scenario, simulate

    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.1), unit("b", "blue", 27.5, 110.3, men=30000)]
    d["plans"] = [plan("red", phase("go", ["r"], "attack", "east")),
                  plan("blue", phase("hold", ["b"], "hasty_defence", "west"))]
    sc = build(d)
    timid = EngineConfig(sides={"blue": SideConfig(doctrine={"counter_ratio": 50.0, "pursue_ratio": 50.0})})
    c = compile_scenario(sc, config=timid)
    blue = c.side_ids.index("blue")
    assert c.side_doctrine["counter_ratio"][blue] == 50.0
    assert c.side_doctrine["counter_ratio"][1 - blue] == compile_scenario(sc).side_doctrine["counter_ratio"][0]
    a = simulate(sc, 4, 0, keep_series=0)
    b = simulate(sc, 4, 0, keep_series=0, config=timid)
    assert not np.array_equal(a.ledger, b.ledger)  # blue no longer counterattacks at 3:1
    import pytest

    with pytest.raises(ValueError, match="cannot differ by side"):
        compile_scenario(sc, config=EngineConfig(sides={"blue": SideConfig(doctrine={"envelop_radius_km": 1.0})}))
    with pytest.raises(ValueError, match="halt_ratio"):
        compile_scenario(sc, config=EngineConfig(sides={"blue": SideConfig(doctrine={"halt_ratio": -1.0})}))


@pytest.mark.parametrize("override, words", [
    ({"combat": {"killed_fraction": -1}}, "from 0 to 1"),
    ({"combat": {"breakpoint_fraction": 3}}, "from 0 to 1"),
    ({"air": {"day_start_hour": 25}}, "from 0 to 24"),
    ({"air": {"day_start_hour": 19}}, "must be before"),
    ({"combat": {"intensity": 1e300}}, "from 0 to 1e+06"),
    ({"combat": {"dig_in_hours": -5}}, "from 0 to"),
])
def test_parameters_outside_their_range_are_refused(override, words) -> None:
    from xuefeng.engine import EngineParams

    with pytest.raises(ValueError, match=words.replace("+", r"\+")):
        EngineParams().with_overrides(override)


def test_every_default_is_inside_its_documented_range() -> None:
    from xuefeng.engine import parameter_table

    for r in parameter_table():
        lo, hi = r["range"]
        vals = r["value"] if isinstance(r["value"], tuple) else (r["value"],)
        assert all(lo <= float(v) <= hi for v in vals), r


def test_a_unit_may_march_otherwise_than_its_side() -> None:
    from engine_scenarios import base, build, phase, plan, unit
    from xuefeng.engine import EngineConfig, SideConfig, compile_scenario

    d = base()
    d["units"] = [unit("p", "red", 27.5, 110.1, march_mode="motor"), unit("i", "red", 27.5, 110.2),
                  unit("b", "blue", 27.5, 110.9)]
    d["plans"] = [plan("red", phase("go", ["p", "i"], "attack", "east"))]
    c = compile_scenario(build(d), config=EngineConfig(sides={"red": SideConfig(march_mode="foot")}))
    assert [int(c.mode[c.unit_ids.index(u)]) for u in ("p", "i", "b")] == [1, 0, 0]


#: The engine defaults that were tuned to West Hunan, and the tuned value West Hunan's engine.yaml
#: now sets for itself (docs/ardennes.md, "Untuned engine defaults").
WEST_HUNAN_TUNED = {
    ("ai", "halt_ratio"): 0.4,
    ("ai", "retreat_ratio"): 0.8,
    ("combat", "cas_men_per_sortie"): 0.15,
    ("medical", "base_incidence_per_day"): 0.0026,
    ("movement", "contact_withdrawal_speed"): 0.22,
    ("civilians", "combat_rate"): 0.018,
    ("civilians", "occupation_rate_per_day"): 0.005,
}


def test_no_engine_default_is_tuned():
    """Tuning belongs to a scenario: an engine default whose docstring says 'tuned' calibrates
    every scenario to one campaign."""
    from xuefeng.engine import parameter_table

    tuned = [f"{r['sub_model']}.{r['name']}" for r in parameter_table() if "tuned" in r["doc"].lower()]
    assert tuned == []


def test_west_hunan_sets_its_tuned_values():
    """West Hunan keeps its calibration in its own engine.yaml, and the engine's defaults differ
    from it (so the scenario, not the engine, carries it)."""
    from xuefeng.engine.compile import EngineParams, find_engine_config
    from xuefeng.scenario import DEFAULT_SCENARIO, load_scenario
    from xuefeng.scenario.registry import scenario_dir

    sc = load_scenario(DEFAULT_SCENARIO)
    cfg = find_engine_config(sc)
    default = EngineParams()
    for (sub, name), value in WEST_HUNAN_TUNED.items():
        assert cfg.params.get(sub, {}).get(name) == value, f"{sub}.{name}"
        assert getattr(getattr(default, sub), name) != value, f"{sub}.{name}"
    # each moved value carries its comment saying it is tuned, and to what
    lines = (scenario_dir(DEFAULT_SCENARIO) / "engine.yaml").read_text().splitlines()
    for (sub, name), _ in WEST_HUNAN_TUNED.items():
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{name}:"))
        comment = []
        for line in reversed(lines[:at]):
            if not line.strip().startswith("#"):
                break
            comment.append(line)
        assert "tuned" in " ".join(comment), f"{sub}.{name} has no comment saying it is tuned"
