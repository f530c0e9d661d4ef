"""The web server: the replay/report page and a small JSON API (FastAPI).

`create_app(token=None, ...)` builds the ASGI app; `xuefeng serve` runs it
with uvicorn. Routes:

    GET  /                      the workbench: choose scenario, seed, replications, what-ifs; run (web/workbench.py)
    GET  /report                report of the default scenario (made once by a worker, cached)
    GET  /docs                  the API's interactive documentation (Swagger UI, served offline)
    GET  /runs/{id}/report      report of a finished run
    GET  /api/scenarios         served scenarios (name, title)
    GET  /api/scenarios/{name}  one scenario: meta, sides, order of battle, events, claims
    GET  /api/scenarios/{name}/whatifs  its named what-ifs (whatifs.yaml)
    POST /api/runs              queue a run {scenario, seed, replications, whatifs, overrides} -> {id}
    GET  /api/runs/{id}         its status (queued, running, done, failed), progress and, when done, its summary
    GET  /openapi.json          the API's description; every status code a route can answer is in it

Runs execute in worker processes (`xuefeng.web.runs`: `workers` of them, 1 by
default, the rest queued), never in the server's: a request handler only
checks a request against the scenario (loaded once) and reads records. A
finished run keeps its summary and its report page gzip-compressed (about
0.1 MB for West Hunan); the `MAX_RUNS_KEPT` newest are kept.

Safety rules (they hold for every route):
- Bound to 127.0.0.1 by default. With a `token`, every request must carry it in
  a header (`Authorization: Bearer <token>` or `X-Xuefeng-Token: <token>`) or
  gets 401; a token in the URL is not accepted, and the access log never shows
  one (see `xuefeng.web.auth`, also for how a browser gets in). Without a
  token, only loopback Host names are accepted (defends against DNS rebinding).
- Request bodies larger than `MAX_BODY_BYTES` get 413; runs larger than
  `MAX_REPLICATIONS` replications, `MAX_RUN_STEPS` time steps or `MAX_RUN_COST`
  unit-steps (replications × time steps to the end date, `overrides.end`
  included, × units) get 422, before any work; more than `MAX_PENDING_RUNS`
  queued or running runs get 429.
- Errors are JSON `{"detail": ...}` with a 4xx status; nothing ever answers
  with a traceback. Unknown paths (including `..` tricks) get 404: no route
  reads files named by a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import json
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from xuefeng.scenario.schema import Scenario
from xuefeng.web.auth import LOOPBACK_HOSTS, GuardMiddleware, is_loopback
from xuefeng.web.runs import DEFAULT_WORKERS, Job, Outcome, Runner, RunQueue
from xuefeng.web.workbench import packaged_whatifs, workbench_router

__all__ = ["LOOPBACK_HOSTS", "create_app", "is_loopback", "wait_for_run"]

#: Largest request body accepted (bytes); larger ones get 413.
MAX_BODY_BYTES = 64 * 1024
#: Most replications one API run may ask for; more get 422.
MAX_REPLICATIONS = 1000
#: Most runs waiting or running at once; more get 429.
MAX_PENDING_RUNS = 8
#: Most unit-steps one API run may cost (replications × time steps × units); more get 422.
#: The full West Hunan campaign (340 steps × 47 units) at MAX_REPLICATIONS is 16.0 M.
MAX_RUN_COST = 20_000_000
#: Most time steps one API run may take (its series are kept per step); more get 422.
#: Two years at 6-hour steps; the West Hunan campaign is 340.
MAX_RUN_STEPS = 2922
#: Finished runs kept in memory (oldest dropped first): a summary and a compressed report each.
MAX_RUNS_KEPT = 32
#: Most ids in one override list.
MAX_OVERRIDE_ITEMS = 500
#: Most named what-ifs one run may combine.
MAX_WHATIFS = 16
MAX_SEED = 2**63 - 1

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", min_length=1, max_length=64)]


# --------------------------------------------------------------------------- API models


class Overrides(BaseModel):
    """What-if changes to the scenario for one run. Unknown keys are refused (422).

    remove_units: units (and their subordinates) taken out of the order of battle.
    remove_air_groups: air groups taken out (e.g. no air support).
    remove_events: scheduled events that do not happen (e.g. no airlift).
    end: an earlier (or later) latest campaign date. An earlier one drops what would only
        happen after it: units (and their subordinates) arriving later, plan phases starting
        later and later events.
    """

    model_config = ConfigDict(extra="forbid")

    remove_units: list[Identifier] = Field(default_factory=list, max_length=MAX_OVERRIDE_ITEMS)
    remove_air_groups: list[Identifier] = Field(default_factory=list, max_length=MAX_OVERRIDE_ITEMS)
    remove_events: list[Identifier] = Field(default_factory=list, max_length=MAX_OVERRIDE_ITEMS)
    end: dt.datetime | None = None


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: Identifier | None = Field(default=None, description="Scenario name; default: the default scenario.")
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    replications: int = Field(default=1, ge=1, le=MAX_REPLICATIONS,
                              description=f"1 to {MAX_REPLICATIONS} replications.")
    overrides: Overrides = Field(default_factory=Overrides)
    whatifs: list[Identifier] = Field(default_factory=list, max_length=MAX_WHATIFS,
                                      description="Named what-ifs of the scenario (GET /api/scenarios/{name}/whatifs), "
                                                  "applied in order before `overrides`.")


class RunCreated(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    url: str


class RunStatus(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    scenario: str
    seed: int
    replications: int
    overrides: dict[str, Any]
    created: str
    finished: str | None = None
    error: str | None = None
    summary: dict[str, Any] | None = None
    report_url: str | None = None
    whatifs: list[str] = Field(default_factory=list)
    progress: float = Field(default=0.0, ge=0.0, le=1.0,
                            description="Share of the run's time steps simulated so far (1 when done).")


class ScenarioListItem(BaseModel):
    name: str
    title: str


class ErrorBody(BaseModel):
    detail: Any


_ERROR_DOCS: dict[int, str] = {
    400: "Bad request (bad Host without a token, bad Content-Length).",
    401: "Missing or wrong token (send it in a header; a token in the URL is not accepted).",
    404: "Not found.",
    413: "Request body too large.",
    422: "The request does not validate, or the run is too large (see the limits in the description).",
    429: "Too many runs queued or running; retry when one has finished.",
    500: "Internal error (a bug): the detail names no internals; see the server's log.",
    503: "The server cannot do it now (it is stopping, or a worker process died); retry.",
}
#: What every route can answer, whatever its own parameters: the guard's refusals and a bug.
_EVERY_ROUTE = (400, 401, 413, 500)


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route can answer (JSON {"detail": ...})."""
    return {c: {"model": ErrorBody, "description": _ERROR_DOCS[c]} for c in sorted({*_EVERY_ROUTE, *codes})}


def _html_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Like `_errors`, for a page: 200 is HTML."""
    return {200: {"content": {"text/html": {}}, "description": "The page."}, **_errors(*codes)}


# --------------------------------------------------------------------------- runs


@dataclass
class Run:
    """One API run as the server keeps it: what was asked and its compact outcome."""

    id: str
    scenario: str
    seed: int
    replications: int
    overrides: dict[str, Any]
    created: dt.datetime
    status: str = "queued"
    finished: dt.datetime | None = None
    error: str | None = None
    summary: dict[str, Any] | None = None
    #: the report page, gzip-compressed, when the run kept a replication's series
    report_gz: bytes | None = field(default=None, repr=False)
    #: pid of the worker process that ran it
    worker_pid: int | None = None
    whatifs: list[str] = field(default_factory=list)
    #: share of the time steps simulated, as the worker reports it
    progress: float = 0.0

    def as_status(self) -> RunStatus:
        return RunStatus(
            id=self.id, status=self.status, scenario=self.scenario, seed=self.seed,  # type: ignore[arg-type]
            replications=self.replications, overrides=self.overrides,
            created=self.created.isoformat(timespec="seconds"),
            finished=self.finished.isoformat(timespec="seconds") if self.finished else None,
            error=self.error, summary=self.summary,
            report_url=f"/runs/{self.id}/report" if self.status == "done" and self.report_gz is not None else None,
            whatifs=self.whatifs, progress=1.0 if self.status == "done" else min(1.0, self.progress),
        )

    def record(self, fut: Future) -> None:
        """Take a finished job's Outcome (or failure); the status changes last."""
        self.finished = dt.datetime.now(dt.timezone.utc)
        if fut.cancelled():
            self.error, self.status = "the server stopped before the run started", "failed"
            return
        exc = fut.exception()
        out: Outcome | None = fut.result() if exc is None else None
        if out is not None:
            self.worker_pid = out.pid
        if out is None or out.error is not None:
            self.error = out.error if out is not None else f"{type(exc).__name__}: {exc}"
            self.status = "failed"
            return
        self.summary, self.report_gz = out.summary, out.report_gz
        self.status = "done"


def check_overrides(scenario: Scenario, ov: Overrides) -> tuple[list[str], set[str]]:
    """(problems, units removed): unknown ids and an empty order of battle, without copying anything."""
    problems: list[str] = []
    unit_ids = {u.id for u in scenario.units}
    for uid in ov.remove_units:
        if uid not in unit_ids:
            problems.append(f"overrides.remove_units: unknown unit '{uid}'")
    groups = {g.id for g in scenario.air_groups}
    for gid in ov.remove_air_groups:
        if gid not in groups:
            problems.append(f"overrides.remove_air_groups: unknown air group '{gid}'")
    events = {e.id for e in scenario.events}
    for eid in ov.remove_events:
        if eid not in events:
            problems.append(f"overrides.remove_events: unknown event '{eid}'")
    from xuefeng.analysis.whatif import happens_after, with_subordinates

    gone = set(ov.remove_units) | {u.id for u in scenario.units if happens_after(u.arrival, ov.end)}
    gone = with_subordinates({u.id: u.parent for u in scenario.units}, gone)
    if not problems and gone and gone >= unit_ids:
        problems.append("overrides.remove_units: would remove every unit")
    return problems, gone


def overrides_whatif(scenario: Scenario, ov: Overrides) -> Any:
    """The run's overrides as a what-if (xuefeng.analysis.whatif): the one mechanism every
    command uses, so a removal or an earlier end means the same here as in `xuefeng whatif`.
    A unit listed with one of its superiors goes with that one (its own change would match
    nothing left)."""
    from xuefeng.analysis.whatif import WhatIf, with_subordinates

    parent = {u.id: u.parent for u in scenario.units}
    listed = set(ov.remove_units)
    changes: list[dict[str, Any]] = [{"remove": "units", "where": {"id": u}} for u in dict.fromkeys(ov.remove_units)
                                     if u not in with_subordinates(parent, listed - {u})]
    changes += [{"remove": "air_groups", "where": {"id": g}} for g in ov.remove_air_groups]
    changes += [{"remove": "events", "where": {"id": e}} for e in ov.remove_events]
    if ov.end is not None:
        changes.append({"set": {"meta.end": ov.end.isoformat()}})
    return WhatIf(name="overrides", title="the run's overrides", changes=tuple(changes))


def apply_overrides(scenario: Scenario, ov: Overrides) -> Scenario:
    """A copy of `scenario` with the overrides applied; ValueError naming any unknown id."""
    from xuefeng.analysis.whatif import Setup, apply_whatif

    problems, _ = check_overrides(scenario, ov)
    if problems:
        raise ValueError("; ".join(problems))
    return apply_whatif(Setup(scenario=scenario, params=None, config=None), overrides_whatif(scenario, ov)).scenario


def run_steps(scenario: Scenario, end: dt.datetime | None) -> int:
    """Time steps from the start to `end` (or the scenario's end), computed before any work."""
    m = scenario.meta
    stop = end if end is not None else m.end
    if (stop.tzinfo is None) != (m.start.tzinfo is None):
        stop = stop.replace(tzinfo=m.start.tzinfo)
    hours = max(0.0, (stop - m.start).total_seconds() / 3600)
    return int(hours // m.time_step_hours) + 1


def run_cost(scenario: Scenario, replications: int, end: dt.datetime | None) -> int:
    """Unit-steps a run would simulate (replications × time steps × units)."""
    return replications * run_steps(scenario, end) * max(1, len(scenario.units))


# --------------------------------------------------------------------------- app


def _page(request: Request, html_gz: bytes) -> Response:
    """A stored (gzip-compressed) page: sent as it is to a client that takes gzip, else unpacked."""
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(html_gz, media_type="text/html; charset=utf-8",
                        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return HTMLResponse(gzip.decompress(html_gz).decode(), headers={"Vary": "Accept-Encoding"})


def create_app(token: str | None = None, *,
               scenarios: Mapping[str, Scenario] | None = None,
               default_scenario: str | None = None,
               runner: Runner | None = None,
               use_hexmap: bool = True,
               max_body_bytes: int = MAX_BODY_BYTES,
               max_pending_runs: int = MAX_PENDING_RUNS,
               report_seed: int = 0,
               extra_hosts: Iterable[str] = (),
               workers: int = DEFAULT_WORKERS,
               local_scenarios: Mapping[str, Any] | None = None,
               whatifs: Mapping[str, Mapping[str, Any]] | None = None) -> FastAPI:
    """The ASGI app.

    token: if given, every request must carry it in a header (see module docstring).
    scenarios: name → Scenario to serve (default: the packaged scenarios, loaded on demand,
        once by the server and once by each worker).
    default_scenario: the one GET / shows (default: the package's default scenario).
    runner: `(scenario, replications, seed, *, params, config, progress) -> Results` (params and
        config: the engine parameters and settings, which what-ifs may change; progress(done,
        total) after each step), run in a worker process, so a
        module-level function (picklable); default: the engine, keeping one replication's
        series for the replay.
    use_hexmap: draw the report's terrain as hex cells (else the scenario's terrain polygons).
    extra_hosts: Host names accepted besides loopback ones when there is no token
        (e.g. a name this machine is reached by through a local proxy).
    workers: worker processes running runs at once (more wait in the queue).
    local_scenarios: name → `workbench.LocalScenario` (scenario folders given to `serve
        --scenario-dir`), served besides the others; workers load them from their folders.
    whatifs: scenario name → {what-if name → WhatIf} (default: each scenario's whatifs.yaml).

    The workers are spawned: a script that calls this and serves the app needs the usual
    `if __name__ == "__main__":` guard (each worker imports the main module).
    """
    if token is not None and not token.strip():
        raise ValueError("token must not be empty")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    from xuefeng.scenario.registry import DEFAULT_SCENARIO

    default_name = default_scenario or (next(iter(scenarios)) if scenarios and DEFAULT_SCENARIO not in scenarios
                                        else DEFAULT_SCENARIO)
    held: dict[str, RunQueue] = {}
    held_lock = threading.Lock()

    def run_queue() -> RunQueue:
        """The run queue and its workers, (re)made on first use after each server start."""
        with held_lock:
            if "q" not in held:
                held["q"] = RunQueue(workers, scenarios=scenarios, runner=runner, use_hexmap=use_hexmap)
            return held["q"]

    runs: OrderedDict[str, Run] = OrderedDict()
    runs_lock = threading.Lock()
    cache: dict[str, Any] = {}
    cache_lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        with held_lock:
            q = held.pop("q", None)
        with cache_lock:
            cache.pop("index", None)  # a pending page job dies with the queue
        if q is not None:
            q.shutdown()  # queued runs are marked failed by their futures' callbacks

    app = FastAPI(
        lifespan=lifespan,
        title="Xuefeng",
        version="0.1.0",
        description="Campaign simulator: scenarios, runs and their replay. "
                    f"Runs take 1 to {MAX_REPLICATIONS} replications, at most {MAX_RUN_STEPS:,} time steps "
                    f"and {MAX_RUN_COST:,} unit-steps (replications × time steps × units), else 422; at most "
                    f"{max_pending_runs} runs queued or running, else 429; request bodies at most "
                    f"{max_body_bytes} bytes, else 413. Runs execute in {workers} worker process"
                    f"{'es' if workers != 1 else ''}.",
        docs_url=None, redoc_url=None,
    )
    app.state.runs = runs
    app.state.run_queue = run_queue

    # ---- scenarios: read once, then served from memory (the cheap routes never wait for a thread)
    load_lock = threading.Lock()  # held while a scenario is read; the cache itself is read without it

    local = dict(local_scenarios or {})
    own = [(n, ls.scenario.meta.title) for n, ls in local.items()]

    def names() -> list[tuple[str, str]]:
        """The served scenarios' names and titles, read once (no YAML parsed per request)."""
        if scenarios is not None:
            return [(n, s.meta.title) for n, s in scenarios.items()] + own
        if "names" not in cache:
            with load_lock:
                if "names" not in cache:
                    from xuefeng.scenario import list_scenarios

                    cache["names"] = list_scenarios() + own
        return cache["names"]

    def get_scenario(name: str) -> Scenario:
        if not _NAME_RE.match(name) or name not in {n for n, _ in names()}:
            raise HTTPException(404, f"unknown scenario '{name}'")
        if name in local:
            return local[name].scenario
        if scenarios is not None:
            return scenarios[name]
        key = f"scenario:{name}"
        if key not in cache:
            with load_lock:
                if key not in cache:
                    from xuefeng.scenario import ScenarioError, load_scenario

                    try:
                        cache[key] = load_scenario(name)
                    except ScenarioError as e:
                        raise HTTPException(422, f"scenario '{name}' does not load: {e}") from None
        return cache[key]

    async def cached(key: str, make: Callable[[], Any]) -> Any:
        """cache[key], made by `make` in a worker thread the first time (it may read files)."""
        if key not in cache:
            value = await run_in_threadpool(make)
            cache.setdefault(key, value)
        return cache[key]

    # ---- errors: JSON, never a traceback
    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                for e in exc.errors()]
        return JSONResponse({"detail": errs}, status_code=422)

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - bugs
        return JSONResponse({"detail": "internal error (a bug): see the server's log"}, status_code=500)

    def submit(job: Job, on_start: Any = None, on_progress: Any = None) -> Future:
        try:
            return run_queue().submit(job, on_start, on_progress)
        except RuntimeError:  # the queue was shut down: the server is stopping
            raise HTTPException(503, "the server is stopping; no new run is taken") from None

    # ---- pages
    @app.get("/report", response_class=HTMLResponse, responses=_html_errors(422, 503))
    async def index(request: Request) -> Response:
        """The report of the default scenario (one replication), made once by a worker."""
        await cached(f"scenario:{default_name}", lambda: get_scenario(default_name))
        with cache_lock:
            fut = cache.get("index")
            if fut is None:
                fut = cache["index"] = submit(Job(default_name, 1, report_seed, summary=False))
        try:  # shielded: a client that goes away does not cancel the job others wait for
            out: Outcome = await asyncio.shield(asyncio.wrap_future(fut))
        except Exception as e:  # noqa: BLE001 - the worker died or the queue stopped
            with cache_lock:
                if cache.get("index") is fut:
                    del cache["index"]
            raise HTTPException(503, f"the page could not be made now ({e}); try again") from None
        if out.report_gz is None:
            with cache_lock:
                if cache.get("index") is fut:
                    del cache["index"]  # not kept: a later request tries again
            if out.error is not None and not out.input_error:
                raise HTTPException(500, "internal error (a bug): see the server's log")
            raise HTTPException(422, f"scenario '{default_name}' cannot be shown: "
                                     f"{out.error or 'the run kept no series to replay'}")
        return _page(request, out.report_gz)

    @app.get("/runs/{run_id}/report", response_class=HTMLResponse, responses=_html_errors(404, 422))
    def run_report(request: Request, run_id: Annotated[str, Path(max_length=64)]) -> Response:
        """The report page of a finished run."""
        run = _get_run(run_id)
        if run.status != "done" or run.report_gz is None:
            raise HTTPException(404, f"run '{run_id}' has no report (status: {run.status})")
        return _page(request, run.report_gz)

    # ---- API
    @app.get("/api/scenarios", response_model=list[ScenarioListItem], responses=_errors())
    async def list_scenarios() -> Response:
        """Packaged scenarios."""
        return Response(await cached("list-json", lambda: json.dumps(
            [{"name": n, "title": t} for n, t in names()]).encode()), media_type="application/json")

    def detail(name: str) -> bytes:
        sc = get_scenario(name)
        m = sc.meta
        return json.dumps({
            "name": m.name, "title": m.title, "description": m.description,
            "start": m.start.isoformat(), "end": m.end.isoformat(), "time_step_hours": m.time_step_hours,
            "sides": [{"id": s.id, "name": s.name, "color": s.color,
                       "strength": sc.side_strength(s.id)} for s in m.sides],
            "units": [{"id": u.id, "name": u.name, "side": u.side, "echelon": u.echelon.value,
                       "parent": u.parent, "commander": u.commander, "strength": u.strength.total,
                       "arrival": u.arrival.isoformat() if u.arrival else None,
                       "provenance": u.provenance.source} for u in sc.units],
            "air_groups": [{"id": g.id, "name": g.name, "side": g.side, "aircraft": g.aircraft}
                           for g in sc.air_groups],
            "events": [{"id": e.id, "date": e.date.isoformat(), "kind": e.kind, "description": e.description}
                       for e in sc.events],
            "claims": [{"id": c.id, "source": c.source, "side": c.side, "category": c.category.value,
                        "unit": c.unit, "figure": c.figure, "note": c.note} for c in sc.claims],
        }, allow_nan=False).encode()

    @app.get("/api/scenarios/{name}", responses={200: {"content": {"application/json": {
        "schema": {"type": "object"}}}, "description": "The scenario."}, **_errors(404, 422)})
    async def scenario_detail(name: Annotated[str, Path(max_length=64)]) -> Response:
        """One scenario: meta, sides, order of battle, events and claims."""
        if not _NAME_RE.match(name) or name not in {n for n, _ in await cached("names-list", names)}:
            raise HTTPException(404, f"unknown scenario '{name}'")
        return Response(await cached(f"detail:{name}", lambda: detail(name)), media_type="application/json")

    def _get_run(run_id: str) -> Run:
        if not _RUN_ID_RE.match(run_id):
            raise HTTPException(404, f"unknown run '{run_id}'")
        with runs_lock:
            run = runs.get(run_id)
        if run is None:
            raise HTTPException(404, f"unknown run '{run_id}'")
        return run

    @app.post("/api/runs", status_code=202, response_model=RunCreated, responses=_errors(404, 422, 429, 503))
    async def create_run(req: RunRequest) -> RunCreated:
        """Queue a run for a worker process; poll GET /api/runs/{id}."""
        name = req.scenario or default_name
        if not _NAME_RE.match(name) or name not in {n for n, _ in await cached("names-list", names)}:
            raise HTTPException(404, f"unknown scenario '{name}'")
        sc = await cached(f"scenario:{name}", lambda: get_scenario(name))
        steps = run_steps(sc, req.overrides.end)
        if steps > MAX_RUN_STEPS:
            raise HTTPException(422, f"run too long: {steps:,} time steps to overrides.end (at most "
                                     f"{MAX_RUN_STEPS:,}): give an earlier overrides.end")
        cost = run_cost(sc, req.replications, req.overrides.end)
        if cost > MAX_RUN_COST:
            raise HTTPException(422, f"run too large: {cost:,} unit-steps (replications × time steps × units; "
                                     f"at most {MAX_RUN_COST:,}): ask for fewer replications or an earlier "
                                     "overrides.end")
        problems, _ = check_overrides(sc, req.overrides)
        if problems:
            raise HTTPException(422, "; ".join(problems))
        known = await cached(f"whatifs:{name}", lambda: whatifs_of(name))
        unknown = [w for w in req.whatifs if w not in known]
        if unknown:  # applied and checked by the worker: the handler only knows their names
            raise HTTPException(422, f"whatifs: unknown what-if '{unknown[0]}' for scenario '{name}' "
                                     f"(known: {', '.join(known) or 'none'})")
        with runs_lock:
            pending = sum(r.status in ("queued", "running") for r in runs.values())
            if pending >= max_pending_runs:
                raise HTTPException(429, f"{pending} runs are queued or running; wait for one to finish")
            run = Run(id=uuid.uuid4().hex, scenario=name, seed=req.seed, replications=req.replications,
                      overrides=req.overrides.model_dump(mode="json", exclude_defaults=True),
                      created=dt.datetime.now(dt.timezone.utc), whatifs=list(req.whatifs))
            runs[run.id] = run
            finished = [k for k, r in runs.items() if r.status in ("done", "failed")]
            for k in finished[: max(0, len(runs) - MAX_RUNS_KEPT)]:
                del runs[k]

        def started() -> None:
            run.status = "running"

        def progressed(share: float) -> None:
            run.progress = share

        source = str(local[name].path) if name in local else name
        job = Job(source, req.replications, req.seed, req.overrides, id=run.id,
                  whatifs=tuple(known[w] for w in req.whatifs))
        try:
            fut = submit(job, started, progressed)
        except HTTPException:
            with runs_lock:
                runs.pop(run.id, None)
            raise
        fut.add_done_callback(run.record)
        return RunCreated(id=run.id, status="queued", url=f"/api/runs/{run.id}")

    @app.get("/api/runs/{run_id}", response_model=RunStatus, responses=_errors(404, 422))
    async def run_status(run_id: Annotated[str, Path(max_length=64)]) -> RunStatus:
        """Status of a run and, once done, its summary (medians and 90% intervals)."""
        return _get_run(run_id).as_status()

    # ---- the workbench page, its what-if list and the offline API docs (web/workbench.py)
    def whatifs_of(name: str) -> Mapping[str, Any]:
        get_scenario(name)  # 404 for unknown names
        if whatifs is not None:
            return whatifs.get(name, {})
        if name in local:
            return local[name].whatifs
        if scenarios is not None:
            return {}
        key = f"whatifs:{name}"
        if key not in cache:
            with load_lock:
                if key not in cache:
                    cache[key] = packaged_whatifs(name)
        return cache[key]

    app.include_router(workbench_router(whatifs_of, openapi_url=app.openapi_url or "/openapi.json",
                                        title=app.title, default_scenario=default_name,
                                        responses=_errors(404, 422)))

    app.add_middleware(GuardMiddleware, token=token, max_body=max_body_bytes,
                       extra_hosts=frozenset(h.lower() for h in extra_hosts))
    return app


def wait_for_run(app: FastAPI, run_id: str, timeout: float = 60.0) -> Run:
    """Block until a run is done or failed (for tests and scripts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = app.state.runs.get(run_id)
        if run is not None and run.status in ("done", "failed"):
            return run
        time.sleep(0.02)
    raise TimeoutError(f"run {run_id} not finished after {timeout} s")
