"""An app over the toy scenario with a synthetic runner, and a live uvicorn server for browser tests.

The runners run in the app's worker processes, so they are module-level functions (picklable).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from report_fixtures import toy_results, toy_scenario
from xuefeng.web.app import create_app


def toy_runner(scenario, replications, seed, **_engine):
    return toy_results(scenario, replications=replications, seed=seed)


#: Longest a gated run waits for its test to open the gate (a test that failed before opening it).
GATE_WAIT_S = 60


def gated_runner(gate: str, scenario, replications, seed, **_engine):
    """The toy runner, held until the file `gate` exists; it first creates `gate.started.<seed>`
    holding its pid, so a test sees which runs a worker has started. Use with functools.partial."""
    from pathlib import Path

    Path(f"{gate}.started.{seed}").write_text(str(os.getpid()))
    deadline = time.monotonic() + GATE_WAIT_S
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return toy_runner(scenario, replications, seed)


#: The seed at which dying_runner kills its worker process.
DYING_SEED = 13


def dying_runner(scenario, replications, seed, **_engine):
    """The toy runner, except that seed DYING_SEED kills the worker process (as an OOM kill would)."""
    if seed == DYING_SEED:
        os._exit(1)
    return toy_runner(scenario, replications, seed)


def broken_runner(scenario, replications, seed, **_engine):
    raise RuntimeError("engine exploded")


def recording_runner(record: str, scenario, replications, seed, *, params=None, config=None, progress=None):
    """The toy runner that appends to the file `record` one JSON line of what it was given (the
    last unit's infantry, the medical base incidence or None for the engine's defaults) and
    reports its progress. Use with functools.partial."""
    import json

    with open(record, "a") as f:
        f.write(json.dumps({"last_infantry": scenario.units[-1].strength.infantry,
                            "incidence": None if params is None else params.medical.base_incidence_per_day})
                + "\n")
    if progress is not None:
        progress(1, 2)
        progress(2, 2)
    return toy_runner(scenario, replications, seed)


def halfway_runner(gate: str, scenario, replications, seed, *, progress=None, **_engine):
    """Reports a quarter of its steps done, then waits for the file `gate` (functools.partial)."""
    from pathlib import Path

    progress(1, 4)
    deadline = time.monotonic() + GATE_WAIT_S
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return toy_runner(scenario, replications, seed)


def wait_until(pred, what: str, timeout: float = 30.0):
    """pred()'s first true value, polled every 20 ms; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"{what}: not within {timeout} s")


def toy_app(token: str | None = None, runner=toy_runner, **kw):
    sc = toy_scenario()
    return create_app(token, scenarios={"toy": sc}, default_scenario="toy", runner=runner,
                      use_hexmap=False, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app, host: str = "127.0.0.1") -> Iterator[str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not t.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        t.join(timeout=10)
