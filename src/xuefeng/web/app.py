"""The web server: the replay/report page and a small JSON API (FastAPI).

`create_app(token=None, ...)` builds the ASGI app; `xuefeng serve` runs it
with uvicorn. Routes:

    GET  /                      the workbench: choose scenario, seed, replications, what-ifs; run (web/workbench.py)
    GET  /report                report of the default scenario (made on demand, cached)
    GET  /docs                  the API's interactive documentation (Swagger UI, served offline)
    GET  /runs/{id}/report      report of a finished run
    GET  /api/scenarios         packaged scenarios (name, title)
    GET  /api/scenarios/{name}  one scenario: meta, sides, order of battle, events, claims
    GET  /api/scenarios/{name}/whatifs  its named what-ifs (whatifs.yaml)
    POST /api/runs              start a run {scenario, seed, replications, whatifs, overrides} -> {id}
    GET  /api/runs/{id}         its status, progress and, when done, its summary
    GET  /openapi.json          the API's description

Safety rules (they hold for every route):
- Bound to 127.0.0.1 by default. With a `token`, every request must carry it
  (`Authorization: Bearer <token>` or `X-Xuefeng-Token: <token>`; a browser
  may open `/?token=<token>` once, which sets a cookie) or gets 401. Without a
  token, only loopback Host names are accepted (defends against DNS
  rebinding).
- Request bodies larger than `MAX_BODY_BYTES` get 413; runs larger than
  `MAX_REPLICATIONS` replications, `MAX_RUN_STEPS` time steps or `MAX_RUN_COST` unit-steps (replications ×
  time steps to the end date, `overrides.end` included, × units) get 422, before any work; more than `MAX_PENDING_RUNS`
  queued runs get 429.
- Errors are JSON `{"detail": ...}` with a 4xx status; nothing ever answers
  with a traceback. Unknown paths (including `..` tricks) get 404: no route
  reads files named by a request.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xuefeng.results.model import Results
from xuefeng.scenario.schema import Scenario
from xuefeng.web.workbench import named_setup, packaged_whatifs, workbench_router

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
#: Finished runs kept in memory (oldest dropped first).
MAX_RUNS_KEPT = 32
#: Most ids in one override list.
MAX_OVERRIDE_ITEMS = 500
#: Most named what-ifs one run may combine.
MAX_WHATIFS = 16
MAX_SEED = 2**63 - 1
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
TOKEN_COOKIE = "xuefeng_token"

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")

Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", min_length=1, max_length=64)]

#: `runner(scenario, replications, seed, *, params, config, progress)`: params/config are the
#: engine parameters and settings (what-ifs may change them); `progress(done, total)` after each step.
Runner = Callable[..., Results]


# --------------------------------------------------------------------------- API models


class Overrides(BaseModel):
    """What-if changes to the scenario for one run. Unknown keys are refused (422).

    remove_units: units (and their subordinates) taken out of the order of battle.
    remove_air_groups: air groups taken out (e.g. no air support).
    remove_events: scheduled events that do not happen (e.g. no airlift).
    end: an earlier (or later) latest campaign date.
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
    # -- workbench: named what-ifs (the scenario's whatifs.yaml), applied before `overrides`
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
    # -- workbench
    whatifs: list[str] = Field(default_factory=list)
    progress: float = Field(default=0.0, ge=0.0, le=1.0,
                            description="Share of the run's time steps simulated so far (1 when done).")


class ScenarioListItem(BaseModel):
    name: str
    title: str


class ErrorBody(BaseModel):
    detail: Any


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or wrong token."},
    404: {"model": ErrorBody, "description": "Not found."},
    400: {"model": ErrorBody, "description": "Bad request (unparsable body, bad Host or Content-Length)."},
    413: {"model": ErrorBody, "description": "Request body too large."},
}


# --------------------------------------------------------------------------- runs


@dataclass
class Run:
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
    results: Results | None = field(default=None, repr=False)
    scenario_obj: Scenario | None = field(default=None, repr=False)
    whatifs: list[str] = field(default_factory=list)
    progress: float = 0.0

    def as_status(self) -> RunStatus:
        return RunStatus(
            id=self.id, status=self.status, scenario=self.scenario, seed=self.seed,  # type: ignore[arg-type]
            replications=self.replications, overrides=self.overrides,
            created=self.created.isoformat(timespec="seconds"),
            finished=self.finished.isoformat(timespec="seconds") if self.finished else None,
            error=self.error, summary=self.summary,
            report_url=f"/runs/{self.id}/report" if self.status == "done" and self.results is not None
            and self.results.series is not None else None,
            whatifs=self.whatifs, progress=1.0 if self.status == "done" else min(1.0, self.progress),
        )


def apply_overrides(scenario: Scenario, ov: Overrides) -> Scenario:
    """A copy of `scenario` with the what-ifs applied; ValueError naming any unknown id."""
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
    if problems:
        raise ValueError("; ".join(problems))
    if not (ov.remove_units or ov.remove_air_groups or ov.remove_events or ov.end):
        return scenario
    doc = scenario.model_dump(mode="python")
    gone: set[str] = set(ov.remove_units)
    changed = True
    while changed:  # subordinates go with their parent
        changed = False
        for u in scenario.units:
            if u.parent in gone and u.id not in gone:
                gone.add(u.id)
                changed = True
    doc["units"] = [u for u in doc["units"] if u["id"] not in gone]
    if not doc["units"]:
        raise ValueError("overrides.remove_units: would remove every unit")
    for plan in doc["plans"]:
        for ph in plan["phases"]:
            ph["units"] = [u for u in ph["units"] if u not in gone]
        plan["phases"] = [ph for ph in plan["phases"] if ph["units"]]
    doc["plans"] = [p for p in doc["plans"] if p["phases"]]
    doc["claims"] = [c for c in doc["claims"] if c.get("unit") not in gone]
    doc["air_groups"] = [g for g in doc["air_groups"] if g["id"] not in set(ov.remove_air_groups)]
    doc["events"] = [e for e in doc["events"] if e["id"] not in set(ov.remove_events)]
    for e in doc["events"]:
        e["units"] = [u for u in e["units"] if u not in gone]
    if ov.end is not None:
        doc["meta"]["end"] = ov.end
    return Scenario.model_validate(doc)


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


def _default_runner(scenario: Scenario, replications: int, seed: int, *, params: Any = None, config: Any = None,
                    progress: Callable[[int, int], None] | None = None) -> Results:
    from xuefeng.engine import simulate  # the web layer calls the engine's public entry only

    return simulate(scenario, replications=replications, seed=seed, keep_series=1, params=params, config=config,
                    progress=progress)


def _summary(results: Results, scenario: Scenario) -> dict[str, Any]:
    from xuefeng.analysis.summary import json_safe, summarise

    return json_safe(summarise(results, scenario))


def _hexmap(scenario: Scenario) -> Any:
    try:
        from xuefeng.geo import build_hexmap
    except ImportError:  # pragma: no cover - the map part is part of the package
        return None
    return build_hexmap(scenario.theater)


# --------------------------------------------------------------------------- middleware


def _json_body(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


class GuardMiddleware:
    """Token, Host and body-size checks for every HTTP request, before routing."""

    def __init__(self, app: ASGIApp, token: str | None, max_body: int, extra_hosts: frozenset[str]) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body
        self.extra_hosts = extra_hosts

    def _authorised(self, scope: Scope, headers: dict[str, str]) -> tuple[bool, bool]:
        """(ok, set_cookie)."""
        assert self.token is not None
        want = self.token.encode()
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and hmac.compare_digest(auth[7:].strip().encode(), want):
            return True, False
        if hmac.compare_digest(headers.get("x-xuefeng-token", "").encode(), want):
            return True, False
        for part in headers.get("cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == TOKEN_COOKIE and hmac.compare_digest(v.encode(), want):
                return True, False
        if scope.get("method") == "GET":
            from urllib.parse import parse_qs

            qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            for v in qs.get("token", []):
                if hmac.compare_digest(v.encode(), want):
                    return True, True
        return False, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        set_cookie = False
        if self.token is not None:
            ok, set_cookie = self._authorised(scope, headers)
            if not ok:
                await _json_body(401, "missing or wrong token: send 'Authorization: Bearer <token>' or "
                                      "'X-Xuefeng-Token: <token>'",
                                 {"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        else:
            host = headers.get("host", "")
            name = (host.rsplit(":", 1)[0] if not host.endswith("]") else host).lower()
            if host and not is_loopback(name) and name not in self.extra_hosts:
                await _json_body(400, f"host '{host}' not accepted: without a token the server answers "
                                      "only for 127.0.0.1 / localhost")(scope, receive, send)
                return
        length = headers.get("content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await _json_body(400, "bad Content-Length")(scope, receive, send)
                return
            if n > self.max_body:
                await _json_body(413, f"request body too large ({n} bytes; at most {self.max_body})")(
                    scope, receive, send)
                return
        # read the body up front, bounded (also when it comes chunked), then replay it
        body = bytearray()
        more = scope.get("method") in ("POST", "PUT", "PATCH", "DELETE")
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body.extend(msg.get("body", b""))
            if len(body) > self.max_body:
                await _json_body(413, f"request body too large (more than {self.max_body} bytes)")(
                    scope, receive, send)
                return
            more = msg.get("more_body", False)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                hs = list(message.get("headers", []))
                hs.append((b"x-content-type-options", b"nosniff"))
                hs.append((b"referrer-policy", b"no-referrer"))
                hs.append((b"x-frame-options", b"DENY"))
                if set_cookie and self.token is not None:
                    hs.append((b"set-cookie", f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; "
                                              "Path=/".encode("latin-1")))
                message = {**message, "headers": hs}
            await send(message)

        await self.app(scope, replay, send_wrapped)


# --------------------------------------------------------------------------- app


def create_app(token: str | None = None, *,
               scenarios: Mapping[str, Scenario] | None = None,
               default_scenario: str | None = None,
               runner: Runner | None = None,
               use_hexmap: bool = True,
               max_body_bytes: int = MAX_BODY_BYTES,
               max_pending_runs: int = MAX_PENDING_RUNS,
               report_seed: int = 0,
               extra_hosts: Iterable[str] = (),
               local_scenarios: Mapping[str, Any] | None = None,
               whatifs: Mapping[str, Mapping[str, Any]] | None = None) -> FastAPI:
    """The ASGI app.

    token: if given, every request must carry it (see module docstring).
    scenarios: name → Scenario to serve (default: the packaged scenarios, loaded on demand).
    default_scenario: the one GET / shows (default: the package's default scenario).
    runner: `(scenario, replications, seed) -> Results` (default: the engine, keeping one
        replication's series for the replay).
    use_hexmap: draw the report's terrain as hex cells (else the scenario's terrain polygons).
    extra_hosts: Host names accepted besides loopback ones when there is no token
        (e.g. a name this machine is reached by through a local proxy).
    local_scenarios: name → `workbench.LocalScenario` (scenario folders given to `serve
        --scenario-dir`), served besides the others.
    whatifs: scenario name → {what-if name → WhatIf} (default: each scenario's whatifs.yaml).
    """
    if token is not None and not token.strip():
        raise ValueError("token must not be empty")
    from xuefeng.scenario.registry import DEFAULT_SCENARIO

    default_name = default_scenario or (next(iter(scenarios)) if scenarios and DEFAULT_SCENARIO not in scenarios
                                        else DEFAULT_SCENARIO)
    run_fn: Runner = runner or _default_runner
    pool: dict[str, ThreadPoolExecutor] = {}
    pool_lock = threading.Lock()

    def executor() -> ThreadPoolExecutor:
        """The run worker, (re)made on first use after each server start."""
        with pool_lock:
            if "ex" not in pool:
                pool["ex"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xuefeng-run")
            return pool["ex"]
    runs: OrderedDict[str, Run] = OrderedDict()
    runs_lock = threading.Lock()
    cache: dict[str, Any] = {}
    cache_lock = threading.Lock()
    index_lock = threading.Lock()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        with pool_lock:
            ex = pool.pop("ex", None)
        if ex is not None:
            ex.shutdown(wait=False, cancel_futures=True)
        with runs_lock:
            for r in runs.values():
                if r.status == "queued":
                    r.status, r.error = "failed", "the server stopped before the run started"

    app = FastAPI(
        lifespan=lifespan,
        title="Xuefeng",
        version="0.1.0",
        description="Campaign simulator: scenarios, runs and their replay. "
                    f"Runs take 1 to {MAX_REPLICATIONS} replications; request bodies at most "
                    f"{max_body_bytes} bytes.",
        docs_url=None, redoc_url=None,
    )
    app.state.runs = runs

    # ---- scenarios
    local = dict(local_scenarios or {})

    def names() -> list[tuple[str, str]]:
        """The served scenarios' names and titles, read once (no YAML parsed per request)."""
        own = [(n, ls.scenario.meta.title) for n, ls in local.items()]
        if scenarios is not None:
            return [(n, s.meta.title) for n, s in scenarios.items()] + own
        with cache_lock:
            if "names" not in cache:
                from xuefeng.scenario import list_scenarios

                cache["names"] = list_scenarios()
            return cache["names"] + own

    def get_scenario(name: str) -> Scenario:
        if not _NAME_RE.match(name) or name not in {n for n, _ in names()}:
            raise HTTPException(404, f"unknown scenario '{name}'")
        if name in local:
            return local[name].scenario
        if scenarios is not None:
            return scenarios[name]
        key = f"scenario:{name}"
        with cache_lock:
            if key not in cache:
                from xuefeng.scenario import ScenarioError, load_scenario

                try:
                    cache[key] = load_scenario(name)
                except ScenarioError as e:
                    raise HTTPException(422, f"scenario '{name}' does not load: {e}") from None
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

    # ---- pages
    def report_html(scenario: Scenario, results: Results) -> str:
        from xuefeng.viz.report import build_report

        return build_report(scenario, results, _hexmap(scenario) if use_hexmap else None)

    @app.get("/report", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        sc = get_scenario(default_name)
        with index_lock:
            html = cache.get("index")
            if html is None:
                from xuefeng.scenario import ScenarioError
                from xuefeng.viz.data import VizError

                try:
                    html = report_html(sc, run_fn(sc, 1, report_seed))
                except (ScenarioError, VizError) as e:  # the scenario loads but cannot be run or shown
                    raise HTTPException(422, f"scenario '{default_name}' cannot be shown: {e}") from None
                cache["index"] = html
        return HTMLResponse(html)

    @app.get("/runs/{run_id}/report", response_class=HTMLResponse, include_in_schema=False)
    def run_report(run_id: str) -> HTMLResponse:
        run = _get_run(run_id)
        if run.status != "done" or run.results is None or run.results.series is None or run.scenario_obj is None:
            raise HTTPException(404, f"run '{run_id}' has no report (status: {run.status})")
        return HTMLResponse(report_html(run.scenario_obj, run.results))

    # ---- API
    @app.get("/api/scenarios", response_model=list[ScenarioListItem], responses=_ERRORS)
    def list_scenarios() -> list[ScenarioListItem]:
        """Packaged scenarios."""
        return [ScenarioListItem(name=n, title=t) for n, t in names()]

    @app.get("/api/scenarios/{name}", responses={**_ERRORS, 422: {"model": ErrorBody}})
    def scenario_detail(name: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
        """One scenario: meta, sides, order of battle, events and claims."""
        sc = get_scenario(name)
        m = sc.meta
        return {
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
        }

    def _get_run(run_id: str) -> Run:
        if not _RUN_ID_RE.match(run_id):
            raise HTTPException(404, f"unknown run '{run_id}'")
        with runs_lock:
            run = runs.get(run_id)
        if run is None:
            raise HTTPException(404, f"unknown run '{run_id}'")
        return run

    def _execute(run: Run, scenario: Scenario, params: Any = None, config: Any = None) -> None:
        run.status = "running"

        def progress(done: int, total: int) -> None:
            run.progress = done / total if total else 0.0

        try:
            res = run_fn(scenario, run.replications, run.seed, params=params, config=config, progress=progress)
            run.summary = _summary(res, scenario)
            run.results = res
            run.scenario_obj = scenario
            run.status = "done"
        except Exception as e:  # noqa: BLE001 - a failed run is reported, not raised
            run.error = f"{type(e).__name__}: {e}"
            run.status = "failed"
        finally:
            run.finished = dt.datetime.now(dt.timezone.utc)

    @app.post("/api/runs", status_code=202, response_model=RunCreated,
              responses={**_ERRORS, 422: {"model": ErrorBody}, 429: {"model": ErrorBody}})
    def create_run(req: RunRequest) -> RunCreated:
        """Start a run in the background; poll GET /api/runs/{id}."""
        name = req.scenario or default_name
        sc = get_scenario(name)
        steps = run_steps(sc, req.overrides.end)
        if steps > MAX_RUN_STEPS:
            raise HTTPException(422, f"run too long: {steps:,} time steps to overrides.end (at most "
                                     f"{MAX_RUN_STEPS:,}): give an earlier overrides.end")
        cost = run_cost(sc, req.replications, req.overrides.end)
        if cost > MAX_RUN_COST:
            raise HTTPException(422, f"run too large: {cost:,} unit-steps (replications × time steps × units; "
                                     f"at most {MAX_RUN_COST:,}): ask for fewer replications or an earlier "
                                     "overrides.end")
        params = config = None
        if req.whatifs:  # workbench: the named what-ifs first (they may change engine parameters too)
            setup = named_setup(sc, whatifs_of(name), req.whatifs)
            sc, params, config = setup.scenario, setup.params, setup.config
        try:
            sc = apply_overrides(sc, req.overrides)
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
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
        executor().submit(_execute, run, sc, params, config)
        return RunCreated(id=run.id, status="queued", url=f"/api/runs/{run.id}")

    @app.get("/api/runs/{run_id}", response_model=RunStatus, responses=_ERRORS)
    def run_status(run_id: Annotated[str, Path(max_length=64)]) -> RunStatus:
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
        with cache_lock:
            if key not in cache:
                cache[key] = packaged_whatifs(name)
            return cache[key]

    app.include_router(workbench_router(whatifs_of, openapi_url=app.openapi_url or "/openapi.json",
                                        title=app.title, default_scenario=default_name,
                                        responses={**_ERRORS, 422: {"model": ErrorBody}}))

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


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server on this machine."""
    import ipaddress

    h = host.strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False
