"""The report file in headless Chromium, offline: every network request is aborted."""

from __future__ import annotations

import pytest

from browser_support import PageWatch, exercise_report, launch_browser
from report_fixtures import manoeuvre_count, toy_results, toy_scenario
from xuefeng.viz.report import build_report


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


@pytest.mark.parametrize("replications", [1, 6])
def test_report_file_replays_offline(browser, tmp_path, replications):
    sc = toy_scenario()
    res = toy_results(sc, replications=replications)
    path = tmp_path / "report.html"
    path.write_text(build_report(sc, res), encoding="utf-8")
    url = path.as_uri()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = PageWatch(page, url)
    page.goto(url)
    exercise_report(page, manoeuvre_count(res), "blue-1d", f"report-file-n{replications}")
    if replications > 1:
        assert page.locator("#histograms svg.histogram").count() >= 4
    # clicking an order-of-battle entry selects the unit on the map
    page.locator('#oob .oob-node[data-unit-id="red-5r"]').click()
    assert page.locator('#map .unit[data-unit-id="red-5r"]').get_attribute("class").split().count("selected") == 1
    assert "Red 5th Regiment" in page.locator("#unit-details").inner_text()
    # clicking a timeline entry moves the slider to its step
    page.locator("#timeline li.event.historical").first.click()
    assert int(page.eval_on_selector("#time-slider", "e => e.value")) == 8
    # the timeline filter keeps only the kind chosen
    page.select_option("#timeline-filter", "@historical")
    assert page.locator("#timeline li.event:visible").count() == len(sc.events)
    page.select_option("#timeline-filter", "")
    from xuefeng.results.digest import digest
    from xuefeng.viz.report import replayed_replication

    items = digest(sc, res.events, replication=replayed_replication(res) if len(res.events) else None)
    assert page.locator("#timeline li.event:visible").count() == len(items)
    # the side filter keeps the lines involving that side
    side = next((x for i in items for x in i.sides), None)
    if side:
        page.select_option("#timeline-side", side)
        assert page.locator("#timeline li.event:visible").count() == sum(side in i.sides for i in items)
        page.select_option("#timeline-side", "")
    assert watch.blocked == [], f"the report tried to fetch: {watch.blocked}"
    assert watch.errors == [], watch.errors
    page.close()


def _west_hunan_page(browser, tmp_path):
    """The real theater's report (hex terrain, wandering units) opened in a page: (scenario,
    results, page, watch)."""
    from report_fixtures import west_hunan_case

    sc, hexmap, res = west_hunan_case()
    path = tmp_path / "wh.html"
    path.write_text(build_report(sc, res, hexmap), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = PageWatch(page, path.as_uri())
    page.goto(path.as_uri())
    return sc, res, page, watch


def test_west_hunan_report_offline(browser, tmp_path):
    """The real theater (hex terrain, many units) loads without errors and replays."""
    sc, res, page, watch = _west_hunan_page(browser, tmp_path)
    moving = next(u.id for u in sc.units if u.location is not None and u.echelon.value == "division")
    exercise_report(page, manoeuvre_count(res), moving, "report-west-hunan")
    assert watch.blocked == [] and watch.errors == [], (watch.blocked, watch.errors)
    page.close()


_BOXES_JS = """sel => Array.from(document.querySelectorAll(sel)).filter(e => {
  const s = getComputedStyle(e); const b = e.getBoundingClientRect();
  return s.display !== 'none' && s.visibility !== 'hidden' && b.width > 0 && b.height > 0;
}).map(e => { const b = e.getBoundingClientRect(); return [e.textContent, b.left, b.top, b.right, b.bottom]; })"""


def _overlaps(a, b) -> bool:
    return a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]


def test_west_hunan_map_legend_scale_and_names_without_collisions(browser, tmp_path):
    """The default view of the real theater: legend, scale bar, north arrow, names of ranges,
    rivers and towns, no two visible names overlapping and none under a unit symbol; unit
    names appear once zoomed in."""
    sc, res, page, watch = _west_hunan_page(browser, tmp_path)
    page.wait_for_selector("#map .unit")
    assert page.locator("#map #map-legend .legend-item").count() >= 8
    legend = page.locator("#map-legend").inner_html()
    for key in ("terrain:mountains", "road:highway", "river", "front", "side:china", "side:japan"):
        assert f'data-key="{key}"' in legend
    assert page.locator("#map #scale-bar").is_visible() and page.locator("#map #north-arrow").is_visible()
    assert page.locator("#front-line").get_attribute("d")
    labels = page.evaluate(_BOXES_JS, "#map .map-label")
    names = {t[0] for t in labels}
    assert "Xuefeng Mountains" in names and "Zi River" in names
    assert {"Zhijiang (Chihchiang)", "Dongkou", "Chenxi"} <= names
    clashes = [(a[0], b[0]) for i, a in enumerate(labels) for b in labels[i + 1:] if _overlaps(a, b)]
    assert clashes == []
    units = page.evaluate(_BOXES_JS, "#map .unit rect")
    under = [(lab[0]) for lab in labels for u in units if _overlaps(lab, u)]
    assert under == [], f"names under unit symbols: {under}"
    assert page.evaluate(_BOXES_JS, "#map .unit .unit-label") == []  # hidden on the default view
    page.locator("#zoom-in").click()
    page.locator("#zoom-in").click()
    assert "zoomed" in (page.locator("#map").get_attribute("class") or "")
    assert len(page.evaluate(_BOXES_JS, "#map .unit .unit-label")) > 0
    page.locator("#zoom-reset").click()
    assert "zoomed" not in (page.locator("#map").get_attribute("class") or "")
    assert page.locator("#overview-map .overview-front").count() >= 2
    assert watch.blocked == [] and watch.errors == [], (watch.blocked, watch.errors)
    page.close()
