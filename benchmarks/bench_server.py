"""`xuefeng serve` under load: latency per route, 5xx count and the server's memory.

    python benchmarks/bench_server.py [--clients 20] [--requests 100] [--pause 0] [--workers 1]

Starts `xuefeng serve` as a subprocess on a free loopback port (killed at the end, also on
Ctrl-C). Each client is a process of its own with one HTTP connection (threads in one
process would wait for each other's GIL, and an asyncio httpx client was slower still: the
latency measured would be the load generator's). Each makes `--requests` requests in a
loop, `--pause` seconds apart (0: as fast as the server answers): GET /api/scenarios, GET /api/scenarios/{name}, GET /api/runs/{id} (a status poll of its
latest run) and, every `POST_EVERY`th request, POST /api/runs with a small run (1 to 5
replications, `overrides.end` SHORT_DAYS after the start), so runs are queued all along.
Then three POSTs with an end date centuries away (each must be refused with 422) and a wait
for every accepted run to end.

Prints p50 / p99 latency per route, the status counts, the 5xx count, and the server's
resident memory (RSS; its worker processes apart) at start (after one warm-up run that
starts the worker), at its peak, after the
far-future requests and once the runs have ended.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict

import httpx

#: One request in this many is a POST /api/runs.
POST_EVERY = 10
#: Days from the scenario's start to a small run's `overrides.end`.
SHORT_DAYS = 3
#: Replications of a small run: drawn from 1 to this.
MAX_SMALL_REPLICATIONS = 5
#: Seconds between two looks at the server's memory.
RSS_EVERY_S = 0.05
#: Longest wait for the server to answer, and for the queued runs to end (seconds).
START_WAIT_S = 60
RUNS_WAIT_S = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of one process (MB): psutil if installed, else /proc."""
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 1e6
    except ImportError:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used: psutil if installed, else /proc."""
    try:
        import psutil

        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except ImportError:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        import psutil

        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except (ImportError, Exception):  # noqa: BLE001 - a figure, not the benchmark's point
        return []


def client(k: int, base: str, name: str, short_end: str, n: int, pause: float, go, out) -> None:
    """One client (a process): n requests, then (route, ms, status) of each and its run ids."""
    rng = random.Random(k)
    mine: str | None = None
    records: list[tuple[str, float, int]] = []
    ids: list[str] = []
    with httpx.Client(base_url=base, timeout=60) as c:
        c.get("/api/scenarios")  # the connection is open before the clock starts
        out.put("ready")
        go.wait()
        for i in range(n):
            t0 = time.perf_counter()
            if i % POST_EVERY == k % POST_EVERY:
                route = "POST /api/runs"
                r = c.post("/api/runs", json={"scenario": name, "seed": rng.randrange(1000),
                                              "replications": rng.randint(1, MAX_SMALL_REPLICATIONS),
                                              "overrides": {"end": short_end}})
            elif mine is not None and i % 3 == 0:
                route = "GET /api/runs/{id}"
                r = c.get(f"/api/runs/{mine}")
            elif i % 3 == 1:
                route = "GET /api/scenarios/{name}"
                r = c.get(f"/api/scenarios/{name}")
            else:
                route = "GET /api/scenarios"
                r = c.get("/api/scenarios")
            records.append((route, (time.perf_counter() - t0) * 1000, r.status_code))
            if route.startswith("POST") and r.status_code == 202:
                mine = r.json()["id"]
                ids.append(mine)
            if pause:
                time.sleep(pause)
    out.put((records, ids))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=100, help="requests per client")
    ap.add_argument("--pause", type=float, default=0.0, help="seconds each client waits between requests")
    ap.add_argument("--workers", type=int, default=1, help="xuefeng serve --workers")
    ap.add_argument("--scenario", default=None, help="scenario name (default: the default scenario)")
    a = ap.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-c", "from xuefeng.cli import main; main()", "serve", "--port", str(port),
           "--workers", str(a.workers)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run(a, server, base)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        server.kill()
        server.wait(timeout=30)


def run(a: argparse.Namespace, server: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while True:
        if server.poll() is not None:
            raise SystemExit(f"xuefeng serve exited with status {server.returncode}")
        try:
            if httpx.get(base + "/api/scenarios", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("xuefeng serve did not answer in time")
        time.sleep(0.1)
    from xuefeng.scenario.registry import DEFAULT_SCENARIO

    name = a.scenario or DEFAULT_SCENARIO
    detail = httpx.get(f"{base}/api/scenarios/{name}").json()
    start = dt.datetime.fromisoformat(detail["start"])
    short_end = (start + dt.timedelta(days=SHORT_DAYS)).isoformat()
    # one run first, so that the worker process is up and the load meets runs computing, not starting
    warm = httpx.post(base + "/api/runs", json={"scenario": name, "replications": 1,
                                                "overrides": {"end": short_end}}, timeout=60).json()["id"]
    while httpx.get(f"{base}/api/runs/{warm}", timeout=60).json()["status"] in ("queued", "running"):
        time.sleep(0.2)
    rss_start = rss_mb(server.pid)

    peak = [rss_start]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set() and server.poll() is None:
            try:
                peak[0] = max(peak[0], rss_mb(server.pid))
            except Exception:  # noqa: BLE001 - the server went away (Ctrl-C): no figure
                return
            time.sleep(RSS_EVERY_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    lat: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[tuple[str, int]] = Counter()
    run_ids: list[str] = []
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=client, args=(k, base, name, short_end, a.requests, a.pause, go, out),
                         daemon=True) for k in range(a.clients)]
    for p in procs:
        p.start()
    for _ in procs:
        assert out.get(timeout=START_WAIT_S) == "ready"
    cpu0 = cpu_s(server.pid)
    t0 = time.perf_counter()
    go.set()
    for _ in procs:
        records, ids = out.get(timeout=RUNS_WAIT_S)
        for route, ms, code in records:
            lat[route].append(ms)
            statuses[(route, code)] += 1
        run_ids.extend(ids)
    load_s = time.perf_counter() - t0
    server_cpu_ms = (cpu_s(server.pid) - cpu0) * 1000
    for p in procs:
        p.join(timeout=30)
    n_req = sum(len(v) for v in lat.values())

    far = [httpx.post(base + "/api/runs", json={"scenario": name, "replications": 1,
                                                 "overrides": {"end": "2445-01-01T00:00:00"}}, timeout=60).status_code
           for _ in range(3)]
    rss_far = rss_mb(server.pid)

    deadline = time.monotonic() + RUNS_WAIT_S
    pending = list(run_ids)
    final: Counter[str] = Counter()
    while pending and time.monotonic() < deadline:
        still = []
        for rid in pending:
            r = httpx.get(f"{base}/api/runs/{rid}", timeout=60)
            st = r.json()["status"] if r.status_code == 200 else f"dropped ({r.status_code}: only the newest are kept)"
            if st in ("queued", "running"):
                still.append(rid)
            else:
                final[st] += 1
        pending = still
        if pending:
            time.sleep(0.5)
    runs_s = time.perf_counter() - t0
    time.sleep(1.0)
    rss_end = rss_mb(server.pid)
    sampling.set()
    sampler.join()
    workers_rss = sum(rss_mb(p) for p in children(server.pid))

    print(f"xuefeng serve --workers {a.workers}; {a.clients} clients × {a.requests} requests, {a.pause} s apart = "
          f"{n_req} in "
          f"{load_s:.1f} s ({n_req / load_s:.0f} requests/s); scenario {name}, small runs 1-"
          f"{MAX_SMALL_REPLICATIONS} replications to {short_end}; {os.cpu_count()} CPU cores")
    print(f"{'route':28s} {'n':>5s} {'p50 ms':>8s} {'p99 ms':>8s}  statuses")
    for route in ("GET /api/scenarios", "GET /api/scenarios/{name}", "GET /api/runs/{id}", "POST /api/runs"):
        xs = lat.get(route, [])
        sts = ", ".join(f"{code}×{n}" for (rt, code), n in sorted(statuses.items()) if rt == route)
        print(f"{route:28s} {len(xs):5d} {pct(xs, 0.5):8.1f} {pct(xs, 0.99):8.1f}  {sts}")
    n5xx = sum(n for (_, code), n in statuses.items() if code >= 500)
    print(f"5xx: {n5xx}; the server's own CPU time during the load: {server_cpu_ms / n_req:.2f} ms per request")
    print(f"far-future overrides.end (2445): statuses {far} (422 = refused before any work)")
    print(f"runs accepted: {len(run_ids)}; ended: {dict(final)}; still pending: {len(pending)}; "
          f"all ended {runs_s:.1f} s after the load began")
    print(f"server RSS: start {rss_start:.0f} MB, peak {peak[0]:.0f} MB, after the far-future requests "
          f"{rss_far:.0f} MB, after the runs ended {rss_end:.0f} MB (its worker processes: {workers_rss:.0f} MB)")


if __name__ == "__main__":
    main()
