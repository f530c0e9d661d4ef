"""Loading good scenarios: the mini fixture, GeoJSON merging, names vs paths, the registry.

Also fuzzes the loader: whatever bytes a file holds, the only exception is ScenarioError.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from xuefeng.scenario import (
    Scenario,
    ScenarioError,
    list_scenarios,
    load_scenario,
    read_scenario_data,
    resolve_scenario_file,
    scenario_dir,
)
from xuefeng.scenario import registry
from xuefeng.scenario.geojson import feature_loc
from xuefeng.scenario.schema import ReferenceProblems
from xuefeng.scenario.summary import order_of_battle, subtree_strengths

MINI = Path(__file__).parent / "fixtures" / "scenarios" / "mini"


@pytest.fixture(scope="module")
def mini() -> Scenario:
    return load_scenario(MINI)


def test_mini_loads_with_geojson_merged_after_inline(mini: Scenario) -> None:
    th = mini.theater
    assert [t.id for t in th.towns] == ["ashford", "brackwater"]  # inline first, then the layer
    brack = th.towns[1]
    assert (brack.location.lat, brack.location.lon) == (27.4, 110.8)  # [lon, lat] -> {lat, lon}
    assert brack.population == 8000
    assert brack.provenance.source == "assumption"
    assert [r.id for r in th.roads] == ["ashford-brackwater-road"]
    assert th.roads[0].road_class.value == "highway"
    assert th.roads[0].coordinates[0] == (110.2, 27.5)
    assert th.rivers[0].fordable is False
    assert th.terrain[0].terrain.value == "hills" and th.terrain[0].elevation_m == 400
    assert len(th.terrain[0].polygon) == 5
    assert th.airfields[0].side == "blue"
    assert mini.place("ashford-field").lat == 27.52


def test_mini_order_of_battle(mini: Scenario) -> None:
    assert len(mini.units) == 7
    assert {s.id for s in mini.meta.sides} == {"red", "blue"}
    totals = subtree_strengths(mini)
    for u in mini.units:
        assert totals[u.id] == mini.total_strength(u.id)
    assert totals["red-army"] == mini.side_strength("red") == 15400
    oob = order_of_battle(mini)
    div = next(u for u in oob["units"] if u["id"] == "blue-1st-div")
    assert div["strength"] == 7300 and div["total_strength"] == 7300
    assert div["strength_by_arm"] == {"infantry": 6000, "artillery": 800, "armor": 0, "support": 500}
    assert div["provenance"] == {"source": "Mini Handbook", "note": "p. 12"}


@pytest.mark.parametrize("form", ["folder", "file", "path-object", "yml-suffix"])
def test_load_by_folder_file_or_path(form: str, tmp_path: Path) -> None:
    if form == "folder":
        source: str | Path = str(MINI)
    elif form == "file":
        source = str(MINI / "scenario.yaml")
    elif form == "path-object":
        source = MINI
    else:
        d = tmp_path / "other"
        shutil.copytree(MINI, d)
        (d / "scenario.yaml").rename(d / "campaign.yml")
        source = d / "campaign.yml"
    assert load_scenario(source).meta.name == "mini"


def test_packaged_name_resolves_through_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data"
    shutil.copytree(MINI, root / "mini")
    (root / "not-a-scenario").mkdir()  # a folder without scenario.yaml is not listed
    monkeypatch.setattr(registry, "data_root", lambda: root)
    monkeypatch.chdir(tmp_path)
    assert list_scenarios() == [("mini", "Mini test campaign")]
    assert scenario_dir("mini") == root / "mini"
    assert resolve_scenario_file("mini") == root / "mini" / "scenario.yaml"
    assert load_scenario("mini").meta.title == "Mini test campaign"
    with pytest.raises(ScenarioError, match=r"packaged: mini\)"):
        load_scenario("not-a-scenario")


def test_existing_path_wins_over_packaged_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "data_root", lambda: tmp_path / "nothing")
    shutil.copytree(MINI, tmp_path / "mini")
    monkeypatch.chdir(tmp_path)
    assert resolve_scenario_file("mini") == Path("mini") / "scenario.yaml"


def test_registry_lists_real_package() -> None:
    """Whatever is packaged must list without error and be loadable by name."""
    for name, title in list_scenarios():
        assert name and title
        assert (scenario_dir(name) / "scenario.yaml").is_file()


def test_read_scenario_data_is_the_merged_form() -> None:
    data = read_scenario_data(MINI)
    assert [t["id"] for t in data["theater"]["towns"]] == ["ashford", "brackwater"]
    assert data["theater"]["towns"][1]["location"] == {"lat": 27.4, "lon": 110.8}
    assert "layer" not in data["theater"]["roads"][0]


def test_schema_keeps_locations_without_the_loader() -> None:
    """Python users building a Scenario directly get the located problems too."""
    data = read_scenario_data(MINI)
    data["units"][6]["parent"] = "ghost"
    data["claims"][0]["unit"] = "nobody"
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(data)
    problem = info.value.errors()[0]["ctx"]["error"]
    assert isinstance(problem, ReferenceProblems)
    assert [loc for loc, _ in problem.problems] == [("units", 6, "parent"), ("claims", 0, "unit")]
    assert "units[6].parent: unknown parent 'ghost'" in str(info.value)


def test_feature_loc_maps_fields_to_geojson() -> None:
    assert feature_loc(("location", "lat")) == ("geometry", "coordinates", 1)
    assert feature_loc(("location", "lon")) == ("geometry", "coordinates", 0)
    assert feature_loc(("polygon", 4, 0)) == ("geometry", "coordinates", 0, 4, 0)
    assert feature_loc(("coordinates", 2)) == ("geometry", "coordinates", 2)
    assert feature_loc(("provenance", "note")) == ("properties", "provenance", "note")


# --------------------------------------------------------------------------- fuzzing

_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_MINI_TEXT = (MINI / "scenario.yaml").read_text()


def _load_text(content: bytes) -> None:
    """Write `content` as the scenario of a copy of mini and load it: ok or ScenarioError only."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "s"
        shutil.copytree(MINI, d)
        (d / "scenario.yaml").write_bytes(content)
        try:
            load_scenario(d)
        except ScenarioError as exc:
            text = str(exc)
            assert "\n" not in text and text


@_FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_give_scenario_or_scenario_error(content: bytes) -> None:
    _load_text(content)


@_FUZZ
@given(st.data())
def test_mutated_mini_gives_scenario_or_scenario_error(data: st.DataObject) -> None:
    lines = _MINI_TEXT.splitlines()
    k = data.draw(st.integers(0, len(lines) - 1))
    how = data.draw(st.sampled_from(["delete", "replace-value", "insert"]))
    junk = data.draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=12))
    if how == "delete":
        del lines[k]
    elif how == "replace-value" and ":" in lines[k]:
        lines[k] = lines[k].split(":", 1)[0] + ": " + junk
    else:
        lines.insert(k, junk)
    _load_text(("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass"))
