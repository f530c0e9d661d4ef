"""The served replay page in headless Chromium (uvicorn on 127.0.0.1, a free port)."""

from __future__ import annotations

import pytest

from browser_support import PageWatch, exercise_report, launch_browser
from report_fixtures import manoeuvre_count, toy_results, toy_scenario
from web_support import live_server, toy_app


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


def test_served_page_replays(browser):
    expected = manoeuvre_count(toy_results(toy_scenario()))
    with live_server(toy_app()) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        watch = PageWatch(page, base + "/")
        page.goto(base + "/report")
        exercise_report(page, expected, "red-1d", "served")
        assert watch.blocked == [], f"the page tried to fetch: {watch.blocked}"
        assert watch.errors == [], watch.errors
        page.close()


def test_served_page_with_token(browser):
    with live_server(toy_app(token="tok-12345678")) as base:
        page = browser.new_page()
        r = page.goto(base + "/report")
        assert r.status == 401
        r = page.goto(base + "/report?token=tok-12345678")
        assert r.status == 200
        page.wait_for_selector("#map .unit")
        # the cookie set by the first visit carries the token from now on
        assert page.goto(base + "/api/scenarios").status == 200
        page.close()
