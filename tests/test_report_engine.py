"""The report and the served page on a real engine run of the default scenario (N=1)."""

from __future__ import annotations

import numpy as np
import pytest

from browser_support import PageWatch, exercise_report, launch_browser
from report_fixtures import manoeuvre_count


@pytest.fixture(scope="module")
def run():
    from xuefeng.engine import simulate
    from xuefeng.geo import build_hexmap
    from xuefeng.scenario import DEFAULT_SCENARIO, load_scenario

    sc = load_scenario(DEFAULT_SCENARIO)
    return sc, simulate(sc, replications=1, seed=0, keep_series=1), build_hexmap(sc.theater)


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


def _most_moved(res) -> str:
    lat = res.series["lat"].isel(replication=0).values
    lon = res.series["lon"].isel(replication=0).values
    d = np.hypot(lat[-1] - lat[0], lon[-1] - lon[0])
    d = np.where(np.isfinite(d), d, -1)
    assert d.max() > 0, "no unit moved during the campaign"
    return str(res.series["unit"].values[int(np.argmax(d))])


def test_engine_run_report_in_browser(run, browser, tmp_path):
    from xuefeng.viz.report import build_report

    sc, res, hm = run
    path = tmp_path / "report.html"
    path.write_text(build_report(sc, res, hm), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = PageWatch(page, path.as_uri())
    page.goto(path.as_uri())
    exercise_report(page, manoeuvre_count(res), _most_moved(res), "engine-report")
    assert watch.blocked == [] and watch.errors == [], (watch.blocked, watch.errors)
    page.close()


def test_engine_run_plots(run, tmp_path):
    from xuefeng.viz.plots import KINDS, save_plot

    sc, res, hm = run
    for kind in KINDS:
        out = save_plot(kind, tmp_path / f"{kind}.png", sc, res, hexmap=hm if kind == "map" else None)
        assert out.read_bytes().startswith(b"\x89PNG")


def test_default_app_serves_default_scenario_report():
    """`create_app()` as `xuefeng serve` makes it: packaged scenarios, the real engine."""
    from fastapi.testclient import TestClient

    from xuefeng.scenario import DEFAULT_SCENARIO
    from xuefeng.web.app import create_app, wait_for_run

    app = create_app()
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert DEFAULT_SCENARIO in [s["name"] for s in c.get("/api/scenarios").json()]
        r = c.get("/report")
        assert r.status_code == 200 and 'id="map"' in r.text and 'class="hex ' in r.text
        rid = c.post("/api/runs", json={"replications": 2, "seed": 1}).json()["id"]
        run = wait_for_run(app, rid, timeout=120)
        assert run.status == "done", run.error
        s = c.get(f"/api/runs/{rid}").json()
        assert s["summary"]["replications"] == 2 and s["summary"]["comparison"]
