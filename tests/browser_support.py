"""Headless Chromium for the report and web tests (Debian's /usr/bin/chromium via Playwright).

The browser is never downloaded: CI installs Debian's `chromium` package. If it
is missing the tests FAIL with a message saying how to install it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("XUEFENG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def launch_browser() -> Iterator[object]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: the browser tests need Debian's chromium "
                    "(install it with `apt-get install -y chromium`; CI's .ci/run does), or set "
                    "XUEFENG_CHROMIUM to a Chromium binary", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class PageWatch:
    """Console errors, page errors and network requests other than the allowed ones (aborted)."""

    def __init__(self, page, allowed_prefix: str) -> None:
        self.errors: list[str] = []
        self.blocked: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

        def route(r) -> None:
            url = r.request.url
            if url.split("#", 1)[0].startswith(allowed_prefix):
                r.continue_()
            else:
                self.blocked.append(url)
                r.abort()

        page.route("**/*", route)


def unit_transform(page, unit_id: str) -> str:
    return page.locator(f'#map .unit[data-unit-id="{unit_id}"]').get_attribute("transform") or ""


def exercise_report(page, expected_units: int, moving_unit: str, shot_prefix: str) -> None:
    """The checks shared by the file and served report: every unit drawn,
    slider moves units, click shows details, play advances time."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_selector("#map .unit")
    assert page.locator("#map .unit").count() == expected_units
    # every unit has a symbol with an echelon mark and a side
    assert page.locator("#map .unit .echelon").count() == expected_units
    assert page.locator("#map .hex, #map .region").count() > 0
    assert page.locator("#map .river").count() > 0 and page.locator("#map .road").count() > 0
    assert page.locator("#map .town").count() > 0
    page.screenshot(path=str(ARTIFACTS / f"{shot_prefix}-start.png"), full_page=True)
    before = unit_transform(page, moving_unit)
    slider = page.locator("#time-slider")
    slider.focus()
    page.keyboard.press("End")
    last = int(slider.get_attribute("max") or "0")
    assert int(page.eval_on_selector("#time-slider", "e => e.value")) == last
    after = unit_transform(page, moving_unit)
    assert before != after, "moving the slider did not move the unit"
    assert page.locator("#time-label").inner_text().strip() != ""
    assert page.locator("#front-line").get_attribute("d"), "no front line drawn at the end"
    page.locator(f'#map .unit[data-unit-id="{moving_unit}"]').click()
    details = page.locator("#unit-details")
    details.locator(f'table[data-unit-id="{moving_unit}"]').wait_for()
    text = details.inner_text()
    for word in ("Strength", "Casualties to date", "Posture", "Supply", "Commander"):
        assert word in text
    page.screenshot(path=str(ARTIFACTS / f"{shot_prefix}-end-selected.png"), full_page=True)
    # play from the start advances the slider, pause stops it
    slider.focus()
    page.keyboard.press("Home")
    page.locator("#play").click()
    page.wait_for_function("() => parseInt(document.getElementById('time-slider').value, 10) > 2")
    page.locator("#play").click()
    assert page.locator("#play").get_attribute("aria-pressed") == "false"
