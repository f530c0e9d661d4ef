"""The notebook API (`xuefeng.api`, re-exported as `import xuefeng as xf`): each function, the
round trip of a variant through YAML, the DataFrames' columns and dtypes, ensemble loading."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from ensemble_support import MINI, assert_same_results
from typer.testing import CliRunner

import xuefeng as xf
from xuefeng import api
from xuefeng.analysis import whatif
from xuefeng.results import io
from xuefeng.results.model import CATEGORIES

WH = "west-hunan-1945"


@pytest.fixture(scope="module")
def wh():
    return xf.load_scenario(WH)


@pytest.fixture(scope="module")
def mini_run():
    """A small ensemble of the mini scenario, run once for the tests that read results."""
    return xf.run(MINI, replications=5, seed=3, keep_series=2, chunk=2)


# --------------------------------------------------------------------------- the top level


def test_every_api_name_is_reachable_from_the_top_level():
    assert set(api.__all__) == xf._API_NAMES
    for name in api.__all__:
        assert getattr(xf, name) is getattr(api, name), name
    assert set(api.__all__) <= set(dir(xf))
    with pytest.raises(AttributeError):
        xf.no_such_function  # noqa: B018


def test_importing_the_package_stays_light():
    """`import xuefeng` (the CLI's first step) does not pull in pandas/xarray through the API."""
    code = "import sys, xuefeng; print(sorted(m for m in ('pandas', 'xarray', 'xuefeng.api') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_load_scenario_by_packaged_name_or_folder(wh):
    from xuefeng.scenario import scenario_dir

    assert xf.load_scenario(scenario_dir(WH)) == wh
    assert (WH, wh.meta.title) in xf.list_scenarios()
    with pytest.raises(xf.ScenarioError, match="unknown scenario"):
        xf.load_scenario("no-such-scenario")


# --------------------------------------------------------------------------- variants


def test_change_a_units_strength(wh):
    v = xf.change(wh, {"units.116th-division.strength.infantry": 20000})
    assert v.unit("116th-division").strength.infantry == 20000
    assert wh.unit("116th-division").strength.infantry != 20000  # the original is untouched
    assert v.side_strength("japan") == pytest.approx(
        wh.side_strength("japan") - wh.unit("116th-division").strength.infantry + 20000)


def test_change_an_engine_parameter_goes_into_the_scenario_and_runs_as_the_whatif_does(wh):
    path = "params.medical.base_incidence_per_day"
    v = xf.change(wh, {path: 0})
    # the change replaces that one value; the scenario's other (tuned) parameters stay
    want = {k: dict(d) for k, d in wh.engine_settings.params.items()}
    want.setdefault("medical", {})["base_incidence_per_day"] = 0.0
    assert v.engine_settings.params == want
    expected = whatif.apply_set(whatif.Setup.baseline(wh), path, 0)
    assert whatif.Setup.baseline(v).params == expected.params
    assert whatif.Setup.baseline(v).params.medical.base_incidence_per_day == 0.0


def test_change_side_settings_every_side_and_one(wh):
    v = xf.change(wh, {"sides.*.guerrilla_intensity": 0, "sides.japan.march_mode": "motor"})
    cfg = whatif.Setup.baseline(v).config
    assert {s: c.guerrilla_intensity for s, c in cfg.sides.items()} == {"china": 0.0, "japan": 0.0}
    assert cfg.sides["japan"].march_mode == "motor"
    assert cfg.sides["china"].liaison_system  # settings not named are kept


def test_change_rejects_bad_paths_and_values_naming_them(wh):
    with pytest.raises(xf.OverrideError, match="no-such-division"):
        xf.change(wh, {"units.no-such-division.strength.infantry": 1})
    with pytest.raises(xf.OverrideError, match="unknown parameter 'nope'"):
        xf.change(wh, {"params.medical.nope": 1})
    with pytest.raises(xf.OverrideError, match="expected one of foot, motor"):
        xf.change(wh, {"sides.japan.march_mode": "bicycle"})


def test_remove_an_air_group(wh):
    v = xf.remove(wh, "air_groups", id="caf-5th-air-group")
    assert [g.id for g in v.air_groups] == [g.id for g in wh.air_groups if g.id != "caf-5th-air-group"]
    with pytest.raises(xf.OverrideError, match="no item of air_groups matches"):
        xf.remove(v, "air_groups", id="caf-5th-air-group")
    with pytest.raises(xf.OverrideError, match="give the fields"):
        xf.remove(wh, "air_groups")  # an empty match would remove them all
    with pytest.raises(xf.OverrideError, match="unknown parent"):
        xf.remove(wh, "air_groups", id="usaaf-14th-air-force")  # its transport group names it as parent


def test_update_scales_matching_items(wh):
    v = xf.update(wh, "units", side="japan", scale={"strength.infantry": 2})
    for old, new in zip(wh.units, v.units):
        factor = 2 if old.side == "japan" else 1
        assert new.strength.infantry == round(old.strength.infantry * factor)
    air = xf.update(wh, "units", arrival_mode="air", values={"committed": False})
    flown = [u for u in wh.units if u.arrival_mode.value == "air"]
    assert flown and all(not air.unit(u.id).committed for u in flown)
    assert all(air.unit(u.id).committed == u.committed for u in wh.units if u.arrival_mode.value != "air")


@pytest.mark.parametrize("name", sorted(xf.whatifs(WH)))
def test_named_whatif_gives_the_run_the_whatif_mechanism_gives(wh, name):
    """Folded into the scenario, a what-if compiles to the same scenario, parameters and side
    settings as `xuefeng whatif` builds from it."""
    v = xf.apply_whatif(wh, name)
    ref = whatif.apply_whatif(whatif.Setup.baseline(wh), xf.whatifs(WH)[name])
    mine = whatif.Setup.baseline(v)
    assert v.model_dump(exclude={"engine_settings"}) == ref.scenario.model_dump(exclude={"engine_settings"})
    assert mine.params == ref.params
    assert dataclasses.replace(mine.config, params={}) == dataclasses.replace(ref.config, params={})


def test_unknown_named_whatif(wh):
    with pytest.raises(xf.OverrideError, match="unknown what-if 'nope'.*no-us-air"):
        xf.apply_whatif(wh, "nope")


def test_parameters_table_names_what_change_takes(wh):
    df = xf.parameters(xf.change(wh, {"params.medical.base_incidence_per_day": 0}))
    assert list(df.columns) == ["sub_model", "name", "value", "doc"]
    row = df[(df.sub_model == "medical") & (df.name == "base_incidence_per_day")]
    assert row["value"].tolist() == [0.0]
    assert (df["doc"].str.len() > 0).mean() > 0.9


# --------------------------------------------------------------------------- writing a variant


def _variant(wh):
    v = xf.change(wh, {"units.116th-division.strength.infantry": 20000,
                       "params.medical.base_incidence_per_day": 0,
                       "sides.japan.march_mode": "motor", "meta.name": "west-hunan-variant"})
    return xf.remove(v, "air_groups", id="caf-5th-air-group")


def test_variant_round_trips_through_yaml_and_validates(wh, tmp_path):
    from xuefeng.cli import app

    v = _variant(wh)
    folder = xf.save_scenario(v, tmp_path / "variant", companions_from=WH)
    assert sorted(p.name for p in folder.iterdir()) == [
        "engine.yaml", "history_targets.yaml", "map.geojson", "scenario.yaml", "whatifs.yaml"]
    assert xf.load_scenario(folder) == v
    assert xf.load_scenario(folder) != wh
    feats = json.loads((folder / "map.geojson").read_text())["features"]
    assert len(feats) == sum(len(getattr(wh.theater, k)) for k in ("terrain", "rivers", "roads", "towns", "airfields"))
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "west-hunan-variant" in result.output and "6 what-ifs" in result.output


def test_packaged_scenario_round_trips_unchanged(wh, tmp_path):
    assert xf.load_scenario(xf.save_scenario(wh, tmp_path / "copy")) == wh


def test_save_leaves_out_whatifs_the_variant_breaks(wh, tmp_path):
    v = xf.remove(xf.remove(wh, "air_groups", id="usaaf-14th-af-transports"), "air_groups", id="usaaf-14th-air-force")
    with pytest.warns(UserWarning, match="no-us-air"):
        folder = xf.save_scenario(v, tmp_path / "no-usaaf", companions_from=WH)
    kept = xf.whatifs(folder)
    assert "no-us-air" not in kept and set(kept) == set(xf.whatifs(WH)) - {"no-us-air"}
    assert xf.load_scenario(folder) == v


def test_save_refuses_a_non_empty_folder_unless_overwrite(wh, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        xf.save_scenario(wh, tmp_path / "x")
    xf.save_scenario(wh, tmp_path / "x", overwrite=True)
    assert (tmp_path / "x" / "notes.txt").read_text() == "mine"  # only its own files are replaced
    assert not list(tmp_path.glob(".x.tmp-*"))


# --------------------------------------------------------------------------- runs and their tables


def test_run_is_reproducible_and_takes_a_name_or_folder(mini_run):
    again = xf.run(xf.load_scenario(MINI), replications=5, seed=3, keep_series=2, chunk=5)
    assert_same_results(mini_run, again)
    assert mini_run.replications == 5 and list(mini_run.replication_ids) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="replications=0"):
        xf.run(MINI, replications=0)


def test_outcome_frame(mini_run):
    df = mini_run.to_dataframe()  # outcome is the default
    sides = mini_run.sides
    assert list(df.columns) == ["replication", "winner", "winner_side", "objective_lost", "advance_km",
                                "end_time", "offensive_end_time", "civilian_casualties",
                                *(f"aircrew_lost.{s}" for s in sides), "called_off_time"]
    daily = mini_run.to_dataframe("daily")
    assert list(daily.columns) == ["replication", "day", "side", "men", "casualties"]
    assert len(daily) == 5 * mini_run.outcome.daily_men.shape[1] * len(sides)
    np.testing.assert_allclose(daily.groupby("replication")["casualties"].sum().to_numpy(),
                               mini_run.outcome.daily_casualties.sum(axis=(1, 2)))
    assert df.dtypes["replication"] == np.int64 and df.dtypes["winner"] == np.int64
    assert df.dtypes["objective_lost"] == bool and df.dtypes["advance_km"] == np.float64
    assert df.dtypes["end_time"] == "datetime64[s]" and df.dtypes["offensive_end_time"] == "datetime64[s]"
    assert len(df) == 5
    np.testing.assert_array_equal(df["advance_km"], mini_run.outcome.advance_km)
    assert set(df["winner_side"].dropna()) <= set(sides)


def test_ledger_frame_names_the_raw_array(mini_run):
    df = mini_run.to_dataframe("ledger")
    assert list(df.columns) == ["replication", "unit", "unit_name", "side", *CATEGORIES]
    assert all(df.dtypes[c] == np.float64 for c in CATEGORIES)
    assert df.dtypes["replication"] == np.int64
    assert len(df) == mini_run.replications * len(mini_run.unit_ids)
    # row (r, u) holds ledger[r, u, :]
    r, u = 3, len(mini_run.unit_ids) - 1
    row = df[(df.replication == r) & (df.unit == mini_run.unit_ids[u])]
    np.testing.assert_array_equal(row[list(CATEGORIES)].to_numpy()[0], mini_run.ledger[r, u])
    assert row["side"].item() == mini_run.sides[mini_run.unit_sides[u]]
    assert row["unit_name"].item() == mini_run.unit_names[u]
    sides = mini_run.to_dataframe("side_ledger")
    assert list(sides.columns) == ["replication", "side", *CATEGORIES]
    summed = df.groupby(["replication", "side"])[list(CATEGORIES)].sum().reset_index()
    pd.testing.assert_frame_equal(summed, sides.sort_values(["replication", "side"]).reset_index(drop=True))


def test_events_and_arrivals_frames(mini_run):
    ev = mini_run.to_dataframe("events")
    assert list(ev.columns) == ["replication", "time", "kind", "side", "units", "cell", "lat", "lon", "detail"]
    assert ev.dtypes["time"] == "datetime64[s]" and ev.dtypes["replication"] == np.int64
    assert len(ev) > 0 and set(ev["replication"]) <= set(mini_run.replication_ids)
    ev.loc[0, "kind"] = "changed"
    assert mini_run.events.loc[0, "kind"] != "changed"  # a copy: editing it leaves the results alone
    arr = mini_run.to_dataframe("arrivals")
    assert list(arr.columns) == ["replication", "unit", "arrival_time"]
    assert arr.dtypes["arrival_time"] == "datetime64[s]"
    with pytest.raises(ValueError, match="unknown table 'nope'.*ledger"):
        mini_run.to_dataframe("nope")


def test_empty_event_log_still_has_its_columns(mini_run):
    empty = dataclasses.replace(mini_run, events=pd.DataFrame())
    ev = empty.to_dataframe("events")
    assert len(ev) == 0 and list(ev.columns) == list(mini_run.events.columns)
    assert ev.dtypes["time"] == "datetime64[s]"


def test_time_series_is_xarray_with_names(mini_run):
    ts = mini_run.time_series()
    assert ts.sizes["replication"] == 2 and set(ts.dims) == {"replication", "time", "unit"}
    assert "strength" in ts.data_vars
    idx = list(mini_run.unit_ids).index(str(ts["unit"].values[0]))
    assert ts["unit_name"].values[0] == mini_run.unit_names[idx]
    assert ts["side"].values[0] == mini_run.sides[mini_run.unit_sides[idx]]
    with pytest.raises(ValueError, match="keep_series"):
        dataclasses.replace(mini_run, series=None).time_series()


def test_compare_an_unchanged_variant_gives_zero(mini_run):
    same = xf.run(MINI, replications=5, seed=3, keep_series=0)
    df = xf.compare(mini_run, same)
    assert list(df.columns) == ["baseline", "variant", "difference", "p05", "p95"]
    assert df.index.name == "quantity" and "advance_km" in df.index
    assert (df["difference"] == 0).all()


# --------------------------------------------------------------------------- saved runs and ensembles


def test_load_ensemble_equals_the_chunks_joined_by_hand(tmp_path, mini_run):
    folder = tmp_path / "ens"
    ran = xf.run(MINI, replications=5, seed=3, keep_series=2, chunk=2, out=folder)
    chunks = sorted((folder / "chunks").iterdir())
    assert len(chunks) == 3
    by_hand = io.concat([io.load(c) for c in chunks])
    loaded = xf.load_results(folder)
    assert_same_results(loaded, by_hand)
    assert_same_results(loaded, ran)
    assert_same_results(loaded, mini_run)  # chunking changes nothing
    assert [c.replications for c in xf.iter_chunks(folder)] == [2, 2, 1]


def test_load_an_incomplete_ensemble(tmp_path):
    import shutil

    folder = tmp_path / "ens"
    xf.run(MINI, replications=5, seed=3, keep_series=0, chunk=2, out=folder)
    shutil.rmtree(folder / "chunks" / "chunk-000001")
    with pytest.raises(xf.ResultsFileError, match="1 of 3 chunks missing.*--resume"):
        xf.load_results(folder)
    part = xf.load_results(folder, partial=True)
    assert list(part.replication_ids) == [0, 1, 4]


def test_load_a_run_folder_and_bad_folders(tmp_path, mini_run):
    io.save(mini_run, tmp_path / "run")
    assert_same_results(xf.load_results(tmp_path / "run"), mini_run)
    (tmp_path / "empty").mkdir()
    with pytest.raises(xf.ResultsFileError, match="no results.json"):
        xf.load_results(tmp_path / "empty")
    with pytest.raises(xf.ResultsFileError, match="no such results folder"):
        xf.load_results(tmp_path / "missing")


def test_no_warning_when_every_companion_fits(wh, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xf.save_scenario(wh, tmp_path / "copy", companions_from=WH)


# --------------------------------------------------------------------------- the example notebook


def test_example_notebook_runs_end_to_end(tmp_path, monkeypatch):
    """docs/examples/west-hunan.ipynb, every cell, in a kernel of this interpreter (a kernel spec
    written here, so a `python3` kernel installed elsewhere on the machine is never picked)."""
    from pathlib import Path

    nbclient = pytest.importorskip("nbclient")  # the test extra installs it; a plain install may not
    import nbformat

    import xuefeng

    spec = tmp_path / "jupyter" / "kernels" / "xuefeng-test"
    spec.mkdir(parents=True)
    src = str(Path(xuefeng.__file__).resolve().parents[1])
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "xuefeng test", "language": "python",
        "env": {"PYTHONPATH": src}}))  # the kernel imports the xuefeng under test
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    path = Path(__file__).resolve().parents[1] / "docs" / "examples" / "west-hunan.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="xuefeng-test",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the cell if any cell fails
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "P(Chinese victory):" in text
    assert "20 replications from 3 chunks" in text
