"""The workbench's routes: the page, named what-ifs in runs, progress, offline /docs, --scenario-dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli_support import one_line_exit_2
from report_fixtures import toy_results, toy_scenario
from xuefeng.analysis.whatif import WhatIf
from xuefeng.web.app import create_app, wait_for_run
from xuefeng.web.workbench import DOCS_ASSETS, load_scenario_dirs

LOCAL = "http://127.0.0.1"
MINI = Path(__file__).parent / "fixtures" / "scenarios" / "mini"
TOKEN = "wb-token-12345678"


class Recorder:
    """A synthetic runner that keeps what it was asked to run."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, scenario, replications, seed, *, params=None, config=None, progress=None):
        self.calls.append({"scenario": scenario, "params": params, "config": config})
        if progress is not None:
            progress(1, 2)
            progress(2, 2)
        return toy_results(scenario, replications=replications, seed=seed)


def toy_whatifs() -> dict[str, dict[str, WhatIf]]:
    sc = toy_scenario()
    first = sc.units[-1].id
    return {"toy": {
        "weaker": WhatIf(name="weaker", title="Last unit at half strength", note="for tests",
                         changes=({"update": "units", "where": {"id": first}, "scale": {"strength.infantry": 0.5}},)),
        "no-disease": WhatIf(name="no-disease", title="No disease",
                             changes=({"set": {"params.medical.base_incidence_per_day": 0}},)),
    }}


def make(token=None, runner=None):
    return create_app(token, scenarios={"toy": toy_scenario()}, default_scenario="toy",
                      runner=runner or Recorder(), use_hexmap=False, whatifs=toy_whatifs())


@pytest.fixture
def client():
    with TestClient(make(), base_url=LOCAL) as c:
        yield c


def test_workbench_page_and_its_files(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for part in ('id="scenario"', 'id="seed"', 'id="replications"', 'id="whatifs"', 'href="/report"',
                 'href="/docs"', 'src="/workbench.js"'):
        assert part in r.text
    js = client.get("/workbench.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "/api/runs" in js.text
    assert client.get("/workbench.css").headers["content-type"].startswith("text/css")
    # nothing on the page comes from outside the server
    assert "http://" not in r.text and "https://" not in r.text and "https://" not in js.text


def test_whatif_list(client):
    items = client.get("/api/scenarios/toy/whatifs").json()
    assert [i["name"] for i in items] == ["weaker", "no-disease"]
    assert items[0]["title"] == "Last unit at half strength" and items[0]["note"] == "for tests"
    assert client.get("/api/scenarios/nope/whatifs").status_code == 404


def test_run_with_named_whatifs_changes_scenario_and_params(tmp_path):
    import functools
    import json

    from web_support import recording_runner

    record = tmp_path / "calls.jsonl"
    app = make(runner=functools.partial(recording_runner, str(record)))
    with TestClient(app, base_url=LOCAL) as c:
        base = c.post("/api/runs", json={"replications": 2}).json()["id"]
        wait_for_run(app, base)
        rid = c.post("/api/runs", json={"replications": 2, "seed": 3, "whatifs": ["weaker", "no-disease"]}).json()["id"]
        run = wait_for_run(app, rid)
        assert run.status == "done", run.error
        s = c.get(f"/api/runs/{rid}").json()
    assert s["whatifs"] == ["weaker", "no-disease"] and s["progress"] == 1.0 and s["report_url"]
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    last = toy_scenario().units[-1]
    assert calls[1]["last_infantry"] == pytest.approx(last.strength.infantry * 0.5)
    assert calls[0]["last_infantry"] == pytest.approx(last.strength.infantry)
    assert calls[0]["incidence"] != 0  # the baseline: the scenario's own parameters
    assert calls[1]["incidence"] == 0


def test_unknown_whatif_refused_before_any_work():
    rec = Recorder()
    app = make(runner=rec)
    with TestClient(app, base_url=LOCAL) as c:
        r = c.post("/api/runs", json={"whatifs": ["no-such"]})
        assert r.status_code == 422 and "no-such" in r.json()["detail"] and "weaker" in r.json()["detail"]
        assert c.post("/api/runs", json={"whatifs": ["Bad Name"]}).status_code == 422
    assert rec.calls == []


def test_progress_reported_while_running(tmp_path):
    """The worker's progress reaches the run's status while it runs."""
    import functools

    from web_support import halfway_runner, wait_until

    gate = tmp_path / "gate"
    app = make(runner=functools.partial(halfway_runner, str(gate)))
    with TestClient(app, base_url=LOCAL) as c:
        try:
            rid = c.post("/api/runs", json={}).json()["id"]

            def reported():
                st = c.get(f"/api/runs/{rid}").json()
                return st if st["progress"] >= 0.25 else None

            s = wait_until(reported, "progress reported")
            assert s["status"] == "running" and s["progress"] == 0.25
        finally:
            gate.touch()
        wait_for_run(app, rid)
        assert c.get(f"/api/runs/{rid}").json()["progress"] == 1.0


def test_default_report_moved_to_report(client):
    r = client.get("/report")
    assert r.status_code == 200 and 'id="map"' in r.text


def test_docs_offline(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "SwaggerUIBundle" in r.text and "/openapi.json" in r.text
    assert "cdn" not in r.text.lower() and "https://" not in r.text
    for name in DOCS_ASSETS:
        a = client.get(f"/docs/assets/{name}")
        assert a.status_code == 200 and len(a.content) > 1000, name
    assert client.get("/docs/assets/..%2fcore.py").status_code == 404
    assert client.get("/docs/assets/other.js").status_code == 404


def test_docs_need_the_token():
    with TestClient(make(token=TOKEN), base_url=LOCAL) as c:
        for path in ("/", "/docs", "/docs/assets/swagger-ui-bundle.js", "/workbench.js", "/api/scenarios/toy/whatifs"):
            assert c.get(path).status_code == 401, path
            assert c.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200, path


def test_scenario_dirs_served_with_their_whatifs(tmp_path):
    folder = tmp_path / "mine"
    shutil.copytree(MINI, folder)
    (folder / "whatifs.yaml").write_text(
        "whatifs:\n  no-air:\n    title: No air\n    changes:\n"
        "      - update: air_groups\n        where: {id: blue-air}\n        set: {aircraft: 0}\n")
    local = load_scenario_dirs([folder])
    app = create_app(scenarios={"toy": toy_scenario()}, runner=Recorder(), use_hexmap=False, local_scenarios=local)
    with TestClient(app, base_url=LOCAL) as c:
        assert [s["name"] for s in c.get("/api/scenarios").json()] == ["toy", "mini"]
        assert c.get("/api/scenarios/mini").json()["title"] == "Mini test campaign"
        assert [w["name"] for w in c.get("/api/scenarios/mini/whatifs").json()] == ["no-air"]
        assert c.get("/api/scenarios/toy/whatifs").json() == []


def test_scenario_dir_refusals(tmp_path):
    with pytest.raises(ValueError, match="not a folder"):
        load_scenario_dirs([tmp_path / "absent"])
    with pytest.raises(ValueError, match="already served"):
        load_scenario_dirs([MINI], taken=["mini"])
    bad = tmp_path / "bad"
    shutil.copytree(MINI, bad)
    (bad / "whatifs.yaml").write_text("whatifs: [1, 2]\n")
    with pytest.raises(ValueError, match="--scenario-dir"):
        load_scenario_dirs([bad])


def test_serve_refuses_a_bad_scenario_dir(tmp_path):
    from xuefeng.cli import app

    runner = CliRunner()
    one_line_exit_2(runner.invoke(app, ["serve", "--scenario-dir", str(tmp_path / "absent")]),
                    "--scenario-dir", "not a folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_exit_2(runner.invoke(app, ["serve", "--scenario-dir", str(empty)]), "--scenario-dir", "scenario.yaml")
