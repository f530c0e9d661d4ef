"""The web API: scenarios, runs, token rule, size limits, traversal, JSON errors."""

from __future__ import annotations

import datetime as dt
import re

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
    assert run.status == "done", run.error
    # the regiment went with its division: neither is in the run's order of battle
    page = client.get(f"/runs/{run.id}/report").text
    on_map = set(re.findall(r'class="unit" data-unit-id="([^"]+)"', page))
    assert "blue-1d" in on_map and not on_map & {"red-1d", "red-5r"}
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
        # a token in the URL is not accepted (URLs are logged), and no cookie carries it
        for path in ("/api/scenarios?token=s3cret-token", "/?token=s3cret-token",
                     "/api/scenarios?access_token=s3cret-token"):
            r = c.get(path)
            assert r.status_code == 401 and "set-cookie" not in r.headers, path
            assert "header" in r.json()["detail"]
        # a browser navigating to a page gets a page that asks for the token (sent as a header by JS)
        r = c.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
        assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")
        assert 'type="password"' in r.text and "Authorization" in r.text and "s3cret" not in r.text
    with pytest.raises(ValueError):
        create_app(token="  ")


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert is_loopback("[::1]") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1") and not is_loopback("example.org")


def test_pending_runs_bounded(tmp_path):
    import functools

    from web_support import gated_runner

    gate = tmp_path / "gate"
    app = toy_app(runner=functools.partial(gated_runner, str(gate)), max_pending_runs=2)
    with TestClient(app, base_url=LOCAL) as c:
        try:
            assert c.post("/api/runs", json={"seed": 1}).status_code == 202
            assert c.post("/api/runs", json={"seed": 2}).status_code == 202
            r = c.post("/api/runs", json={"seed": 3})
            assert r.status_code == 429 and "queued or running" in r.json()["detail"]
        finally:
            gate.touch()


def test_failed_run_reports_error_not_traceback():
    from web_support import broken_runner

    app = toy_app(runner=broken_runner)
    with TestClient(app, base_url=LOCAL) as c:
        rid = c.post("/api/runs", json={}).json()["id"]
        wait_for_run(app, rid)
        s = c.get(f"/api/runs/{rid}").json()
        assert s["status"] == "failed" and "engine exploded" in s["error"]
        assert "Traceback" not in s["error"]


def test_every_answered_status_is_in_openapi(tmp_path):
    """Each route answered with each status it can give (provoked here) documents that status."""
    import functools

    from web_support import gated_runner

    seen: set[tuple[str, str, int]] = set()
    gate = tmp_path / "gate"
    app = toy_app(runner=functools.partial(gated_runner, str(gate)), max_pending_runs=1)
    long_name = "a" * 65
    with TestClient(app, base_url=LOCAL) as c:
        try:
            def hit(method, template, url, **kw):
                seen.add((method, template, c.request(method, url, **kw).status_code))

            gate.touch()
            r = c.post("/api/runs", json={})
            seen.add(("post", "/api/runs", r.status_code))
            rid = r.json()["id"]
            wait_for_run(app, rid)
            pages = [("/report", "/report"), ("/runs/{run_id}/report", f"/runs/{rid}/report"),
                     ("/api/scenarios", "/api/scenarios"), ("/api/scenarios/{name}", "/api/scenarios/toy"),
                     ("/api/runs/{run_id}", f"/api/runs/{rid}")]
            for template, url in pages:
                hit("get", template, url)
                hit("get", template, url, content=b" " * (MAX_BODY_BYTES + 1))  # 413
            hit("get", "/runs/{run_id}/report", "/runs/0/report")
            hit("get", "/runs/{run_id}/report", f"/runs/{long_name}/report")
            hit("get", "/api/scenarios/{name}", "/api/scenarios/nope")
            hit("get", "/api/scenarios/{name}", f"/api/scenarios/{long_name}")
            hit("get", "/api/runs/{run_id}", "/api/runs/0")
            hit("get", "/api/runs/{run_id}", f"/api/runs/{long_name}")
            gate.unlink()  # from here runs wait: the second one is one too many
            for body in ({"replications": 0}, {"scenario": "nope"}, {}, {}):  # 422, 404, 202, 429
                hit("post", "/api/runs", "/api/runs", json=body)
            hit("post", "/api/runs", "/api/runs", content=b"[" * (MAX_BODY_BYTES + 1))
        finally:
            gate.touch()
        spec = c.get("/openapi.json").json()
    with TestClient(app, base_url="http://evil.example") as c:
        for template, url in pages:
            seen.add(("get", template, c.get(url).status_code))  # 400
    with TestClient(toy_app(token="s3cret-token"), base_url=LOCAL) as c:
        for template, url in pages:
            seen.add(("get", template, c.get(url).status_code))  # 401
        seen.add(("post", "/api/runs", c.post("/api/runs", json={}).status_code))
    codes = {code for _, _, code in seen}
    assert {200, 202, 400, 401, 404, 413, 422, 429} <= codes, codes
    missing = [(m, p, code) for m, p, code in sorted(seen) if str(code) not in spec["paths"][p][m]["responses"]]
    assert not missing, missing


def test_earlier_end_drops_what_happens_after_it(app, client):
    """An overrides.end before a scheduled event (the toy's conference, day 2) runs, without it."""
    from report_fixtures import START, toy_scenario

    from xuefeng.web.app import Overrides, apply_overrides

    end = START + dt.timedelta(days=1)
    short = apply_overrides(toy_scenario(), Overrides(end=end))
    assert short.meta.end == end and [e.id for e in short.events] == []
    r = client.post("/api/runs", json={"overrides": {"end": end.isoformat()}})
    assert r.status_code == 202, r.text
    run = wait_for_run(app, r.json()["id"])
    assert run.status == "done", run.error


def test_access_log_redacts_tokens():
    import logging

    from xuefeng.web.auth import AccessLogRedactor

    f = AccessLogRedactor("s3cret-token")
    for path, shown in (("/api/scenarios?token=s3cret-token", "/api/scenarios?token=***"),
                        ("/x?a=1&access_token=other-secret&b=2", "/x?a=1&access_token=***&b=2"),
                        ("/x?%74oken=other-secret", "/x?token=***"),
                        ("/s3cret-token/y", "/***/y")):
        rec = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                                ("127.0.0.1:1", "GET", path, "1.1", 401), None)
        assert f.filter(rec) and shown in rec.getMessage(), rec.getMessage()
        assert "other-secret" not in rec.getMessage() and "s3cret-token" not in rec.getMessage()
