"""The web API: scenarios, runs, token rule, size limits, traversal, JSON errors."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from web_support import toy_app
from xuefeng.web.app import MAX_BODY_BYTES, MAX_REPLICATIONS, MAX_RUN_STEPS, create_app, is_loopback, wait_for_run

LOCAL = "http://127.0.0.1"


@pytest.fixture
def app():
    return toy_app()


@pytest.fixture
def client(app):
    with TestClient(app, base_url=LOCAL, raise_server_exceptions=False) as c:
        yield c


def test_scenarios(client):
    r = client.get("/api/scenarios")
    assert r.status_code == 200
    assert r.json() == [{"name": "toy", "title": "Toy campaign"}]
    d = client.get("/api/scenarios/toy").json()
    assert d["name"] == "toy" and len(d["units"]) == 7 and len(d["claims"]) == 4
    assert {s["id"] for s in d["sides"]} == {"blue", "red"}


def test_run_lifecycle(app, client):
    r = client.post("/api/runs", json={"scenario": "toy", "seed": 3, "replications": 4, "overrides": {}})
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    wait_for_run(app, rid)
    s = client.get(f"/api/runs/{rid}").json()
    assert s["status"] == "done", s
    assert s["replications"] == 4 and s["seed"] == 3
    assert s["summary"]["replications"] == 4
    assert {row["claim"] for row in s["summary"]["comparison"]} == {"blue-cas", "red-killed", "red-sick", "civ"}
    page = client.get(s["report_url"])
    assert page.status_code == 200 and 'id="map"' in page.text


def test_overrides_apply_and_unknown_keys_refused(app, client):
    r = client.post("/api/runs", json={"overrides": {"remove_units": ["red-1d"]}})
    assert r.status_code == 202
    run = wait_for_run(app, r.json()["id"])
    assert run.status == "done"
    # the regiment went with its division
    assert "red-5r" not in run.results.unit_ids and "red-1d" not in run.results.unit_ids
    for body in ({"overrides": {"no_such_key": True}}, {"overrides": {"remove_units": ["nobody"]}},
                 {"bogus": 1}, {"seed": -1}, {"replications": 0}, {"scenario": "../etc"}):
        r = client.post("/api/runs", json=body)
        assert r.status_code == 422, (body, r.text)
        assert "detail" in r.json()


def test_run_size_bounded(client):
    r = client.post("/api/runs", json={"replications": MAX_REPLICATIONS + 1})
    assert r.status_code == 422
    assert client.post("/api/runs", json={"replications": MAX_REPLICATIONS, "scenario": "nope"}).status_code == 404


def test_far_future_end_refused_before_any_work(app, client):
    """Three POSTs ending in 2445 once took the server to 3.9 GB: the cost is checked first."""
    before = len(app.state.runs)
    for _ in range(3):
        r = client.post("/api/runs", json={"replications": 1, "overrides": {"end": "2445-01-01T00:00:00"}})
        assert r.status_code == 422, r.text
        assert "time steps" in r.json()["detail"]
    assert len(app.state.runs) == before
    from report_fixtures import START, STEP_HOURS

    longest = START + dt.timedelta(hours=STEP_HOURS * (MAX_RUN_STEPS - 1))  # allowed steps, too many unit-steps
    r = client.post("/api/runs", json={"replications": MAX_REPLICATIONS, "overrides": {"end": longest.isoformat()}})
    assert r.status_code == 422 and "unit-steps" in r.json()["detail"], r.text
    spec = client.get("/openapi.json").json()
    assert "400" in spec["paths"]["/api/runs"]["post"]["responses"]


def test_body_size_bounded(client):
    big = b'{"overrides": {"remove_units": [' + b'"a",' * (MAX_BODY_BYTES // 4) + b'"a"]}}'
    r = client.post("/api/runs", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["detail"]

    def chunks():  # no Content-Length: the limit holds for streamed bodies too
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    r = client.post("/api/runs", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_bad_json_is_a_json_4xx(client):
    r = client.post("/api/runs", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/json")
    assert "Traceback" not in r.text


@pytest.mark.parametrize("path", ["/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/scenarios/..",
                                  "/api/scenarios/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/api/scenarios/..%2f..%2fsecret",
                                  "/static/../../etc/passwd", "/api/runs/..%2f..", "/api/runs/0",
                                  "/nothing-here", "/runs/abc/report"])
def test_unknown_and_traversal_paths_404(client, path):
    r = client.get(path)
    assert r.status_code == 404, (path, r.status_code)
    assert r.headers["content-type"].startswith("application/json")
    assert "root:" not in r.text


def test_raw_traversal_path_404(app):
    """A raw, unnormalised request target (as a hand-written client could send it)."""
    import asyncio

    async def call(raw: bytes) -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": raw.decode(), "raw_path": raw, "query_string": b"",
                 "root_path": "", "headers": [(b"host", b"127.0.0.1")], "server": ("127.0.0.1", 80),
                 "client": ("127.0.0.1", 1)}
        status = {}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(msg):
            if msg["type"] == "http.response.start":
                status["code"] = msg["status"]

        await app(scope, receive, send)
        return status["code"]

    for raw in (b"/../etc/passwd", b"/../../../../etc/passwd", b"/api/scenarios/../../etc/passwd"):
        assert asyncio.run(call(raw)) == 404


def test_index_serves_report_and_caches(client):
    r1 = client.get("/report")
    assert r1.status_code == 200 and r1.headers["content-type"].startswith("text/html")
    assert 'id="map"' in r1.text and 'id="time-slider"' in r1.text
    assert client.get("/report").text == r1.text
    assert r1.headers["x-content-type-options"] == "nosniff"


def test_openapi_lists_the_api(client):
    spec = client.get("/openapi.json").json()
    for p in ("/api/scenarios", "/api/scenarios/{name}", "/api/runs", "/api/runs/{run_id}"):
        assert p in spec["paths"]


def test_foreign_host_refused_without_token(app):
    with TestClient(app, base_url="http://evil.example") as c:
        assert c.get("/api/scenarios").status_code == 400


def test_token_required_on_every_request():
    app = toy_app(token="s3cret-token")
    with TestClient(app, base_url="http://203.0.113.5:8000") as c:
        for path in ("/", "/api/scenarios", "/openapi.json", "/api/scenarios/toy", "/nothing"):
            r = c.get(path)
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"] == "Bearer"
        assert c.post("/api/runs", json={}).status_code == 401
        assert c.get("/api/scenarios", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/scenarios", headers={"X-Xuefeng-Token": "wrong"}).status_code == 401
        assert c.get("/api/scenarios", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert c.get("/api/scenarios", headers={"X-Xuefeng-Token": "s3cret-token"}).status_code == 200
        # a browser opens /?token=... once and then carries a cookie
        r = c.get("/api/scenarios?token=s3cret-token")
        assert r.status_code == 200 and "xuefeng_token" in r.headers["set-cookie"]
        assert c.get("/api/scenarios").status_code == 200
    with pytest.raises(ValueError):
        create_app(token="  ")


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert is_loopback("[::1]") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1") and not is_loopback("example.org")


def test_pending_runs_bounded():
    import threading

    gate = threading.Event()

    def slow_runner(scenario, n, seed, **_engine):
        gate.wait(10)
        from report_fixtures import toy_results

        return toy_results(scenario, n)

    from report_fixtures import toy_scenario

    app = create_app(scenarios={"toy": toy_scenario()}, runner=slow_runner, use_hexmap=False, max_pending_runs=2)
    with TestClient(app, base_url=LOCAL) as c:
        assert c.post("/api/runs", json={}).status_code == 202
        assert c.post("/api/runs", json={}).status_code == 202
        r = c.post("/api/runs", json={})
        assert r.status_code == 429
        gate.set()


def test_failed_run_reports_error_not_traceback():
    from report_fixtures import toy_scenario

    def broken(scenario, n, seed, **_engine):
        raise RuntimeError("engine exploded")

    app = create_app(scenarios={"toy": toy_scenario()}, runner=broken, use_hexmap=False)
    with TestClient(app, base_url=LOCAL) as c:
        rid = c.post("/api/runs", json={}).json()["id"]
        wait_for_run(app, rid)
        s = c.get(f"/api/runs/{rid}").json()
        assert s["status"] == "failed" and "engine exploded" in s["error"]
        assert "Traceback" not in s["error"]
