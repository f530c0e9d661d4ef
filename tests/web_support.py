"""An app over the toy scenario with a synthetic runner, and a live uvicorn server for browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from report_fixtures import toy_results, toy_scenario
from xuefeng.web.app import create_app


def toy_runner(scenario, replications, seed, **_engine):
    return toy_results(scenario, replications=replications, seed=seed)


def toy_app(token: str | None = None, **kw):
    sc = toy_scenario()
    return create_app(token, scenarios={"toy": sc}, default_scenario="toy", runner=toy_runner,
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
