"""Bad scenario input: always exit status 2, one message naming file, field path and line; never a traceback.

Each case copies the mini fixture into a temporary folder, breaks one thing,
and runs `xuefeng validate` on it. Expected lines are found in the broken
text itself, so the fixture can change without breaking these tests.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xuefeng.cli import app
from xuefeng.scenario import MAX_FILE_BYTES, ScenarioError, load_scenario

MINI = Path(__file__).parent / "fixtures" / "scenarios" / "mini"


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} not in the text"
    return hits[nth - 1]


@dataclass
class Case:
    arg: str  # what is passed to `xuefeng validate`
    file: str  # file name the message must name
    path: str | None  # field path the message must name
    line: int | None  # line the message must name
    words: tuple[str, ...] = ()  # further words the message must contain


def _copy(tmp: Path) -> Path:
    d = tmp / "scn"
    shutil.copytree(MINI, d)
    return d


def _edit_yaml(tmp: Path, old: str, new: str, count: int = 1) -> tuple[Path, str]:
    d = _copy(tmp)
    f = d / "scenario.yaml"
    text = f.read_text()
    assert old in text, old
    text = text.replace(old, new, count)
    f.write_text(text)
    return d, text


def _edit_geo(tmp: Path, old: str, new: str) -> tuple[Path, str]:
    d = _copy(tmp)
    f = d / "mini.geojson"
    text = f.read_text()
    assert old in text, old
    text = text.replace(old, new, 1)
    f.write_text(text)
    return d, text


def yaml_case(old: str, new: str, path: str, marker: str, *words: str, nth: int = 1) -> Callable[[Path], Case]:
    def make(tmp: Path) -> Case:
        d, text = _edit_yaml(tmp, old, new)
        return Case(str(d), "scenario.yaml", path, line_of(text, marker, nth), words)
    return make


def geo_case(old: str, new: str, path: str, marker: str, *words: str) -> Callable[[Path], Case]:
    def make(tmp: Path) -> Case:
        d, text = _edit_geo(tmp, old, new)
        return Case(str(d), "mini.geojson", path, line_of(text, marker), words)
    return make


def whole_file(content: bytes, *words: str, line: int | None = None) -> Callable[[Path], Case]:
    def make(tmp: Path) -> Case:
        f = tmp / "bad.yaml"
        f.write_bytes(content)
        return Case(str(f), "bad.yaml", None, line, words)
    return make


def missing_file(tmp: Path) -> Case:
    return Case(str(tmp / "nowhere.yaml"), "nowhere.yaml", None, None, ("not found",))


def folder_without_yaml(tmp: Path) -> Case:
    (tmp / "empty-folder").mkdir()
    return Case(str(tmp / "empty-folder"), "empty-folder", None, None, ("scenario.yaml",))


def unknown_name(tmp: Path) -> Case:
    return Case("no-such-campaign-1900", "no-such-campaign-1900", None, None, ("packaged",))


def name_too_long(tmp: Path) -> Case:
    return Case(str(tmp / ("a" * 5000)), "aaaaaaaa", None, None, ("too long",))


def huge_file(tmp: Path) -> Case:
    f = tmp / "huge.yaml"
    with f.open("wb") as fh:  # sparse: costs no disk, but stat() sees its size
        fh.truncate(MAX_FILE_BYTES + 1)
    return Case(str(f), "huge.yaml", None, None, (f"{MAX_FILE_BYTES // 2**20} MB",))


def missing_layer(tmp: Path) -> Case:
    d, text = _edit_yaml(tmp, "layers: [mini.geojson]", "layers: [missing.geojson]")
    return Case(str(d), "scenario.yaml", "theater.layers[0]", line_of(text, "layers:"), ("missing.geojson",))


def deep_nesting(tmp: Path) -> Case:
    f = tmp / "deep.yaml"
    f.write_text("meta: " + "[" * 50_000 + "]" * 50_000 + "\n")
    return Case(str(f), "deep.yaml", None, None, ())


def billion_laughs(tmp: Path) -> Case:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines += ["units: *a8"]
    f = tmp / "laughs.yaml"
    f.write_text("\n".join(lines) + "\n")
    return Case(str(f), "laughs.yaml", None, None, ())


CASES: dict[str, Callable[[Path], Case]] = {
    "yaml-syntax": yaml_case("  sides:\n", "  sides: [\n", "", "- {id: red", "YAML syntax"),
    "wrong-type": yaml_case("aircraft: 40", "aircraft: many", "air_groups[0].aircraft", "aircraft: many",
                            "integer", "'many'"),
    "unknown-field": yaml_case("    commander: Col. Cobalt", "    commandr: Col. Cobalt", "units[1].commandr",
                               "commandr:", "unknown field", "commander"),
    "unknown-parent": yaml_case("parent: red-11th-div\n", "parent: red-12th-div\n", "units[6].parent",
                                "parent: red-12th-div", "unknown parent 'red-12th-div'"),
    "cyclic-parent": yaml_case("    echelon: army\n    commander: Gen. Crimson",
                               "    echelon: army\n    parent: red-11th-div-1st-regt\n    commander: Gen. Crimson",
                               "units[3].parent", "parent: red-11th-div-1st-regt", "cyclic"),
    "duplicate-id": yaml_case("id: red-11th-div\n", "id: red-10th-div\n", "units[5].id", "id: red-10th-div",
                              "duplicate", nth=2),
    "negative-strength": yaml_case("infantry: 6000", "infantry: -5", "units[1].strength.infantry", "infantry: -5",
                                   "must be >= 0", "(got -5)"),
    "outside-theater": yaml_case("location: {lat: 27.5, lon: 110.3}", "location: {lat: 29.5, lon: 110.3}",
                                 "units[1].location", "lat: 29.5", "outside the theater"),
    "date-outside-campaign": yaml_case("arrival: 1950-05-04T00:00:00", "arrival: 1950-06-04T00:00:00",
                                       "units[2].arrival", "arrival: 1950-06-04", "outside the campaign"),
    "assumption-without-note": yaml_case("provenance: {source: assumption, note: flown in; date invented}",
                                         "provenance: {source: assumption}", "units[2].provenance",
                                         "provenance: {source: assumption}", "note"),
    "duplicate-key": yaml_case("    commander: Col. Cobalt", "    commander: Col. Cobalt\n    commander: X", "",
                               "commander: X", "duplicate key"),
    "missing-field": yaml_case("    echelon: regiment\n", "", "units[6].echelon", "id: red-11th-div-1st-regt",
                               "required"),
    "bad-enum": yaml_case("echelon: regiment", "echelon: platoon", "units[6].echelon", "echelon: platoon",
                          "'regiment'", "'platoon'"),
    "yaml-boolean-id": yaml_case("  - id: blue-air\n", "  - id: no\n", "air_groups[0].id", "- id: no", "quote"),
    "timezone-mix": yaml_case("arrival: 1950-05-04T00:00:00", "arrival: 1950-05-04T00:00:00+08:00",
                              "units[2].arrival", "arrival: 1950-05-04", "time zone"),
    "python-tag": yaml_case("title: Mini test campaign", "title: !!python/object/apply:os.getcwd []", "",
                            "python/object", "YAML"),
    "end-before-start": yaml_case("end: 1950-05-11T00:00:00", "end: 1950-04-11T00:00:00", "meta.end",
                                  "end: 1950-04-11", "after 'start'"),
    "unknown-objective": yaml_case("objective: ashford\n        axis", "objective: atlantis\n        axis",
                                   "plans[0].phases[0].objective", "objective: atlantis",
                                   "unknown town/airfield 'atlantis'"),
    "missing-scenario-file": missing_file,
    "folder-without-scenario-yaml": folder_without_yaml,
    "unknown-scenario-name": unknown_name,
    "name-too-long": name_too_long,
    "missing-geojson-layer": missing_layer,
    "non-utf8": whole_file(b"meta:\n  title: ok\n  name: caf\xe9\n", "UTF-8", line=3),
    "empty-file": whole_file(b"", "empty"),
    "only-comments": whole_file(b"# nothing here\n", "no data"),
    "top-level-list": whole_file(b"- meta\n- units\n", "mapping", line=1),
    "top-level-scalar": whole_file(b"just a string\n", "mapping", line=1),
    "control-character": whole_file(b"meta:\n  title: a\x07b\n", "character", line=2),
    "huge-file": huge_file,
    "deep-nesting": deep_nesting,
    "billion-laughs": billion_laughs,
    "geojson-syntax": geo_case('"coordinates": [110.8, 27.4]}', '"coordinates": [110.8, 27.4}', "", "[110.8, 27.4}",
                               "invalid JSON"),
    "geojson-not-collection": geo_case('"type": "FeatureCollection"', '"type": "Feature"', "type", "Feature",
                                       "FeatureCollection"),
    "geojson-wrong-geometry": geo_case('"type": "Point", "coordinates": [110.8, 27.4]',
                                       '"type": "Polygon", "coordinates": [110.8, 27.4]',
                                       "features[3].geometry.type", '"type": "Polygon", "coordinates": [110.8',
                                       "Point"),
    "geojson-unknown-layer": geo_case('"layer": "road"', '"layer": "canal"', "features[2].properties.layer",
                                      '"layer": "canal"', "canal"),
    "geojson-negative-population": geo_case('"population": 8000', '"population": -8000',
                                            "features[3].properties.population", '"population": -8000',
                                            "brackwater", "must be >= 0"),
    "geojson-outside-theater": geo_case('"coordinates": [110.8, 27.4]}', '"coordinates": [112.8, 27.4]}',
                                        "features[3].geometry.coordinates", "[112.8, 27.4]", "outside the theater"),
    "geojson-unknown-property": geo_case('"elevation_m": 400', '"elevation": 400', "features[0].properties.elevation",
                                         '"elevation": 400', "unknown field"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_exits_2_with_located_message(name: str, tmp_path: Path) -> None:
    case = CASES[name](tmp_path)
    result = CliRunner().invoke(app, ["validate", case.arg])
    out = result.stdout + result.stderr
    assert result.exit_code == 2, out
    assert "Traceback" not in out
    assert not isinstance(result.exception, BaseException) or isinstance(result.exception, SystemExit)
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: "), first
    assert case.file in first
    if case.line is not None:
        assert f"{case.file}:{case.line}:" in first, (first, case.line)
    if case.path:
        assert f": {case.path}: " in first, first
    for word in case.words:
        assert word in first, (word, first)


def test_library_raises_scenario_error_with_fields(tmp_path: Path) -> None:
    d, text = _edit_yaml(tmp_path, "infantry: 6000", "infantry: -5")
    with pytest.raises(ScenarioError) as info:
        load_scenario(d)
    err = info.value
    assert err.file is not None and err.file.endswith("scenario.yaml")
    assert err.line == line_of(text, "infantry: -5")
    assert err.path == "units[1].strength.infantry"
    assert err.expected == ">= 0"
    assert err.got == "-5"
    assert "\n" not in str(err)
    assert str(err).endswith("units[1].strength.infantry: must be >= 0 (got -5)")


def test_scenario_error_pickles_with_its_fields(tmp_path: Path) -> None:
    import pickle

    d, _ = _edit_yaml(tmp_path, "infantry: 6000", "infantry: -5")
    with pytest.raises(ScenarioError) as info:
        load_scenario(d)
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.file, copy.line, copy.path, copy.got) == (info.value.file, info.value.line,
                                                           info.value.path, info.value.got)
    assert str(copy) == str(info.value)


def test_several_errors_first_in_file_order_and_counted(tmp_path: Path) -> None:
    d, text = _edit_yaml(tmp_path, "infantry: 6000", "infantry: -5")
    f = d / "scenario.yaml"
    text = text.replace("aircraft: 40", "aircraft: -1").replace("parent: red-11th-div\n", "parent: ghost\n")
    f.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(d)
    err = info.value
    assert err.line == line_of(text, "infantry: -5")
    assert "and 1 more error" in str(err)  # field errors stop the cross-reference pass
    assert [e.path for e in err.errors] == ["units[1].strength.infantry", "air_groups[0].aircraft"]
    result = CliRunner().invoke(app, ["validate", str(d)])
    assert result.exit_code == 2
    assert "air_groups[0].aircraft" in result.stderr  # validate lists the others too


def test_unknown_name_lists_packaged_scenarios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario("no-such-campaign")
    assert "packaged:" in str(info.value)


def test_no_traceback_from_the_real_process(tmp_path: Path) -> None:
    """The installed entry point, not just the test runner, exits 2 without a traceback."""
    d, _ = _edit_yaml(tmp_path, "parent: red-11th-div\n", "parent: red-12th-div\n")
    code = "import sys; from xuefeng.cli import main; sys.argv[0] = 'xuefeng'; main()"
    for arg in (str(d), str(tmp_path / "absent.yaml")):
        proc = subprocess.run([sys.executable, "-c", code, "validate", arg],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
        assert proc.stderr.startswith("error: ")
        assert len(proc.stderr.strip().splitlines()) == 1
