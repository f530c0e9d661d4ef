"""The server's runs execute in a bounded, queued pool of worker processes that die with it."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from web_support import free_port, gated_runner, toy_app, wait_until
from xuefeng.web.app import wait_for_run

LOCAL = "http://127.0.0.1"
#: Longest a test waits for something it is sure will happen (a worker starting, a run ending).
WAIT_S = 120


def _wait_until(pred, what: str, timeout: float = WAIT_S):
    return wait_until(pred, what, timeout)


def _started(gate: Path) -> list[Path]:
    return sorted(gate.parent.glob(gate.name + ".started.*"))


def test_run_executes_in_another_process():
    app = toy_app()
    with TestClient(app, base_url=LOCAL) as c:
        rid = c.post("/api/runs", json={"replications": 2}).json()["id"]
        run = wait_for_run(app, rid, timeout=WAIT_S)
        assert run.status == "done", run.error
        assert run.worker_pid is not None and run.worker_pid != os.getpid()
        assert run.worker_pid in app.state.run_queue().worker_pids()
        assert c.get(f"/api/runs/{rid}").json()["summary"]["replications"] == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_pool_is_bounded_and_queues(tmp_path, workers):
    """With K workers, K runs compute at once and the others wait, queued; status polls
    answer (queued / running) while the runs compute, and every run ends done."""
    gate = tmp_path / "gate"
    app = toy_app(runner=functools.partial(gated_runner, str(gate)), workers=workers)
    with TestClient(app, base_url=LOCAL) as c:
        try:
            ids = [c.post("/api/runs", json={"seed": s}).json()["id"] for s in range(workers + 2)]
            _wait_until(lambda: len(_started(gate)) == workers, f"{workers} runs started")
            states = [c.get(f"/api/runs/{i}").json()["status"] for i in ids]
            assert states.count("running") == workers and states.count("queued") == 2, states
            assert len(_started(gate)) == workers  # no more started while the gate is closed
            pids = {int(p.read_text()) for p in _started(gate)}
            assert len(pids) == workers and os.getpid() not in pids
        finally:
            gate.touch()
        for i in ids:
            run = wait_for_run(app, i, timeout=WAIT_S)
            assert run.status == "done", run.error
        assert len({app.state.runs[i].worker_pid for i in ids}) <= workers


def test_status_answers_while_a_run_computes(tmp_path):
    gate = tmp_path / "gate"
    app = toy_app(runner=functools.partial(gated_runner, str(gate)))
    with TestClient(app, base_url=LOCAL) as c:
        try:
            rid = c.post("/api/runs", json={}).json()["id"]
            first = c.get(f"/api/runs/{rid}").json()
            assert first["status"] in ("queued", "running") and first["summary"] is None
            _wait_until(lambda: _started(gate), "the run started")
            assert c.get(f"/api/runs/{rid}").json()["status"] == "running"
            assert c.get("/api/scenarios").status_code == 200
        finally:
            gate.touch()
        assert wait_for_run(app, rid, timeout=WAIT_S).status == "done"


def test_shutdown_fails_queued_runs(tmp_path):
    gate = tmp_path / "gate"
    app = toy_app(runner=functools.partial(gated_runner, str(gate)))
    with TestClient(app, base_url=LOCAL) as c:
        ids = [c.post("/api/runs", json={"seed": s}).json()["id"] for s in range(2)]
        _wait_until(lambda: _started(gate), "the first run started")
    # the server stopped: the running one abandoned (its worker killed), the queued one never started
    for i in ids:
        assert app.state.runs[i].status == "failed"
    assert "stopped before the run started" in app.state.runs[ids[1]].error
    gate.touch()


def test_a_dead_worker_fails_its_run_and_is_replaced():
    from web_support import DYING_SEED, dying_runner

    app = toy_app(runner=dying_runner)
    with TestClient(app, base_url=LOCAL) as c:
        dead = wait_for_run(app, c.post("/api/runs", json={"seed": DYING_SEED}).json()["id"], timeout=WAIT_S)
        assert dead.status == "failed" and "worker process" in dead.error and "died" in dead.error
        ok = wait_for_run(app, c.post("/api/runs", json={"seed": 1}).json()["id"], timeout=WAIT_S)
        assert ok.status == "done", ok.error
        assert ok.worker_pid != os.getpid()


def _descendants(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(pids: list[int]) -> list[int]:
    import psutil

    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_kill_9_of_server_leaves_no_worker_and_logs_no_token(tmp_path):
    """`xuefeng serve` killed with SIGKILL while a run computes: none of its processes is alive
    10 s later. Its access log shows no token, also one a client put in a URL."""
    secret = "tok-" + "7" * 24
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", "from xuefeng.cli import main; main()", "serve",
                                 "--port", str(port), "--token", secret],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {secret}"}

        def up() -> bool:
            assert proc.poll() is None, log.read_text()
            try:
                return httpx.get(base + "/api/scenarios", headers=auth, timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        _wait_until(up, "the server answers")
        assert httpx.get(f"{base}/api/scenarios?token={secret}", timeout=5).status_code == 401
        r = httpx.post(base + "/api/runs", json={"replications": 20}, headers=auth, timeout=30)
        assert r.status_code == 202, r.text
        rid = r.json()["id"]
        _wait_until(lambda: httpx.get(f"{base}/api/runs/{rid}", headers=auth, timeout=5).json()["status"]
                    == "running", "the run running")
        workers = _wait_until(lambda: _descendants(proc.pid), "a worker process")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(workers), f"processes outlived the killed server: {_alive(workers)}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    text = log.read_text()
    assert "GET /api/scenarios?token=*** HTTP" in text, text
    assert secret not in text
