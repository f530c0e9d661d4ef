"""Tests of the hex map (xuefeng.geo) on a small hand-made theater."""

from __future__ import annotations

import ast
import inspect
import math

import h3
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from xuefeng.geo import (
    TERRAIN_CLASSES,
    HexMap,
    MovementParams,
    build_hexmap,
    cost_to_go,
    cost_to_go_fields,
    next_step_toward,
)
from xuefeng.geo import movement as movement_module
from xuefeng.scenario.schema import TerrainClass, Theater

PROV = {"source": "assumption", "note": "test theater"}
RIVER_LON = 110.52  # a straight north-south river
ROAD_LAT = 27.3  # an east-west highway across it
MOUNTAIN = [(110.6, 27.55), (110.95, 27.55), (110.95, 27.95), (110.6, 27.95)]
FOREST_IN_MOUNTAIN = [(110.85, 27.85), (110.95, 27.85), (110.95, 27.95), (110.85, 27.95)]
LAKE = [(110.1, 27.75), (110.25, 27.75), (110.25, 27.9), (110.1, 27.9)]


def make_theater(*, roads: bool = True, resolution: int = 6, rivers: bool = True) -> Theater:
    return Theater.model_validate({
        "bounds": {"west": 110.0, "south": 27.0, "east": 111.0, "north": 28.0},
        "h3_resolution": resolution,
        "default_terrain": "flat",
        "terrain": [
            {"id": "range", "name": "Range", "terrain": "mountains", "polygon": MOUNTAIN,
             "elevation_m": 1200, "provenance": PROV},
            {"id": "wood", "name": "Wood", "terrain": "forest", "polygon": FOREST_IN_MOUNTAIN,
             "provenance": PROV},
            {"id": "lake", "name": "Lake", "terrain": "water", "polygon": LAKE, "provenance": PROV},
        ],
        "rivers": [
            {"id": "river", "name": "River", "coordinates": [(RIVER_LON, 27.0), (RIVER_LON, 28.0)],
             "provenance": PROV},
        ] if rivers else [],
        "roads": [
            {"id": "highway", "name": "Highway", "road_class": "highway",
             "coordinates": [(110.08, ROAD_LAT), (110.5, ROAD_LAT + 0.02), (110.92, ROAD_LAT)],
             "provenance": PROV},
            {"id": "lake-road", "name": "Causeway", "road_class": "track",
             "coordinates": [(110.05, 27.82), (110.3, 27.82)], "provenance": PROV},
        ] if roads else [],
        "towns": [
            {"id": "west-town", "name": "West", "location": {"lat": ROAD_LAT, "lon": 110.08}, "provenance": PROV},
            {"id": "east-town", "name": "East", "location": {"lat": ROAD_LAT, "lon": 110.92}, "provenance": PROV},
        ],
        "airfields": [
            {"id": "strip", "name": "Strip", "location": {"lat": 27.1, "lon": 110.3}, "side": "a",
             "provenance": PROV},
        ],
    })


@pytest.fixture(scope="module")
def hm() -> HexMap:
    return build_hexmap(make_theater())


@pytest.fixture(scope="module")
def hm_noroads() -> HexMap:
    return build_hexmap(make_theater(roads=False))


def edges(hm: HexMap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i, k = np.nonzero(hm.neighbours >= 0)
    return i, k, hm.neighbours[i, k]


# ---------------------------------------------------------------------- grid


def test_cells_are_exactly_those_with_centre_in_bounds(hm: HexMap) -> None:
    assert hm.cells.shape == hm.lat.shape == hm.lon.shape == (hm.n_cells,)
    assert hm.n_cells > 200
    assert np.all((hm.lat >= 27) & (hm.lat <= 28) & (hm.lon >= 110) & (hm.lon <= 111))
    # brute force: every cell in a big disk around the middle whose centre is in bounds
    disk = h3.grid_disk(h3.latlng_to_cell(27.5, 110.5, 6), 25)
    expected = {c for c in disk
                if 27 <= h3.cell_to_latlng(c)[0] <= 28 and 110 <= h3.cell_to_latlng(c)[1] <= 111}
    assert set(hm.cells.tolist()) == expected
    assert all(h3.get_resolution(c) == 6 for c in hm.cells)
    lat, lon = zip(*(h3.cell_to_latlng(c) for c in hm.cells))
    np.testing.assert_allclose(hm.lat, lat)
    np.testing.assert_allclose(hm.lon, lon)


def test_neighbours_symmetric_and_h3_neighbours(hm: HexMap) -> None:
    nb = hm.neighbours
    assert nb.shape == (hm.n_cells, 6) and nb.dtype == np.int32
    i, k, j = edges(hm)
    assert np.all(np.any(nb[j] == i[:, None], axis=1))  # j lists i back
    assert np.all(nb[j, hm.reverse_slot[i, k]] == i)
    for a, b in zip(i, j):
        assert h3.are_neighbor_cells(hm.cells[a], hm.cells[b])
    # no duplicates in a row, and interior cells (all 6 ring cells on the map) have 6
    for a in range(hm.n_cells):
        row = nb[a][nb[a] >= 0]
        assert len(set(row.tolist())) == len(row)
        on_map = sum(c in set(hm.cells.tolist()) for c in h3.grid_ring(hm.cells[a], 1))
        assert len(row) == on_map
    assert (nb >= 0).all(axis=1).sum() > hm.n_cells // 2


def test_edge_km(hm: HexMap) -> None:
    i, k, j = edges(hm)
    gc = np.array([h3.great_circle_distance(h3.cell_to_latlng(hm.cells[a]), h3.cell_to_latlng(hm.cells[b]))
                   for a, b in zip(i, j)])
    np.testing.assert_allclose(hm.edge_km[i, k], gc, rtol=1e-4)
    assert np.all(np.isinf(hm.edge_km[hm.neighbours < 0]))
    # neighbouring centres at res 6 are ~ sqrt(3) * edge length apart
    assert 5.5 < float(np.median(hm.edge_km[i, k])) < 7.5


def test_arrays_read_only_and_build_is_cached(hm: HexMap) -> None:
    with pytest.raises(ValueError):
        hm.terrain[0] = 0
    assert build_hexmap(make_theater()) is hm


# ---------------------------------------------------------------------- terrain


def test_terrain_from_polygons(hm: HexMap) -> None:
    assert hm.terrain.dtype == np.int8
    assert TERRAIN_CLASSES == tuple(t.value for t in TerrainClass)
    mountain = hm.cell_of(27.7, 110.75)
    assert hm.terrain_name(mountain) == "mountains"
    assert hm.elevation_m[mountain] == pytest.approx(1200)
    forest = hm.cell_of(27.9, 110.9)  # later region overrides the earlier one
    assert hm.terrain_name(forest) == "forest"
    assert hm.elevation_m[forest] == pytest.approx(1200)  # keeps the known elevation
    flat = hm.cell_of(27.2, 110.2)
    assert hm.terrain_name(flat) == "flat"
    assert math.isnan(hm.elevation_m[flat])
    # exactly the cells with centres in the polygon (minus the forest) are mountains
    inside = shapely.contains_xy(shapely.Polygon(MOUNTAIN), hm.lon, hm.lat)
    in_forest = shapely.contains_xy(shapely.Polygon(FOREST_IN_MOUNTAIN), hm.lon, hm.lat)
    is_mtn = hm.terrain == TERRAIN_CLASSES.index("mountains")
    np.testing.assert_array_equal(is_mtn, inside & ~in_forest)
    assert inside.sum() > 10


# ---------------------------------------------------------------------- roads and rivers


def test_road_path_contiguous_and_edges_both_ways(hm: HexMap) -> None:
    path = hm.road_path("highway")
    assert path[0] == hm.place_cells["west-town"]
    assert path[-1] == hm.place_cells["east-town"]
    assert len(path) > 10
    for a, b in zip(path[:-1], path[1:]):
        assert h3.are_neighbor_cells(hm.cells[a], hm.cells[b])
        k = int(np.flatnonzero(hm.neighbours[a] == b)[0])
        kb = int(np.flatnonzero(hm.neighbours[b] == a)[0])
        assert hm.edge_road[a, k] == 3 and hm.edge_road[b, kb] == 3
    # symmetric everywhere, and only along the two roads
    i, k, j = edges(hm)
    np.testing.assert_array_equal(hm.edge_road[i, k], hm.edge_road[j, hm.reverse_slot[i, k]])
    assert set(np.unique(hm.edge_road).tolist()) == {0, 1, 3}
    road_cells = set(path.tolist()) | set(hm.road_path("lake-road").tolist())
    assert set(np.nonzero((hm.edge_road > 0).any(axis=1))[0].tolist()) <= road_cells
    with pytest.raises(KeyError):
        hm.road_path("nope")


def test_river_crossings(hm: HexMap, hm_noroads: HexMap) -> None:
    i, k, j = edges(hm_noroads)
    straddle = (hm_noroads.lon[i] - RIVER_LON) * (hm_noroads.lon[j] - RIVER_LON) < 0
    np.testing.assert_array_equal(hm_noroads.edge_river[i, k], straddle)
    assert straddle.sum() > 20
    assert not hm_noroads.edge_ford.any()  # the river is not fordable
    # river cells: a north-south band around the river line
    rc = np.flatnonzero(hm.river_cells)
    assert len(rc) > 15
    assert np.all(np.abs(hm.lon[rc] - RIVER_LON) < 0.05)
    path = hm.river_path("river")
    for a, b in zip(path[:-1], path[1:]):
        assert h3.are_neighbor_cells(hm.cells[a], hm.cells[b])
    # with the highway: the edge where the road crosses the river is a bridge
    i, k, j = edges(hm)
    straddle = (hm.lon[i] - RIVER_LON) * (hm.lon[j] - RIVER_LON) < 0
    bridged = straddle & (hm.edge_road[i, k] == 3)
    assert bridged.sum() >= 2  # both directions
    assert not hm.edge_river[i, k][bridged].any()
    np.testing.assert_array_equal(hm.edge_river[i, k], straddle & (hm.edge_road[i, k] == 0))


def test_fordable_river_sets_edge_ford() -> None:
    th = make_theater(roads=False)
    river = th.rivers[0].model_copy(update={"fordable": True})
    hm = build_hexmap(th.model_copy(update={"rivers": [river]}))
    np.testing.assert_array_equal(hm.edge_ford, hm.edge_river)
    assert hm.edge_ford.any()
    foot = hm.edge_hours("foot")
    ref = build_hexmap(make_theater(roads=False)).edge_hours("foot")
    assert np.all(foot[hm.edge_river] < ref[hm.edge_river])


def test_place_cells(hm: HexMap) -> None:
    assert set(hm.place_cells) == {"west-town", "east-town", "strip"}
    assert hm.place_cells["strip"] == hm.cell_of(27.1, 110.3)
    assert hm.cells[hm.place_cells["strip"]] == h3.latlng_to_cell(27.1, 110.3, 6)


# ---------------------------------------------------------------------- lookups and distances


def test_cell_of_and_cells_of(hm: HexMap) -> None:
    lat = np.array([27.1, 27.5, 27.9])
    lon = np.array([110.1, 110.5, 110.9])
    idx = hm.cells_of(lat, lon)
    assert idx.shape == (3,)
    assert list(idx) == [hm.cell_of(a, o) for a, o in zip(lat, lon)]
    for n, (a, o) in enumerate(zip(lat, lon)):
        assert hm.cells[idx[n]] == h3.latlng_to_cell(a, o, 6)
    # a point in bounds on the border whose own cell's centre is outside still maps
    edge_idx = hm.cell_of(27.0, 110.0)
    assert hm.distance_km_to(27.0, 110.0)[edge_idx] == pytest.approx(hm.distance_km_to(27.0, 110.0).min())
    with pytest.raises(ValueError, match=r"28\.5.*110\.5"):
        hm.cell_of(28.5, 110.5)
    with pytest.raises(ValueError, match="outside the map"):
        hm.cells_of([27.5, 27.5], [110.5, 112.0])
    assert hm.index_of(hm.cells[7]) == 7


def test_distances(hm: HexMap) -> None:
    a, b = hm.place_cells["west-town"], hm.place_cells["east-town"]
    d = hm.distance_km(a, b)
    assert 75 < d < 90  # 0.84 deg of longitude at 27.3 N ~ 83 km
    assert hm.distance_km(a).shape == (hm.n_cells,)
    assert hm.distance_km(a)[b] == pytest.approx(d)
    assert hm.distance_km_to(hm.lat[a], hm.lon[a])[a] == pytest.approx(0, abs=1e-9)
    np.testing.assert_allclose(hm.distance_km(np.array([a, b]), np.array([b, a])), [d, d])


def test_geojson(hm: HexMap) -> None:
    gj = hm.to_geojson()
    assert gj["type"] == "FeatureCollection"
    assert len(gj["features"]) == hm.n_cells
    f = gj["features"][hm.cell_of(27.7, 110.75)]
    assert f["properties"]["terrain"] == "mountains"
    ring = f["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    poly = shapely.Polygon(ring)
    assert poly.contains(shapely.Point(hm.lon[f["properties"]["index"]], hm.lat[f["properties"]["index"]]))


# ---------------------------------------------------------------------- movement costs


def _slot(hm: HexMap, a: int, b: int) -> int:
    return int(np.flatnonzero(hm.neighbours[a] == b)[0])


def test_edge_hours_shapes_and_modes(hm: HexMap) -> None:
    for mode in ("foot", "motor"):
        eh = hm.edge_hours(mode)
        assert eh.shape == (hm.n_cells, 6)
        assert np.all(np.isinf(eh[hm.neighbours < 0]))
        assert np.all(eh[np.isfinite(eh)] > 0)
    for mode in ("rail", "air", "horse"):
        with pytest.raises(ValueError, match="mode"):
            hm.edge_hours(mode)
    with pytest.raises(ValueError, match="weather"):
        hm.edge_hours("foot", weather=0)


def test_roads_faster_than_off_road(hm: HexMap, hm_noroads: HexMap) -> None:
    a, b = hm.place_cells["west-town"], hm.place_cells["east-town"]
    for mode in ("foot", "motor"):
        with_road = cost_to_go(hm, hm.edge_hours(mode), [b])[a]
        without = cost_to_go(hm_noroads, hm_noroads.edge_hours(mode), [b])[a]
        assert with_road < without
    # a highway edge takes the highway rate: km / 25 km/day * 24 h on foot
    path = hm.road_path("highway")
    p = MovementParams()
    k = _slot(hm, path[0], path[1])
    assert hm.edge_hours("foot")[path[0], k] == pytest.approx(hm.edge_km[path[0], k] / p.foot_highway * 24, rel=1e-5)


def test_mountains_slower_than_flat(hm: HexMap) -> None:
    foot = hm.edge_hours("foot")
    motor = hm.edge_hours("motor")
    i, k, j = edges(hm)
    no_road = (hm.edge_road[i, k] == 0) & ~hm.edge_river[i, k]
    to_mtn = no_road & (hm.terrain[j] == TERRAIN_CLASSES.index("mountains"))
    to_flat = no_road & (hm.terrain[j] == TERRAIN_CLASSES.index("flat"))
    per_km = foot[i, k] / hm.edge_km[i, k]
    assert per_km[to_mtn].min() > per_km[to_flat].max()
    assert np.all(np.isinf(motor[i, k][to_mtn]))  # no trucks in mountains off roads
    assert np.all(np.isfinite(motor[i, k][to_flat]))


def test_water_impassable_except_on_roads(hm: HexMap) -> None:
    foot = hm.edge_hours("foot")
    i, k, j = edges(hm)
    to_water = hm.terrain[j] == TERRAIN_CLASSES.index("water")
    assert to_water.sum() > 3
    on_road = hm.edge_road[i, k] > 0
    assert np.all(np.isinf(foot[i, k][to_water & ~on_road]))
    assert (to_water & on_road).any()  # the causeway
    assert np.all(np.isfinite(foot[i, k][to_water & on_road]))


def test_weather_scales_off_road_and_tracks_not_highways(hm: HexMap) -> None:
    dry, wet = hm.edge_hours("foot"), hm.edge_hours("foot", weather=2.0)
    i, k, j = edges(hm)
    fin = np.isfinite(dry[i, k])
    hwy = hm.edge_road[i, k] == 3
    track = hm.edge_road[i, k] == 1
    off = (hm.edge_road[i, k] == 0) & ~hm.edge_river[i, k] & fin
    np.testing.assert_allclose(wet[i, k][hwy], dry[i, k][hwy])
    np.testing.assert_allclose(wet[i, k][off], 2 * dry[i, k][off], rtol=1e-6)
    assert np.all(wet[i, k][track & fin] > dry[i, k][track & fin])


def test_river_penalty(hm_noroads: HexMap) -> None:
    p = MovementParams()
    foot = hm_noroads.edge_hours("foot", p)
    i, k, j = edges(hm_noroads)
    cross = hm_noroads.edge_river[i, k] & (hm_noroads.terrain[j] == 0)
    base = hm_noroads.edge_km[i, k] / p.foot_flat * 24
    np.testing.assert_allclose(foot[i, k][cross], base[cross] + p.foot_river_crossing_hours, rtol=1e-5)


def test_movement_params_documented() -> None:
    """Every parameter carries a docstring giving a source or 'assumption'."""
    tree = ast.parse(inspect.getsource(movement_module))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "MovementParams")
    body = cls.body
    fields = [n for n in body if isinstance(n, ast.AnnAssign)]
    assert len(fields) == len(MovementParams.__dataclass_fields__)
    for n in fields:
        nxt = body[body.index(n) + 1]
        assert isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant), n.target.id
        doc = nxt.value.value
        assert ("assumption" in doc or "FM " in doc or "Impassable" in doc
                or "Dupuy" in doc), (n.target.id, doc)
    with pytest.raises(ValueError):
        MovementParams(foot_flat=-1)


# ---------------------------------------------------------------------- cost-to-go


def check_field(hm: HexMap, eh: np.ndarray, targets: list[int]) -> np.ndarray:
    ctg = cost_to_go(hm, eh, targets)
    assert ctg.shape == (hm.n_cells,)
    assert np.all(ctg[targets] == 0)
    others = np.setdiff1d(np.arange(hm.n_cells), targets)
    assert np.all(ctg[others] > 0)
    nb = hm.neighbours
    has = nb >= 0
    via = np.where(has, eh + ctg[np.where(has, nb, 0)], np.inf)
    # Bellman: no edge offers a shortcut ...
    assert np.all(ctg[:, None] <= via + 1e-6 * (1 + np.abs(via)))
    # ... and every reachable non-target cell's value is achieved by some edge
    reach = np.isfinite(ctg)
    reach[targets] = False
    np.testing.assert_allclose(via.min(axis=1)[reach], ctg[reach], rtol=1e-9)
    return ctg


def follow(hm: HexMap, nxt: np.ndarray, start: np.ndarray) -> np.ndarray:
    pos = start.copy()
    for _ in range(hm.n_cells):
        new = nxt[pos]
        if np.array_equal(new, pos):
            break
        pos = new
    return pos


@pytest.mark.parametrize("mode", ["foot", "motor"])
def test_cost_to_go_and_next_step(hm: HexMap, mode: str) -> None:
    eh = hm.edge_hours(mode)
    target = hm.place_cells["east-town"]
    ctg = check_field(hm, eh, [target])
    reach = np.flatnonzero(np.isfinite(ctg))
    assert len(reach) > hm.n_cells // 2
    for nxt in (next_step_toward(hm, ctg), next_step_toward(hm, ctg, eh)):
        assert nxt.shape == (hm.n_cells,)
        assert nxt[target] == target
        end = follow(hm, nxt, reach)
        assert np.all(end == target)
        unreachable = np.flatnonzero(~np.isfinite(ctg))
        assert np.all(nxt[unreachable] == unreachable)
    # with edge_hours, following the policy costs exactly the field's value
    nxt = next_step_toward(hm, ctg, eh)
    pos, total = reach.copy(), np.zeros(len(reach))
    for _ in range(hm.n_cells):
        new = nxt[pos]
        moved = new != pos
        if not moved.any():
            break
        k = np.argmax(hm.neighbours[pos] == new[:, None], axis=1)
        total[moved] += eh[pos[moved], k[moved]]
        pos = new
    np.testing.assert_allclose(total, ctg[reach], rtol=1e-9)
    if mode == "motor":  # mountains are unreachable by trucks except from inside
        assert np.isinf(ctg[hm.cell_of(27.75, 110.78)])


def test_stacked_fields_and_many_targets(hm: HexMap) -> None:
    eh = hm.edge_hours("foot")
    a, b = hm.place_cells["west-town"], hm.place_cells["east-town"]
    fields = cost_to_go_fields(hm, eh, [[a], [b], [a, b]])
    np.testing.assert_allclose(fields[0], cost_to_go(hm, eh, [a]))
    np.testing.assert_allclose(fields[2], np.minimum(fields[0], fields[1]))
    nxt = next_step_toward(hm, fields, eh)
    assert nxt.shape == fields.shape
    np.testing.assert_array_equal(nxt[1], next_step_toward(hm, fields[1], eh))
    with pytest.raises(ValueError):
        cost_to_go(hm, eh, [])
    with pytest.raises(ValueError):
        cost_to_go(hm, eh, [hm.n_cells])


@settings(max_examples=25, deadline=None)
@given(data=st.data(), mode=st.sampled_from(["foot", "motor"]),
       weather=st.floats(min_value=1.0, max_value=3.0))
def test_bellman_random_targets(hm: HexMap, data: st.DataObject, mode: str, weather: float) -> None:
    targets = data.draw(st.lists(st.integers(0, hm.n_cells - 1), min_size=1, max_size=5, unique=True))
    eh = hm.edge_hours(mode, weather=weather)
    ctg = check_field(hm, eh, targets)
    nxt = next_step_toward(hm, ctg, eh)
    reach = np.flatnonzero(np.isfinite(ctg))
    assert np.all(np.isin(follow(hm, nxt, reach), targets))


def test_pentagon_has_five_neighbours() -> None:
    pent = next(c for c in h3.get_pentagons(4) if abs(h3.cell_to_latlng(c)[0]) < 60)
    lat, lon = h3.cell_to_latlng(pent)
    hm = build_hexmap(Theater.model_validate({
        "bounds": {"west": lon - 3, "east": lon + 3, "south": lat - 2, "north": lat + 2},
        "h3_resolution": 4}))
    i = hm.index_of(pent)
    assert (hm.neighbours[i] >= 0).sum() == 5
    assert np.isinf(hm.edge_km[i][hm.neighbours[i] < 0]).all()
    ii, kk, jj = edges(hm)
    assert np.all(hm.neighbours[jj, hm.reverse_slot[ii, kk]] == ii)
    ctg = cost_to_go(hm, hm.edge_hours("foot"), [i])
    assert np.isfinite(ctg).all()
