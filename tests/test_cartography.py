"""Cartography of the report and plots: projection, front line, label placement, map furniture."""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest
import shapely

from report_fixtures import toy_results, toy_scenario, west_hunan_case
from xuefeng.viz.cartography import (
    GEOD,
    Box,
    Label,
    Projection,
    boundary_lines,
    control_grids,
    place_labels,
    point_offsets,
)


@pytest.fixture(scope="module")
def west_hunan():
    return west_hunan_case()


# --------------------------------------------------------------------------- projection


def test_projection_keeps_distances_within_one_percent(west_hunan):
    sc, _, _ = west_hunan
    proj = Projection.of(sc)
    b = sc.theater.bounds
    rng = np.random.default_rng(3)
    lon = rng.uniform(b.west, b.east, 200)
    lat = rng.uniform(b.south, b.north, 200)
    x, y = proj.xy_arrays(lon, lat)
    i, j = rng.integers(0, 200, 400), rng.integers(0, 200, 400)
    keep = i != j
    i, j = i[keep], j[keep]
    _, _, true_m = GEOD.inv(lon[i], lat[i], lon[j], lat[j])
    map_km = np.hypot(x[i] - x[j], y[i] - y[j]) * proj.km_per_unit
    err = np.abs(map_km / (true_m / 1000.0) - 1.0)
    assert err.max() < 0.01, err.max()


def test_projection_is_not_stretched(west_hunan):
    """One km east and one km north are the same length on the map (the old
    equirectangular map scaled longitude only at the middle latitude)."""
    sc, _, _ = west_hunan
    proj = Projection.of(sc)
    b = sc.theater.bounds
    for lat in (b.south + 0.1, b.north - 0.1):
        lon = b.west + 0.2
        e_lon, e_lat, _ = GEOD.fwd(lon, lat, 90, 10_000)
        n_lon, n_lat, _ = GEOD.fwd(lon, lat, 0, 10_000)
        x0, y0 = proj.xy(lon, lat)
        xe, ye = proj.xy(e_lon, e_lat)
        xn, yn = proj.xy(n_lon, n_lat)
        assert np.hypot(xe - x0, ye - y0) == pytest.approx(np.hypot(xn - x0, yn - y0), rel=0.01)


def test_projection_round_trip(west_hunan):
    proj = Projection.of(west_hunan[0])
    x, y = proj.xy(110.5, 27.4)
    lon, lat = proj.lonlat(x, y)
    assert float(lon) == pytest.approx(110.5, abs=1e-6) and float(lat) == pytest.approx(27.4, abs=1e-6)


# --------------------------------------------------------------------------- front line


def _synthetic_control(seed: int = 0) -> np.ndarray:
    """A wavy front across a 60×40 grid, with specks of the enemy on each side (lone units)."""
    ny, nx = 40, 60
    jj, ii = np.meshgrid(np.arange(nx), np.arange(ny))
    edge = 30 + 8 * np.sin(ii / 6.0)
    g = (jj >= edge).astype(np.int8)
    rng = np.random.default_rng(seed)
    for _ in range(12):
        i, j = rng.integers(2, ny - 3), rng.integers(2, nx - 3)
        g[i:i + 2, j:j + 2] = 1 - g[i, j]
    return g


def test_raw_boundary_of_specks_has_loops():
    """The specks alone make closed loops: what the cleaning must remove."""
    from xuefeng.viz.cartography import _absorb_pockets

    g = _synthetic_control()
    raw = boundary_lines(g, 1.0, simplify=False)
    assert len(raw) > 3
    clean = boundary_lines(_absorb_pockets(g, 25), 1.0)
    assert len(clean) == 1


@pytest.mark.parametrize("seed", range(5))
def test_front_line_is_one_simple_line(seed):
    from xuefeng.viz.cartography import _absorb_pockets

    g = _absorb_pockets(_synthetic_control(seed), 25)
    lines = boundary_lines(g, 1.0)
    assert len(lines) == 1
    ln = lines[0]
    assert ln.is_simple and not ln.is_ring
    # it runs from the top edge to the bottom edge of the grid
    ys = sorted((ln.coords[0][1], ln.coords[-1][1]))
    assert ys[0] == pytest.approx(0.0, abs=1.0) and ys[1] == pytest.approx(40.0, abs=1.0)


def test_control_from_units_gives_a_connected_front():
    """Two lines of units facing each other, and one lone raider behind the enemy: one front, no loop."""
    T, W, H, kpu = 3, 400.0, 300.0, 1.0
    ys = np.linspace(20, 280, 8)
    x = np.concatenate([np.full(8, 150.0), np.full(8, 250.0), [330.0]])
    y = np.concatenate([ys, ys, [150.0]])
    X, Y = np.tile(x, (T, 1)), np.tile(y, (T, 1))
    side = np.array([0] * 8 + [1] * 8 + [0])
    alive = np.ones_like(X, dtype=bool)
    alive[0, -1] = False  # the raider arrives at step 1
    cg = control_grids(X, Y, side, alive, W, H, kpu)
    for t in range(T):
        lines = boundary_lines(cg.side[t], cg.cell)
        assert len(lines) == 1, t
        assert lines[0].is_simple
        # between the two lines of units
        assert all(150 < px < 250 for px, _ in lines[0].coords)


def test_ground_keeps_its_holder_when_the_units_leave():
    """Side 0 advances and moves on: the ground it crossed stays its own."""
    T = 6
    x = np.stack([np.linspace(100, 300, T), np.full(T, 380.0)], axis=1)
    y = np.full((T, 2), 100.0)
    cg = control_grids(x, y, np.array([0, 1]), np.ones((T, 2), bool), 400.0, 200.0, 1.0)
    first, last = cg.side[0], cg.side[-1]
    col = int(280 / cg.cell)  # a cell side 1 held at the start, side 0 took
    assert first[25, col] == 1 and last[25, col] == 0
    assert last[25, 0] == 0  # far behind side 0, nobody near: still side 0's


# --------------------------------------------------------------------------- labels


def test_placed_labels_never_overlap_each_other_or_obstacles():
    rng = np.random.default_rng(1)
    obstacles = [Box(x, y, x + 24, y + 27) for x, y in rng.uniform(0, 500, (15, 2))]
    labels = [Label(f"t{k}", f"Town {k:02d}", float(x), float(y), 11.0, "town", point_offsets(4, 11))
              for k, (x, y) in enumerate(rng.uniform(0, 500, (60, 2)))]
    placed = place_labels(labels, obstacles, 500.0, 500.0)
    assert len(placed) > 20
    for a, b in itertools.combinations(placed, 2):
        assert not a.box.hits(b.box), (a.label.text, b.label.text)
    for p in placed:
        assert p.box.inside(500, 500)
        assert not any(p.box.hits(o) for o in obstacles)


def test_west_hunan_default_view_labels(west_hunan):
    """Names of ranges, rivers and towns on the map face; none over another or over a unit."""
    from xuefeng.viz.report import build_report
    from xuefeng.viz.svg import map_labels, north_arrow, scale_bar, unit_boxes

    sc, hm, res = west_hunan
    proj = Projection.of(sc)
    from xuefeng.viz import data as vd

    lat, lon = vd.series_array(res, "lat"), vd.series_array(res, "lon")
    from xuefeng.viz.report import _fanned

    pts = _fanned([tuple(float(v) for v in proj.xy(lon[0, u.column], lat[0, u.column]))
                   for u in vd.map_units(sc, res)])
    units = unit_boxes(pts)
    placed = map_labels(sc, proj, [*units, scale_bar(proj)[1], north_arrow(proj)[1]])
    texts = {p.label.text for p in placed}
    assert "Xuefeng Mountains" in texts
    assert any(p.label.kind == "river" for p in placed)
    for town in ("Zhijiang (Chihchiang)", "Dongkou", "Chenxi", "Shaoyang"):
        assert town in texts
    for a, b in itertools.combinations(placed, 2):
        assert not a.box.hits(b.box)
    for p in placed:
        assert not any(p.box.hits(u) for u in units), p.label.text
    html = build_report(sc, res, hm)
    face = html[html.index('<g id="map-labels">'):]
    assert 'data-key="range:xuefeng-mountains"' in face


# --------------------------------------------------------------------------- furniture


def test_svg_map_has_legend_scale_bar_north_arrow_and_front():
    from xuefeng.viz.report import build_report

    sc = toy_scenario()
    html = build_report(sc, toy_results(sc))
    svg = html[html.index('<svg id="map"'):]
    svg = svg[: svg.index("</svg>")]
    assert 'id="map-legend"' in svg and 'id="scale-bar"' in svg and 'id="north-arrow"' in svg
    keys = set(re.findall(r'class="legend-item" data-key="([^"]+)"', svg))
    assert {"terrain:mountains", "road:highway", "road:track", "river", "front", "town", "airfield",
            "side:blue", "side:red"} <= keys
    assert "railway" not in keys  # the toy theater has none
    m = re.search(r'<path id="front-line" d="([^"]*)"', svg)
    assert m and m.group(1).startswith("M")
    km = float(re.search(r'id="scale-bar" data-km="([0-9.]+)"', svg).group(1))
    assert km in (1, 2, 5, 10, 20, 25, 50, 100)
    assert 'class="unit-label"' in svg  # unit names for the zoomed map


def test_railways_in_legend_when_the_scenario_has_them():
    from xuefeng.scenario.schema import Scenario
    from xuefeng.viz.report import build_report

    doc = toy_scenario().model_dump(mode="json")
    doc["theater"]["railways"] = [{"id": "rail", "name": "Line", "provenance": {"source": "assumption", "note": "t"},
                                   "coordinates": [[110.1, 26.8], [110.9, 26.8]]}]
    sc = Scenario.model_validate(doc)
    html = build_report(sc, toy_results(sc))
    assert 'data-key="railway"' in html and 'class="railway"' in html


def test_report_front_per_step_and_overview():
    from report_fixtures import toy_results
    from xuefeng.viz.report import build_report

    sc = toy_scenario()
    res = toy_results(sc)
    html = build_report(sc, res)
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    assert len(data["frontIndex"]) == res.series.sizes["time"]
    assert all(0 <= k < len(data["fronts"]) for k in data["frontIndex"])
    for d in data["fronts"]:
        # each path's pieces are simple lines
        for piece in filter(None, d.split("M")):
            pts = [tuple(map(float, p.split(","))) for p in piece.split(" L")]
            assert shapely.LineString(pts).is_simple
    assert 'id="overview-map"' in html
    assert html.count('class="overview-front"') >= 2


def test_plot_map_has_legend_scale_bar_north_arrow(west_hunan):
    import matplotlib.pyplot as plt

    from xuefeng.viz.plots import plot_map, plot_overview

    sc, hm, res = west_hunan
    for fig in (plot_map(sc, res, hexmap=hm), plot_overview(sc, res, hexmap=hm)):
        ax = fig.axes[0]
        legend = ax.get_legend()
        assert legend is not None
        labels = [t.get_text() for t in legend.get_texts()]
        assert "mountains" in labels and "highway" in labels and "river" in labels
        gids = {a.get_gid() for a in ax.get_children()}
        assert "scale-bar" in gids and "north-arrow" in gids
        names = {t.get_text() for t in ax.texts}
        assert "Xuefeng Mountains" in names and "Zi River" in names and "Dongkou" in names
        plt.close(fig)
    fig = plot_map(sc, res, hexmap=hm)
    ax = fig.axes[0]
    assert "front line" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(ln.get_gid() == "front-line" for ln in ax.lines)
    plt.close(fig)


def test_plot_strengths_labels_formations(west_hunan):
    import matplotlib.pyplot as plt

    from xuefeng.viz.plots import plot_strengths

    sc, _, res = west_hunan
    fig = plot_strengths(sc, res)
    per_side = fig.axes[1:]
    assert len(per_side) == 2
    for ax in per_side:
        leg = ax.get_legend()
        assert leg is not None and len(leg.get_texts()) == len(ax.lines)
    assert sum(len(ax.lines) for ax in per_side) < 29  # aggregated, not one line per unit
    plt.close(fig)
