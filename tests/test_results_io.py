"""Results files: round trip, atomic writing, concatenation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from synthetic import make_results, results_equal

from xuefeng.results import io


def test_round_trip_is_exact(tmp_path):
    r = make_results(21)
    io.save(r, tmp_path / "run", summary={"replications": 21})
    back = io.load(tmp_path / "run")
    results_equal(r, back)
    # the 64-bit H3-sized cell ids survive NetCDF3's 32-bit integers
    assert back.series["cell"].dtype == np.int64
    assert int(back.series["cell"].values[0, 0, 0]) == 613_000_000_000_000_123
    assert back.events["units"].iloc[0] == ["red-div-1", "blue-div-a"]
    assert io.load_summary(tmp_path / "run") == {"replications": 21}


def test_round_trip_without_series_or_events(tmp_path):
    r = make_results(3, with_series=False, with_events=False)
    io.save(r, tmp_path / "run")
    back = io.load(tmp_path / "run")
    results_equal(r, back)
    assert back.series is None
    assert not (tmp_path / "run" / "series.nc").exists()


def test_nat_times_round_trip(tmp_path):
    r = make_results(4, offensive_end_days=[1.0, np.nan, 3.0, np.nan])
    io.save(r, tmp_path / "run")
    back = io.load(tmp_path / "run")
    assert np.isnat(back.outcome.offensive_end_time).tolist() == [False, True, False, True]
    results_equal(r, back)


def test_files_are_readable_tables(tmp_path):
    r = make_results(5)
    io.save(r, tmp_path / "run")
    led = pd.read_parquet(tmp_path / "run" / "ledger.parquet")
    assert len(led) == 5 * len(r.unit_ids)
    assert {"replication", "unit", "killed", "sick"} <= set(led.columns)
    out = pd.read_parquet(tmp_path / "run" / "outcome.parquet")
    assert list(out["winner_side"][:3]) == ["red", "red", "blue"]
    totals = pd.read_parquet(tmp_path / "run" / "side_totals.parquet")
    blue0 = totals[(totals.replication == 0) & (totals.side == "blue")]
    assert float(blue0["killed"].iloc[0]) == 15.0  # (0+1) * (4+5+6) * 1
    manifest = json.loads((tmp_path / "run" / "results.json").read_text())
    assert manifest["seed"] == 7 and manifest["series"] is True


def test_overwrite_replaces_and_drops_stale_files(tmp_path):
    io.save(make_results(3), tmp_path / "run", summary={"a": 1})
    r2 = make_results(5, seed=9, with_series=False)
    io.save(r2, tmp_path / "run")
    results_equal(r2, io.load(tmp_path / "run"))
    assert not (tmp_path / "run" / "series.nc").exists()
    assert not (tmp_path / "run" / "summary.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary folder left


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_interrupted_save_leaves_no_partial_output(tmp_path, monkeypatch, exc):
    real = pd.DataFrame.to_parquet
    calls = {"n": 0}

    def flaky(self, path, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:  # after two files were written
            raise exc
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", flaky)
    with pytest.raises(type(exc)):
        io.save(make_results(3), tmp_path / "run")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a temporary one


def test_interrupted_overwrite_keeps_previous_run(tmp_path, monkeypatch):
    first = make_results(3)
    io.save(first, tmp_path / "run")
    before = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(io.xr.Dataset, "to_netcdf", boom)
    with pytest.raises(KeyboardInterrupt):
        io.save(make_results(4, seed=99), tmp_path / "run")
    after = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    results_equal(first, io.load(tmp_path / "run"))


def test_load_refuses_incomplete_folder(tmp_path):
    io.save(make_results(2), tmp_path / "run")
    (tmp_path / "run" / "results.json").unlink()
    with pytest.raises(io.ResultsFileError, match="interrupted"):
        io.load(tmp_path / "run")
    with pytest.raises(io.ResultsFileError, match="no such"):
        io.load(tmp_path / "nothing")


def test_save_refuses_a_file_as_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(io.ResultsFileError):
        io.save(make_results(2), tmp_path / "f")


def test_concat_keeps_global_ids_and_equals_one_batch():
    whole = make_results(10)
    a = make_results(10)
    # split `whole` into two chunks by slicing its arrays
    def part(lo, hi):
        from dataclasses import replace

        o = whole.outcome
        return replace(
            whole, replication_ids=whole.replication_ids[lo:hi], ledger=whole.ledger[lo:hi],
            civilian_casualties=whole.civilian_casualties[lo:hi], aircrew_lost=whole.aircrew_lost[lo:hi],
            outcome=replace(o, winner=o.winner[lo:hi], objective_lost=o.objective_lost[lo:hi],
                            advance_km=o.advance_km[lo:hi], end_time=o.end_time[lo:hi],
                            offensive_end_time=o.offensive_end_time[lo:hi],
                            arrival_time=o.arrival_time[lo:hi]),
            events=whole.events[whole.events.replication.between(lo, hi - 1)].reset_index(drop=True),
            series=whole.series.isel(replication=slice(lo, min(hi, 2))) if lo < 2 else None)

    joined = io.concat([part(0, 4), part(4, 10)])
    results_equal(a, joined)
    assert joined.replication_ids.tolist() == list(range(10))


def test_concat_refuses_mixed_runs():
    with pytest.raises(ValueError, match="seed"):
        io.concat([make_results(2), make_results(2, first_id=2, seed=8)])
    with pytest.raises(ValueError, match="repeat"):
        io.concat([make_results(2), make_results(2)])
    with pytest.raises(ValueError):
        io.concat([])


def test_concat_of_saved_chunks(tmp_path):
    io.save(make_results(3, first_id=0), tmp_path / "c0")
    io.save(make_results(3, first_id=3, with_series=False), tmp_path / "c1")
    joined = io.concat([io.load(tmp_path / "c0"), io.load(tmp_path / "c1")])
    assert joined.replication_ids.tolist() == [0, 1, 2, 3, 4, 5]
    assert joined.series is not None and joined.series.sizes["replication"] == 2
    assert joined.ledger.shape == (6, 6, 8)


def test_results_package_never_imports_the_engine():
    import subprocess
    import sys

    code = ("import sys, xuefeng.results, xuefeng.results.io; "
            "bad = [m for m in sys.modules if m.startswith(('xuefeng.engine', 'xuefeng.analysis', 'xuefeng.cli'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_engine_style_empty_events_and_untouched_input(tmp_path):
    from dataclasses import replace

    cols = ["replication", "time", "kind", "side", "units", "cell", "lat", "lon", "detail"]
    r = replace(make_results(3), events=pd.DataFrame({k: pd.Series(dtype=object) for k in cols}))
    before = r.series.copy(deep=True)
    io.save(r, tmp_path / "run")
    xr_identical = before.identical(r.series)  # saving must not alter the caller's dataset
    assert xr_identical
    back = io.load(tmp_path / "run")
    assert list(back.events.columns) == cols and len(back.events) == 0
    assert back.series.time.dtype == np.dtype("datetime64[s]")
    results_equal(r, back)


def test_saved_folder_follows_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        io.save(make_results(2), tmp_path / "run")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o755
