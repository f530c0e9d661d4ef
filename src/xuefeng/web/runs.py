"""The web server's run queue: runs execute in a bounded pool of worker processes.

Why: a campaign takes seconds of CPU and up to gigabytes of memory. Run in the
server's process it holds the GIL against every request handler (a status poll
waited over a second) and leaves its memory behind. So the server keeps only a
queue of small job descriptions and, per finished run, its compact outcome (the
JSON summary and the gzip-compressed report page); a worker process loads the
scenario by name, applies the overrides, simulates, summarises, renders the
report and sends back just that.

- At most `workers` jobs are handed to the pool at once; the rest wait here, so a
  run's status says truthfully whether it is queued or running.
- Workers are started with "spawn": the server has threads (uvicorn's, the
  handlers' pool), after which fork is unsafe.
- They end with the server however it dies (`kill -9` included) through
  `xuefeng.analysis.lifeline`. The kernel's parent-death signal fires when the
  *thread* that started a worker ends, so every worker is started from one
  long-lived dispatcher thread owned by the queue, never from a request handler's
  pooled thread (those come and go).
- They ignore Ctrl-C (it reaches the whole process group); the server stops them.
- A worker that dies (killed, out of memory) fails the runs in progress with a
  message (the executor cannot tell which worker held which) and the pool is
  rebuilt for the next one.
- A worker reports each run's progress (the share of its time steps simulated)
  on a queue the server reads in a thread of its own, at most every
  `PROGRESS_STEP` of the run.
"""

from __future__ import annotations

import gzip
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

#: Worker processes by default: one run at a time beside the server (the machine's other cores
#: stay with the request handlers and whatever else runs there).
DEFAULT_WORKERS = 1
#: gzip level of the stored report pages (a West Hunan report: 0.76 MB of HTML, 0.11 MB stored).
REPORT_GZIP_LEVEL = 6
#: A worker reports a run's progress when it has grown by this share of its time steps.
PROGRESS_STEP = 0.02

#: `runner(scenario, replications, seed, *, params, config, progress)` -> Results
Runner = Callable[..., Any]


@dataclass(frozen=True)
class Job:
    """What a worker needs for one run: names and numbers only (pickled to the worker)."""

    scenario: str
    replications: int
    seed: int
    overrides: Any = None  # xuefeng.web.app.Overrides
    summary: bool = True
    report: bool = True
    #: the run's id, for its progress reports (None: none sent)
    id: str | None = None
    #: named what-ifs (xuefeng.analysis.whatif.WhatIf), applied in order before the overrides
    whatifs: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back: compact, whatever the run's size."""

    pid: int
    summary: dict[str, Any] | None = None
    report_gz: bytes | None = None
    error: str | None = None
    #: True when the error is the input's (a scenario that cannot be run or shown), not a bug.
    input_error: bool = False


# --------------------------------------------------------------------------- worker side

_SCENARIOS: Mapping[str, Any] | None = None
_LOADED: dict[str, Any] = {}
_RUNNER: Runner | None = None
_USE_HEXMAP = True
_PROGRESS: Any = None  # the server's progress queue


def _init_worker(scenarios: Mapping[str, Any] | None, runner: Runner | None, use_hexmap: bool,
                 parent_pid: int, progress: Any = None) -> None:
    global _SCENARIOS, _RUNNER, _USE_HEXMAP, _PROGRESS
    from xuefeng.analysis.lifeline import tie_to_parent

    tie_to_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _SCENARIOS, _RUNNER, _USE_HEXMAP, _PROGRESS = scenarios, runner, use_hexmap, progress


def _scenario(name: str) -> Any:
    """A served scenario: from the app's mapping, else by name or folder (loaded once)."""
    if _SCENARIOS is not None and name in _SCENARIOS:
        return _SCENARIOS[name]
    if name not in _LOADED:  # parsed once per worker, not per run
        from xuefeng.scenario import load_scenario

        _LOADED[name] = load_scenario(name)
    return _LOADED[name]


def _default_runner(scenario: Any, replications: int, seed: int, *, params: Any = None, config: Any = None,
                    progress: Callable[[int, int], None] | None = None) -> Any:
    from xuefeng.engine import simulate  # the web layer calls the engine's public entry only

    return simulate(scenario, replications=replications, seed=seed, keep_series=1, params=params, config=config,
                    progress=progress)


def _reporter(job_id: str | None) -> Callable[[int, int], None] | None:
    """progress(done, total) that sends (job id, share) to the server every PROGRESS_STEP."""
    if job_id is None or _PROGRESS is None:
        return None
    last = [0.0]

    def progress(done: int, total: int) -> None:
        share = done / total if total else 0.0
        if share - last[0] >= PROGRESS_STEP:
            last[0] = share
            try:
                _PROGRESS.put_nowait((job_id, share))
            except Exception:  # noqa: BLE001 - progress is a courtesy, never a failure
                pass

    return progress


def run_job(job: Job) -> Outcome:
    """Run one job in this (worker) process; every failure becomes an Outcome with an error."""
    from xuefeng.analysis.whatif import Setup, apply_whatif, preflight
    from xuefeng.scenario import ScenarioError
    from xuefeng.viz.data import VizError
    from xuefeng.web.app import Overrides, apply_overrides

    pid = os.getpid()
    try:
        setup = Setup.baseline(_scenario(job.scenario))
        for w in job.whatifs:  # the one override mechanism every command uses
            setup = apply_whatif(setup, w)
        if job.whatifs:
            preflight(setup, "whatifs")
        sc = apply_overrides(setup.scenario, job.overrides or Overrides())  # what-if changes too
        results = (_RUNNER or _default_runner)(sc, job.replications, job.seed, params=setup.params,
                                               config=setup.config, progress=_reporter(job.id))
        summary = None
        if job.summary:
            from xuefeng.analysis.summary import json_safe, summarise

            summary = json_safe(summarise(results, sc))
        report = None
        if job.report and getattr(results, "series", None) is not None:
            report = gzip.compress(_report_html(sc, results).encode(), REPORT_GZIP_LEVEL)
        return Outcome(pid=pid, summary=summary, report_gz=report)
    except (ScenarioError, VizError, ValueError) as e:
        return Outcome(pid=pid, error=f"{type(e).__name__}: {e}", input_error=True)
    except Exception as e:  # noqa: BLE001 - a failed run is reported, not raised
        return Outcome(pid=pid, error=f"{type(e).__name__}: {e}")


def _report_html(scenario: Any, results: Any) -> str:
    from xuefeng.viz.report import build_report

    hexmap = None
    if _USE_HEXMAP:
        from xuefeng.geo import build_hexmap

        hexmap = build_hexmap(scenario.theater)
    return build_report(scenario, results, hexmap)


# --------------------------------------------------------------------------- server side


class RunQueue:
    """A FIFO of jobs fed to at most `workers` worker processes.

    `submit(job, on_start, on_progress)` returns a Future of the job's Outcome at once;
    `on_start()` is called when the job is handed to a worker, `on_progress(share)` as the
    worker reports (for jobs with an id). Nothing here blocks a request handler.
    """

    def __init__(self, workers: int = DEFAULT_WORKERS, *, scenarios: Mapping[str, Any] | None = None,
                 runner: Runner | None = None, use_hexmap: bool = True) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        ctx = multiprocessing.get_context("spawn")
        self._progress_q = ctx.Queue()
        self._on_progress: dict[str, Callable[[float], None]] = {}
        self._initargs = (dict(scenarios) if scenarios is not None else None, runner, use_hexmap, os.getpid(),
                          self._progress_q)
        self._jobs: queue.Queue[tuple[Job, Future, Callable[[], None] | None] | None] = queue.Queue()
        self._free = threading.Semaphore(workers)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- public
    def submit(self, job: Job, on_start: Callable[[], None] | None = None,
               on_progress: Callable[[float], None] | None = None) -> Future:
        fut: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the run queue is shut down")
            if self._thread is None:
                self._thread = threading.Thread(target=self._dispatch, name="xuefeng-run-queue", daemon=True)
                self._thread.start()
                threading.Thread(target=self._read_progress, name="xuefeng-run-progress", daemon=True).start()
            if job.id is not None and on_progress is not None:
                self._on_progress[job.id] = on_progress
        if job.id is not None:
            fut.add_done_callback(lambda _f, k=job.id: self._on_progress.pop(k, None))
        self._jobs.put((job, fut, on_start))
        return fut

    def worker_pids(self) -> list[int]:
        """The pids of the live worker processes (for tests and the benchmark)."""
        pool = self._pool
        procs = getattr(pool, "_processes", None) or {}
        return [p.pid for p in list(procs.values()) if p.pid is not None and p.is_alive()]

    def shutdown(self) -> None:
        """Fail what waits, stop the workers now (a run in progress is abandoned)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[1].cancel()
        self._jobs.put(None)
        self._progress_q.put(None)
        self._stop_pool()  # frees the dispatcher if it waits for a busy worker
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._stop_pool()

    # -- progress reader thread
    def _read_progress(self) -> None:
        while True:
            try:
                item = self._progress_q.get()
            except (EOFError, OSError, ValueError):  # the queue was closed: the server stops
                return
            if item is None:
                return
            job_id, share = item
            cb = self._on_progress.get(job_id)
            if cb is not None:
                cb(float(share))

    # -- dispatcher thread
    def _dispatch(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, fut, on_start = item
            self._free.acquire()
            if self._closed:
                fut.cancel()
            if fut.cancelled() or not fut.set_running_or_notify_cancel():
                self._free.release()
                continue
            if on_start is not None:
                on_start()
            try:
                pool = self._ensure_pool()
                inner = pool.submit(run_job, job)
            except Exception as e:  # noqa: BLE001 - the pool could not start a worker
                self._free.release()
                fut.set_exception(e)
                continue
            inner.add_done_callback(lambda f, outer=fut: self._finished(f, outer))

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._broken:
            self._stop_pool()
        with self._lock:
            if self._closed:
                raise RuntimeError("the run queue is shut down")
            if self._pool is None:
                self._broken = False
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker, initargs=self._initargs)
            return self._pool

    def _finished(self, inner: Future, outer: Future) -> None:
        self._free.release()
        if inner.cancelled():
            outer.cancel()
            return
        exc = inner.exception()
        if exc is None:
            outer.set_result(inner.result())
            return
        if isinstance(exc, BrokenProcessPool):
            self._broken = True
            exc = RuntimeError("the worker process running it died (killed or out of memory)")
        outer.set_exception(exc)

    def _stop_pool(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        # the executor has no public way to stop a busy worker; its process table is stable API in practice
        for p in list((getattr(pool, "_processes", None) or {}).values()):
            if p.is_alive():
                p.kill()
        pool.shutdown(wait=False, cancel_futures=True)
