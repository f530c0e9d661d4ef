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
    """The browser is asked for the token, which goes as a header, never into a URL."""
    token = "tok-12345678"
    with live_server(toy_app(token=token)) as base:
        page = browser.new_page()
        urls: list[str] = []
        page.on("request", lambda req: urls.append(req.url))
        r = page.goto(base + "/report")
        assert r.status == 401
        assert page.goto(base + "/report?token=" + token).status == 401  # not accepted in a URL
        page.goto(base + "/report")
        page.fill("#token", "wrong-token")
        page.click("button[type=submit]")
        page.wait_for_function("document.getElementById('token-message').textContent.length > 0")
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_selector("#map .unit")
        assert token not in page.url
        # the tab keeps it (for pages that call the API): a reload gets in again without asking
        assert page.evaluate("sessionStorage.getItem('xuefeng-token')") == token
        page.reload()
        page.wait_for_selector("#map .unit")
        assert not [u for u in urls if token in u and "?token=" not in u]
        page.close()
