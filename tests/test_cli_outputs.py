"""The output layer and the worker/scheduler options: every command refuses a bad `--out` before it works,
with the same words and exit status 2; writes are atomic; `--workers` is capped; `--scheduler` is checked
before any connection, quickly and without a traceback."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xuefeng.cli import app
from xuefeng.cli import outputs

MINI = str(Path(__file__).parent / "fixtures" / "scenarios" / "mini")
ROOT_TYPO = Path("/nonexistent-xuefeng-test-folder")

# command -> (arguments before --out, kind of target, required suffix)
COMMANDS: dict[str, tuple[list[str], str, str]] = {
    "run": (["run", MINI], "folder", ""),
    "ensemble": (["ensemble", MINI, "-n", "2"], "folder", ""),
    "report": (["report", MINI], "file", ".html"),
    "plot": (["plot", "map", MINI], "file", ".png"),
    "sensitivity": (["sensitivity", MINI], "file", ".png"),
    "engagement-predict": (["engagement", "predict", "no-such-input.csv"], "file", ".csv"),
}


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    exc = None if isinstance(result.exception, SystemExit) else result.exception
    assert exc is None, f"{type(exc).__name__}: {exc}"
    assert "Traceback" not in result.output
    return result


def refused(result, out: Path, *words: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: --out {out}: "), lines[0]
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    os.mkfifo(tmp_path / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    yield {"dir": tmp_path, "file": blocker, "pipe": tmp_path / "pipe", "sock": tmp_path / "sock"}
    sock.close()


def _targets(places: dict[str, Path], kind: str, suffix: str) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """Bad targets for a command -> (path, words its refusal must contain)."""
    special = ("exists and is not a folder",) if kind == "folder" else ("not a regular file", "never replaced")
    out = {
        "under-a-file": (places["file"] / f"x{suffix}", ("is a file, not a folder",)),
        "missing-folder-at-root": (ROOT_TYPO / "sub" / f"x{suffix}", ("does not exist", "filesystem root")),
        "name-too-long": (places["dir"] / ("n" * 300 + suffix), ("bytes long (at most 255)",)),
    }
    if not suffix or suffix == ".csv" or kind == "folder":  # the suffix check would answer first
        out["pipe"] = (places["pipe"], ("a named pipe", *special))
        out["socket"] = (places["sock"], ("a socket", *special))
        out["device"] = (Path("/dev/null"), ("a character device", *special))
    return out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_out_is_refused_before_the_work_with_the_same_words(command: str, places: dict[str, Path]) -> None:
    args, kind, suffix = COMMANDS[command]
    for case, (out, words) in _targets(places, kind, suffix).items():
        result = invoke(*args, "--out", str(out))
        refused(result, out, *words)
    assert stat.S_ISFIFO(os.stat(places["pipe"]).st_mode)  # never replaced
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert places["file"].read_text() == "keep me"
    assert not ROOT_TYPO.exists()


def test_file_commands_refuse_a_folder_and_folder_commands_a_file(places: dict[str, Path]) -> None:
    refused(invoke("report", MINI, "--out", str(places["dir"])), places["dir"], "is a folder", "give a file name")
    refused(invoke("run", MINI, "--out", str(places["file"])), places["file"], "exists and is not a folder (a file)")


def test_unwritable_folder_is_refused(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Permission bits do not stop root, so the probe itself is made to fail."""
    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outputs.tempfile, "mkstemp", denied)
    out = places["dir"] / "r.html"
    refused(invoke("report", MINI, "--out", str(out)), out, f"cannot write in {places['dir']}", "Permission denied")


def test_missing_parents_below_an_existing_folder_are_created(tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "report.html"
    result = invoke("report", MINI, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temporary file left


def test_atomic_file_keeps_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), outputs.atomic_file(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".csv"
        tmp.write_text("half a fil")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
    outputs.write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_atomic_file_never_replaces_a_device_that_appeared_meanwhile(tmp_path: Path) -> None:
    import typer

    target = tmp_path / "late"
    with pytest.raises(typer.Exit), outputs.atomic_file(target) as tmp:
        tmp.write_text("data")
        os.mkfifo(target)  # something else took the name while we wrote
    assert stat.S_ISFIFO(os.stat(target).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late"]


def test_predict_writes_through_a_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed mid-write (here: the writer raises), `engagement predict` leaves the previous output whole."""
    import csv

    from engagement_support import HEADER, row

    src = tmp_path / "in.csv"
    src.write_text(",".join(HEADER) + "\n" + ",".join(row()) + "\n")
    out = tmp_path / "pred.csv"
    out.write_text("previous\n")

    class Boom:
        def __init__(self, fh, *a, **k):
            self.fh, self.n = fh, 0

        def writerow(self, r):
            self.fh.write("partial,\n")
            raise KeyboardInterrupt

    monkeypatch.setattr(csv, "writer", Boom)
    result = CliRunner().invoke(app, ["engagement", "predict", str(src), "--out", str(out)])
    assert result.exit_code != 0
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "pred.csv"]


# --------------------------------------------------------------------------- --workers


def test_workers_capped_by_usable_cores_unless_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    import xuefeng.analysis.ensemble as ens
    from xuefeng.cli import ensemble_cmds

    monkeypatch.setattr(ensemble_cmds, "default_workers", lambda: 2)
    seen: list[int] = []

    def fake_run(*a, workers: int, **k):
        seen.append(workers)
        raise ens.EnsembleError("stopped by the test")

    monkeypatch.setattr(ens, "run_ensemble", fake_run)
    r = CliRunner().invoke(app, ["ensemble", MINI, "-n", "4", "--workers", "48"])
    assert r.exit_code == 2 and seen == [2], r.output
    assert "only 2 usable CPU cores; using 2" in r.stderr and "--force-workers" in r.stderr
    r = CliRunner().invoke(app, ["ensemble", MINI, "-n", "4", "--workers", "48", "--force-workers"])
    assert r.exit_code == 2 and seen == [2, 48], r.output
    r = CliRunner().invoke(app, ["ensemble", MINI, "-n", "4", "--workers", "2"])
    assert seen == [2, 48, 2] and "usable" not in r.stderr


def test_workers_option_of_whatif_and_sensitivity_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    from xuefeng.cli import ensemble_cmds

    monkeypatch.setattr(ensemble_cmds, "default_workers", lambda: 3)
    assert ensemble_cmds.local_workers("48", None, False) == 3
    assert ensemble_cmds.local_workers("48", None, True) == 48
    assert ensemble_cmds.local_workers(None, None, False) == 3
    for cmd in (["whatif", MINI, "--list"], ["sensitivity", MINI]):
        r = CliRunner().invoke(app, [*cmd, "--workers", "1", "--force-workers", "--help"])
        assert "--force-workers" in r.output


# --------------------------------------------------------------------------- --scheduler

BAD_ADDRESSES = {
    "garbage": "needs a host and a port",
    "nonsense": "needs a host and a port",
    "": "empty address",
    "tcp://": "needs a host and a port",
    "tcp://[::1": "brackets",
    "tcp://host:99999": "not a valid HOST:PORT",
    "tcp://host:port": "not a valid HOST:PORT",
    "tcp://a b:1": "not a host name",
    "tcp://h:1/path": "only HOST:PORT",
    "ucx://127.0.0.1:8786": "UCX",
    "tls://127.0.0.1:8786": "TLS certificates",
    "inproc://x": "inside one process",
    "http://127.0.0.1:8787": "dashboard",
    "ftp://127.0.0.1:21": "unknown address scheme 'ftp'",
    "tcp://127.0.0.1:9": "Connection refused",
    "tcp://no-such-host.invalid:8786": "cannot resolve host",
}


@pytest.mark.parametrize("address", sorted(BAD_ADDRESSES))
def test_bad_scheduler_address_exits_2_quickly(address: str) -> None:
    t0 = time.monotonic()
    r = invoke("ensemble", MINI, "-n", "2", "--scheduler", address)
    assert time.monotonic() - t0 < 8
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --scheduler "), lines
    assert BAD_ADDRESSES[address] in lines[0], lines[0]


@pytest.mark.parametrize("command", [["whatif", MINI, "-n", "2"], ["sensitivity", MINI]])
def test_every_command_with_scheduler_checks_it(command: list[str]) -> None:
    r = invoke(*command, "--scheduler", "inproc://x")
    assert r.exit_code == 2 and "inside one process" in r.stderr


def test_scheduler_address_normalised() -> None:
    from xuefeng.analysis.ensemble import check_scheduler_address

    assert check_scheduler_address("127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert check_scheduler_address(" TCP://Scheduler.example:8786 ") == "tcp://scheduler.example:8786"
    assert check_scheduler_address("tcp://[::1]:8786") == "tcp://[::1]:8786"


def test_probe_accepts_a_listening_port_and_library_refuses_bad_addresses() -> None:
    from xuefeng.analysis.ensemble import EnsembleError, probe_scheduler, run_ensemble
    from xuefeng.scenario import load_scenario

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        probe_scheduler(f"tcp://127.0.0.1:{srv.getsockname()[1]}", timeout=2)
    with pytest.raises(EnsembleError, match="UCX"):
        run_ensemble(load_scenario(MINI), 2, 0, scheduler="ucx://127.0.0.1:8786")
