"""The scenario commands on good input: validate, schema, scenario list/show, sources."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from xuefeng.cli import app
from xuefeng.scenario import DEFAULT_SCENARIO, read_scenario_data, registry

MINI = Path(__file__).parent / "fixtures" / "scenarios" / "mini"
runner = CliRunner()


def _jsonable(x: Any) -> Any:
    """YAML dates -> ISO strings, as they would be written in JSON."""
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    if isinstance(x, (dt.date, dt.datetime)):
        return x.isoformat()
    return x


def test_validate_ok_prints_summary() -> None:
    result = runner.invoke(app, ["validate", str(MINI)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: Mini test campaign (mini): 7 units")
    assert "1 air group (40 aircraft)" in result.stdout and "3 claims" in result.stdout


def test_schema_is_json_schema_that_accepts_mini_and_rejects_a_typo() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    data = _jsonable(read_scenario_data(MINI))  # the merged form the schema describes
    jsonschema.validate(data, schema)
    raw = _jsonable(yaml.safe_load((MINI / "scenario.yaml").read_text()))  # and the file as written
    jsonschema.validate(raw, schema)
    data["units"][0]["strenght"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_show_json_has_exactly_the_documented_keys() -> None:
    result = runner.invoke(app, ["scenario", "show", str(MINI), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)  # plain JSON on stdout, nothing else
    assert set(out) == {"units", "air_groups", "claims"}
    assert {frozenset(u) for u in out["units"]} == {frozenset(
        {"id", "name", "side", "echelon", "parent", "commander", "strength", "provenance",
         "strength_by_arm", "total_strength"})}
    assert {frozenset(g) for g in out["air_groups"]} == {frozenset(
        {"id", "name", "side", "aircraft", "base", "provenance"})}
    assert {frozenset(c) for c in out["claims"]} == {frozenset(
        {"id", "figure", "category", "side", "source", "unit", "note", "provenance"})}
    units = {u["id"]: u for u in out["units"]}
    assert units["red-army"]["strength"] == 1500 and units["red-army"]["total_strength"] == 15400
    assert units["red-11th-div"]["total_strength"] == 3000 + 2600
    assert all(set(u["provenance"]) == {"source", "note"} for u in out["units"])
    assert out["air_groups"][0]["base"] == "ashford-field"
    assert [c["figure"] for c in out["claims"]] == [2500, 900, 3100]


def test_show_tree_names_units_commanders_sources_and_notes() -> None:
    result = runner.invoke(app, ["scenario", "show", str(MINI), "--notes"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    plain = runner.invoke(app, ["scenario", "show", str(MINI)], env={"COLUMNS": "200"}).stdout
    assert "note: Sources disagree" not in plain and "Col. Cobalt" in plain  # notes only on request
    for text in ("Redland (red): 15,400 men in 4 units", "Blueland (blue): 13,900 men in 3 units",
                 "Col. Cobalt", "7,300 own / 7,300 total", "1,500 own / 15,400 total",
                 "source: Mini Handbook: p. 12", "note: Sources disagree", "uncommitted",
                 "Air groups", "blue-air"):
        assert text in out, text
    # children are drawn under their parent
    assert out.index("Red Army") < out.index("11th Division") < out.index("1st Regiment, 11th Division")


def test_sources_groups_claims_by_side_and_source() -> None:
    result = runner.invoke(app, ["sources", str(MINI)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("Mini Handbook", "Red war diary", "2,500", "900", "3,100", "casualties", "Blue estimate."):
        assert text in out, text
    assert out.index("Blueland") < out.index("Redland")  # grouped: blue's claims, then red's (by side name)


def test_scenario_list_shows_packaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(MINI, tmp_path / "mini")
    monkeypatch.setattr(registry, "data_root", lambda: tmp_path)
    result = runner.invoke(app, ["scenario", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "mini" in result.stdout and "Mini test campaign" in result.stdout


def test_show_and_sources_fail_cleanly_on_bad_input(tmp_path: Path) -> None:
    for args in (["scenario", "show", str(tmp_path / "x.yaml")], ["scenario", "show", "nope", "--json"],
                 ["sources", str(tmp_path)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert result.stdout == ""
        assert result.stderr.startswith("error: ") and "Traceback" not in result.output


def test_packaged_default_scenario_validates() -> None:
    """The embedded West Hunan scenario is packaged and loads."""
    assert DEFAULT_SCENARIO in registry.scenario_names()
    result = runner.invoke(app, ["validate", DEFAULT_SCENARIO])
    assert result.exit_code == 0, result.stderr
    shown = runner.invoke(app, ["scenario", "show", "--json"])
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["units"]
