"""The HTML report's content, read without a browser."""

from __future__ import annotations

import json
import re

import pytest

from report_fixtures import manoeuvre_count, toy_results, toy_scenario
from xuefeng.viz.data import VizError
from xuefeng.viz.report import build_report


@pytest.fixture(scope="module")
def scenario():
    return toy_scenario()


def _payload(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m
    return json.loads(m.group(1))


def test_report_is_self_contained(scenario):
    html = build_report(scenario, toy_results(scenario))
    # no external resources of any kind: no src/href to a URL, no @import, no url(http...)
    assert not re.search(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', html, re.I)
    assert "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.I)
    assert "<script src" not in html and "<link" not in html
    for hook in ('id="map"', 'id="time-slider"', 'id="play"', 'id="unit-details"', 'id="casualty-chart"',
                 'id="claims-table"', 'id="oob"', 'id="timeline"'):
        assert hook in html


def test_every_manoeuvre_unit_drawn_once(scenario):
    res = toy_results(scenario)
    html = build_report(scenario, res)
    ids = re.findall(r'<g class="unit[^"]*" data-unit-id="([^"]+)"', html)
    assert len(ids) == manoeuvre_count(res) == 5
    assert len(set(ids)) == len(ids)
    assert "blue-army" not in ids  # a headquarters with no position is not on the map
    data = _payload(html)
    assert [u["id"] for u in data["units"]] == ids
    assert len(data["times"]) == res.series.sizes["time"]
    # the late unit is off the map at the start and on it at the end
    late = next(u for u in data["units"] if u["id"] == "blue-3b")
    assert late["x"][0] is None and late["x"][-1] is not None
    assert 'data-unit-id="blue-3b" data-side="blue" transform="translate(0,0)"' in html
    assert data["postures"] == ["attack", "hasty_defence"]


def test_echelon_marks(scenario):
    html = build_report(scenario, toy_results(scenario))
    marks = dict(re.findall(r'data-unit-id="([^"]+)"[^>]*>.*?<text class="echelon"[^>]*>([^<]*)</text>', html))
    assert marks["blue-1d"] == "XX" and marks["blue-3b"] == "X" and marks["red-5r"] == "III"


def test_claims_table_has_every_claim_with_model_figure(scenario):
    res = toy_results(scenario, replications=5)
    html = build_report(scenario, res)
    table = html[html.index('<table id="claims-table">'):]
    table = table[: table.index("</table>")]
    for c in scenario.claims:
        assert f'data-claim-id="{c.id}"' in table
        assert f"{c.figure:,.0f}" in table
    # red killed: the model's median over replications is shown beside the claim
    import numpy as np

    killed = res.side_ledger()[:, 1, 0]
    assert f"{np.median(killed):,.0f}" in table


def test_histograms_only_for_ensembles(scenario):
    one = build_report(scenario, toy_results(scenario, replications=1))
    many = build_report(scenario, toy_results(scenario, replications=8))
    assert 'id="histograms"' not in one
    assert 'id="histograms"' in many
    assert 'id="hist-winner"' in many and 'id="hist-advance_km"' in many
    assert many.count('class="bar"') > 4


def test_text_is_escaped(scenario):
    html = build_report(scenario, toy_results(scenario))
    assert "&lt;b&gt;First&lt;/b&gt; clash" in html
    assert "<b>First</b>" not in html


def test_timeline_has_simulated_and_historical_events(scenario):
    html = build_report(scenario, toy_results(scenario))
    tl = html[html.index('<ol id="timeline">'):]
    assert 'class="event simulated"' in tl and 'class="event historical"' in tl
    assert "A conference." in tl


def test_oob_tree_nests_units(scenario):
    html = build_report(scenario, toy_results(scenario))
    oob = html[html.index('<div id="oob">'):]
    red_army = oob.index('data-unit-id="red-army"')
    red_1d = oob.index('data-unit-id="red-1d"')
    red_5r = oob.index('data-unit-id="red-5r"')
    assert red_army < red_1d < red_5r
    assert "Gen. Crimson" in oob


def test_hex_terrain_from_geojson(scenario):
    geo = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"terrain": "mountains"},
         "geometry": {"type": "Polygon", "coordinates": [[[110.1, 27.0], [110.2, 27.0], [110.2, 27.1],
                                                           [110.1, 27.0]]]}}]}
    html = build_report(scenario, toy_results(scenario), geo)
    assert 'class="hex t-mountains"' in html


def test_report_needs_series(scenario):
    from dataclasses import replace

    res = replace(toy_results(scenario), series=None)
    with pytest.raises(VizError, match="no time series"):
        build_report(scenario, res)


def test_hostile_names_cannot_break_out_of_the_page(scenario):
    from xuefeng.scenario.schema import Scenario

    doc = scenario.model_dump(mode="json")
    evil = "</script><script>alert(1)</script><!--"
    doc["units"][1]["name"] = evil
    doc["meta"]["title"] = evil
    sc = Scenario.model_validate(doc)
    html = build_report(sc, toy_results(sc))
    assert html.count("<script") == 2  # the data block and the page's own script
    assert evil not in html
    assert _payload(html)["units"][0]["name"] == evil
