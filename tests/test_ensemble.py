"""`xuefeng ensemble`: chunked, parallel, Dask and resumable ensembles give
the replications `simulate` gives, bit for bit, whatever the chunk size,
worker count or backend; a killed run resumes to the same result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ensemble_support import MINI, assert_same_results, cli_app
from typer.testing import CliRunner

from xuefeng.analysis.ensemble import ManifestMismatch, chunk_ranges, default_chunk, run_ensemble
from xuefeng.engine import simulate
from xuefeng.results import io
from xuefeng.scenario import load_scenario

runner = CliRunner()
TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def mini():
    return load_scenario(MINI)


@pytest.fixture(scope="module")
def reference(mini):
    """12 replications of seed 7 in one engine call."""
    return simulate(mini, 12, 7, keep_series=1)


def test_chunk_ranges() -> None:
    assert chunk_ranges(12, 5) == [(0, 5), (5, 5), (10, 2)]
    assert chunk_ranges(3, 7) == [(0, 3)]
    with pytest.raises(ValueError):
        chunk_ranges(0, 5)


def test_default_chunk_keeps_workers_busy_in_engine_sized_batches() -> None:
    assert default_chunk(10_000, 2) == 1024  # large: the engine's batch
    assert default_chunk(1_000, 2) == 250  # two chunks per worker
    assert default_chunk(150, 2) == 100  # not smaller than the old default...
    assert default_chunk(30, 4) == 30  # ...unless the ensemble is
    assert default_chunk(1, 1) == 1


@pytest.mark.parametrize(("chunk", "workers"), [(5, 1), (7, 1), (5, 2), (1, 2)])
def test_chunk_and_worker_invariance(mini, reference, chunk, workers) -> None:
    run = run_ensemble(mini, 12, 7, chunk=chunk, workers=workers)
    assert run.chunks_total == len(chunk_ranges(12, chunk))
    assert_same_results(run.results, reference)


def test_out_folder_holds_chunks_and_manifest(mini, reference, tmp_path) -> None:
    out = tmp_path / "ens"
    run = run_ensemble(mini, 12, 7, chunk=5, out=out)
    m = json.loads((out / "manifest.json").read_text())
    assert m["seed"] == 7 and m["replications"] == 12 and m["chunk"] == 5 and m["complete"] is True
    assert [c["status"] for c in m["chunks"]] == ["done"] * 3
    assert [c["first"] for c in m["chunks"]] == [0, 5, 10]
    part = io.load(out / "chunks" / "chunk-000002")
    assert list(part.replication_ids) == [10, 11]
    assert (out / "chunks" / "chunk-000000" / "series.nc").is_file()  # replication 0 keeps its series
    assert_same_results(run.results, reference)


def test_resume_with_other_arguments_names_the_mismatch(mini, tmp_path) -> None:
    out = tmp_path / "ens"
    run_ensemble(mini, 6, 1, chunk=3, out=out)
    with pytest.raises(ManifestMismatch) as e:
        run_ensemble(mini, 6, 2, chunk=3, out=out, resume=True)
    assert e.value.field == "--seed"
    with pytest.raises(ManifestMismatch) as e:
        run_ensemble(mini, 6, 1, chunk=2, out=out, resume=True)
    assert e.value.field == "--chunk"
    app = cli_app()
    r = runner.invoke(app, ["ensemble", str(MINI), "-n", "7", "--seed", "1", "-c", "3", "--out", str(out),
                            "--resume"])
    assert r.exit_code == 2
    assert "--replications" in r.output and "6" in r.output
    r = runner.invoke(app, ["ensemble", str(MINI), "-n", "6", "--out", str(out)])
    assert r.exit_code == 2 and "--resume" in r.output


def test_resume_reruns_only_missing_chunks(mini, reference, tmp_path) -> None:
    out = tmp_path / "ens"
    run_ensemble(mini, 12, 7, chunk=5, out=out)
    import shutil

    shutil.rmtree(out / "chunks" / "chunk-000001")  # as if killed before this chunk was written
    (out / "chunks" / "chunk-000002" / "results.json").unlink()  # as if killed while writing it
    run = run_ensemble(mini, 12, 7, chunk=5, out=out, resume=True)
    assert (run.chunks_run, run.chunks_reused) == (2, 1)
    assert_same_results(run.results, reference)


def test_json_is_the_run_summary(tmp_path) -> None:
    app = cli_app()
    a = runner.invoke(app, ["run", str(MINI), "-n", "6", "--seed", "3", "--json"])
    b = runner.invoke(app, ["ensemble", str(MINI), "-n", "6", "-c", "4", "--seed", "3", "--json"])
    assert a.exit_code == 0 and b.exit_code == 0, b.output
    assert json.loads(a.stdout) == json.loads(b.stdout)


def test_bad_input_exits_2(tmp_path) -> None:
    app = cli_app()
    for args, word in ((["-n", "0"], "replications"), (["-n", "5", "-c", "0"], "--chunk"),
                       (["-n", "5", "--seed", "x"], "--seed"), (["--resume"], "--out"),
                       (["-n", "5", "--set", "params.combat.nope=1"], "nope")):
        r = runner.invoke(app, ["ensemble", str(MINI), *args])
        assert r.exit_code == 2, (args, r.output)
        assert word in r.output


def test_dask_cluster_gives_the_local_result(mini, reference) -> None:
    """A real scheduler and two worker processes on 127.0.0.1."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        run = run_ensemble(mini, 12, 7, chunk=5, scheduler=cluster.scheduler_address)
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        r = runner.invoke(cli_app(), ["ensemble", str(MINI), "-n", "12", "-c", "4", "--seed", "7", "--json",
                                      "--scheduler", cluster.scheduler_address])
    assert_same_results(run.results, reference)
    assert r.exit_code == 0, r.output
    local = runner.invoke(cli_app(), ["ensemble", str(MINI), "-n", "12", "--seed", "7", "--json"])
    assert json.loads(r.stdout) == json.loads(local.stdout)


def test_unreachable_scheduler_exits_2(monkeypatch) -> None:
    import xuefeng.analysis.ensemble as ens

    monkeypatch.setattr(ens, "CONNECT_TIMEOUT_S", 1.0)
    r = runner.invoke(cli_app(), ["ensemble", str(MINI), "-n", "2", "--scheduler", "tcp://127.0.0.1:9"])
    assert r.exit_code == 2 and "127.0.0.1:9" in r.output


def _processes_naming(path: Path) -> list[int]:
    """Live (not zombie) processes whose command line names `path`."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] != psutil.STATUS_ZOMBIE and str(path) in " ".join(proc.info["cmdline"] or ()):
            found.append(proc.pid)
    return found


def test_kill_9_then_resume_equals_uninterrupted(tmp_path) -> None:
    """SIGKILL a running `xuefeng ensemble --out` once its first chunk is written: no worker process
    of it is left 10 s later, and --resume finishes it to exactly the uninterrupted result
    (nothing lost, nothing repeated)."""
    out = tmp_path / "killed"
    args = [str(MINI), "-n", "80", "-c", "1", "--seed", "9", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(TESTS / "ensemble_support.py"), "ensemble", *args, "--json"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = out / "chunks" / "chunk-000000" / "results.json"
    deadline = time.monotonic() + 120
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.exists(), proc.stderr.read().decode() if proc.poll() is not None else "no chunk in time"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # its worker processes (forked: the same command line) end with it
    deadline = time.monotonic() + 10
    while _processes_naming(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_naming(out), "worker processes outlived the killed command"
    m = json.loads((out / "manifest.json").read_text())
    assert m["complete"] is False
    done_before = sum(c["status"] == "done" for c in m["chunks"])
    assert 1 <= done_before < 80, "the run finished before it was killed; nothing to resume"

    r = runner.invoke(cli_app(), ["ensemble", *args, "--resume", "--json"])
    assert r.exit_code == 0, r.output
    resumed = io.concat([io.load(out / "chunks" / f"chunk-{i:06d}") for i in range(80)])
    full = runner.invoke(cli_app(), ["ensemble", *args[:-1], str(tmp_path / "full"), "--json"])
    assert full.exit_code == 0
    whole = io.concat([io.load(tmp_path / "full" / "chunks" / f"chunk-{i:06d}") for i in range(80)])
    assert_same_results(resumed, whole)
    assert json.loads(r.stdout) == json.loads(full.stdout)
    assert json.loads((out / "manifest.json").read_text())["complete"] is True
    assert not list((out / "chunks").glob(".*"))  # no half-written leftovers


def test_scheduler_without_workers_is_reported(mini, monkeypatch) -> None:
    import xuefeng.analysis.ensemble as ens

    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setattr(ens, "CONNECT_TIMEOUT_S", 1.0)
    with distributed.LocalCluster(host="127.0.0.1", n_workers=0, processes=True,
                                  dashboard_address=None) as cluster:
        with pytest.raises(ens.EnsembleError, match="no workers"):
            run_ensemble(mini, 2, 0, scheduler=cluster.scheduler_address)


def test_dask_jobs_restore_malloc_thresholds_once() -> None:
    """Dask workers run jobs through _run_dask_job, which undoes the nanny's malloc trim setting
    (it halves the engine's speed) once per process and never fails where there is no glibc."""
    from xuefeng.analysis import ensemble as ens

    ens._tune_malloc()
    ens._tune_malloc()
    assert ens._malloc_tuned is True


def test_default_workers_is_one_per_usable_core() -> None:
    import os

    from xuefeng.cli.ensemble_cmds import default_workers

    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    assert default_workers() == max(1, expected)
