"""The workbench and /docs in headless Chromium: pick a scenario folder given to the server,
set seed and replications, apply what-ifs, run a small ensemble with the real engine, watch
it finish, open its report; /docs shows the API's routes. Nothing is fetched from outside."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from browser_support import ARTIFACTS, PageWatch, launch_browser
from web_support import live_server
from xuefeng.web.app import create_app
from xuefeng.web.workbench import load_scenario_dirs

MINI = Path(__file__).parent / "fixtures" / "scenarios" / "mini"
WHATIFS = """whatifs:
  no-blue-air:
    title: No Blue air support
    note: Blue's air group stays on the ground.
    changes:
      - update: air_groups
        where: {id: blue-air}
        set: {aircraft: 0}
"""
REMOVED = "red-11th-div-1st-regt"
TOKEN = "wb-browser-12345678"


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenarios") / "mini"
    shutil.copytree(MINI, folder)
    (folder / "whatifs.yaml").write_text(WHATIFS)
    return folder


def test_workbench_runs_a_small_ensemble(browser, scenario_dir):
    app = create_app(local_scenarios=load_scenario_dirs([scenario_dir]))
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        watch = PageWatch(page, base + "/")
        page.goto(base + "/")
        page.wait_for_selector("body[data-ready=true]")
        options = page.locator("#scenario option").all_inner_texts()
        assert any("(west-hunan-1945)" in o for o in options), options  # the packaged ones
        assert any("(mini)" in o for o in options), options  # and the folder given to the server
        assert page.eval_on_selector("#scenario", "e => e.value") == "west-hunan-1945"  # the default first
        page.select_option("#scenario", "mini")
        page.wait_for_selector('#whatifs input[value="no-blue-air"]')
        page.wait_for_selector(f'#remove-units input[value="{REMOVED}"]', state="attached")
        page.fill("#seed", "5")
        page.fill("#replications", "3")
        page.check('#whatifs input[value="no-blue-air"]')
        page.locator("#removals summary").click()
        page.check(f'#remove-units input[value="{REMOVED}"]')
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "workbench-form.png"), full_page=True)
        page.click("#start")
        page.wait_for_selector("#run:not([hidden])")
        page.wait_for_function("() => ['done', 'failed'].includes("
                               "document.getElementById('run-status').dataset.status)", timeout=180_000)
        assert page.locator("#run-status").inner_text() == "done", page.locator("#run-error").inner_text()
        assert page.locator("#run-percent").inner_text() == "100%"
        assert page.eval_on_selector("#run-progress", "e => e.value") == 1
        what = page.locator("#run-what").inner_text()
        assert "seed 5" in what and "3 replications" in what and "no-blue-air" in what and "remove_units" in what
        page.screenshot(path=str(ARTIFACTS / "workbench-done.png"), full_page=True)
        page.click("#open-report")
        page.wait_for_url("**/runs/*/report")
        page.wait_for_selector("#map .unit")
        assert page.locator(f'#map .unit[data-unit-id="{REMOVED}"]').count() == 0
        assert page.locator('#map .unit[data-unit-id="red-11th-div"]').count() == 1
        assert watch.blocked == [], f"the page tried to fetch: {watch.blocked}"
        assert watch.errors == [], watch.errors
        page.close()


def test_refused_run_shows_the_reason(browser, scenario_dir):
    app = create_app(local_scenarios=load_scenario_dirs([scenario_dir]))
    with live_server(app) as base:
        page = browser.new_page()
        page.goto(base + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.select_option("#scenario", "mini")
        page.wait_for_selector('#whatifs input[value="no-blue-air"]')
        page.fill("#replications", "100000")
        page.click("#start")
        page.wait_for_selector("#message:not([hidden])")
        assert "replications" in page.locator("#message").inner_text()
        page.close()


def test_docs_show_the_routes_offline(browser):
    from web_support import toy_app

    with live_server(toy_app()) as base:
        page = browser.new_page()
        watch = PageWatch(page, base + "/")
        page.goto(base + "/docs")
        page.wait_for_selector(".opblock")
        text = page.locator("#swagger-ui").inner_text()
        for path in ("/api/scenarios", "/api/runs", "/api/runs/{run_id}", "/api/scenarios/{name}/whatifs"):
            assert path in text, path
        assert watch.blocked == [], f"the docs tried to fetch: {watch.blocked}"
        page.close()


def test_token_typed_once_and_sent_as_a_header(browser):
    """With a token the page asks for it once and sends it as a header, never in a URL."""
    from web_support import toy_app

    with live_server(toy_app(token=TOKEN)) as base:
        page = browser.new_page()
        seen: list[tuple[str, str | None]] = []

        def route(r) -> None:
            url = r.request.url
            headers = dict(r.request.headers)
            seen.append((url, headers.get("authorization")))
            if r.request.resource_type in ("document", "script", "stylesheet"):
                headers["authorization"] = f"Bearer {TOKEN}"  # the page itself: as a browser would be let in
            r.continue_(headers=headers)

        page.route("**/*", route)
        page.on("dialog", lambda d: d.accept(TOKEN))
        page.goto(base + "/")
        page.wait_for_selector("body[data-ready=true]")
        assert page.locator("#scenario option").count() == 1
        api = [(u, a) for u, a in seen if "/api/" in u]
        assert api and api[-1][1] == f"Bearer {TOKEN}"
        assert all(TOKEN not in u for u, _ in seen)
        page.close()
