"""Plots: every kind writes a PNG; bad kinds and dates are refused."""

from __future__ import annotations

import datetime as dt

import pytest

from report_fixtures import toy_results, toy_scenario
from xuefeng.viz.data import VizError, step_of
from xuefeng.viz.plots import KINDS, save_plot

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run():
    sc = toy_scenario()
    return sc, toy_results(sc, replications=6)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_writes_png(run, tmp_path, kind):
    sc, res = run
    out = save_plot(kind, tmp_path / f"{kind}.png", sc, res, when=dt.date(1945, 4, 8) if kind == "map" else None)
    data = out.read_bytes()
    assert data.startswith(PNG) and len(data) > 5000


def test_map_with_hex_geojson(run, tmp_path):
    sc, res = run
    geo = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"terrain": "water"},
         "geometry": {"type": "Polygon", "coordinates": [[[110.1, 27.0], [110.2, 27.0], [110.2, 27.1],
                                                           [110.1, 27.0]]]}}]}
    out = save_plot("map", tmp_path / "m.png", sc, res, hexmap=geo)
    assert out.read_bytes().startswith(PNG)


def test_unknown_kind(run, tmp_path):
    sc, res = run
    with pytest.raises(VizError, match="unknown plot kind 'pie'"):
        save_plot("pie", tmp_path / "x.png", sc, res)
    assert not (tmp_path / "x.png").exists()


def test_date_outside_campaign(run, tmp_path):
    sc, res = run
    with pytest.raises(VizError, match="outside the campaign"):
        save_plot("map", tmp_path / "x.png", sc, res, when=dt.date(1946, 1, 1))
    with pytest.raises(VizError, match="outside the campaign"):
        step_of(res, dt.date(1945, 4, 1))


def test_step_of_picks_last_step_of_the_day(run):
    _, res = run
    assert step_of(res, dt.date(1945, 4, 6)) == 3  # 00, 06, 12, 18 h
    assert step_of(res, dt.datetime(1945, 4, 7, 6)) == 5
