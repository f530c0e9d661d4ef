"""The report and plots on the packaged default scenario's real map (synthetic movements, no engine)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from report_fixtures import manoeuvre_count, west_hunan_case
from xuefeng.viz.report import build_report


@pytest.fixture(scope="module")
def west_hunan():
    return west_hunan_case()


def test_map_draws_the_theater(west_hunan):
    sc, hm, res = west_hunan
    html = build_report(sc, res, hm)
    terrains = set(re.findall(r'<path class="hex t-([a-z]+)"', html))
    from xuefeng.geo import TERRAIN_CLASSES

    assert terrains == {TERRAIN_CLASSES[int(i)] for i in np.unique(hm.terrain)}
    assert html.count('class="river"') == len(sc.theater.rivers)
    assert html.count('<path class="road rc-') == len(sc.theater.roads)
    assert html.count('<g class="town"') == len(sc.theater.towns)
    assert html.count('<g class="airfield"') == len(sc.theater.airfields)
    assert len(re.findall(r'<g class="unit[^"]*" data-unit-id=', html)) == manoeuvre_count(res)
    # every unit of the order of battle appears in the tree
    oob = html[html.index('<div id="oob">'):]
    for u in sc.units:
        assert f'data-unit-id="{u.id}"' in oob
    assert len(html) < 5_000_000


def test_plots_on_real_map(west_hunan, tmp_path):
    from xuefeng.viz.plots import save_plot

    sc, hm, res = west_hunan
    out = save_plot("map", tmp_path / "map.png", sc, res, hexmap=hm)
    assert out.stat().st_size > 20_000
