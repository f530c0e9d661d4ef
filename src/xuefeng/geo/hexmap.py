"""The hex map: H3 cells over a theater, with terrain, roads, rivers and
edge costs as flat NumPy arrays (DESIGN.md §2 "Map", §2b).

Everything is compiled once by `build_hexmap`; afterwards the engine only
gathers from arrays. All arrays of a `HexMap` are read-only, so one map can
be shared by many runs (and cached).

Conventions:
- ``C`` cells, sorted by H3 id (deterministic); ``neighbours[i, k]`` is the
  k-th neighbour of cell i, slots ordered counter-clockwise by bearing from
  east, ``-1`` where the neighbour is off the map (or a pentagon's missing
  sixth side). ``reverse_slot[i, k]`` is the slot of i in its neighbour's
  row, so ``neighbours[neighbours[i, k], reverse_slot[i, k]] == i``.
- Geometry (polygons, lines, edge segments) is planar in (lon, lat), as
  GeoJSON is; distances are great-circle.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
import shapely

from xuefeng.geo.movement import ROAD_CODES, TERRAIN_CLASSES, MovementParams
from xuefeng.scenario.schema import Theater

EARTH_RADIUS_KM = 6371.0088

_TERRAIN_INDEX = {t: i for i, t in enumerate(TERRAIN_CLASSES)}
_WATER = _TERRAIN_INDEX["water"]


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True, eq=False)
class HexMap:
    """A compiled theater map. Build it with `build_hexmap`."""

    resolution: int
    bounds: tuple[float, float, float, float]  # west, south, east, north
    cells: np.ndarray  # (C,) str h3 ids
    cell_ints: np.ndarray  # (C,) uint64 h3 ids, sorted (same order as cells)
    lat: np.ndarray  # (C,) float64
    lon: np.ndarray  # (C,) float64
    neighbours: np.ndarray  # (C, 6) int32, -1 = none
    reverse_slot: np.ndarray  # (C, 6) int8, -1 = none
    terrain: np.ndarray  # (C,) int8 index into TERRAIN_CLASSES
    elevation_m: np.ndarray  # (C,) float32, NaN unknown
    edge_road: np.ndarray  # (C, 6) int8: 0 none, 1 track, 2 road, 3 highway
    edge_rail: np.ndarray  # (C, 6) bool: a railway runs along the edge
    edge_river: np.ndarray  # (C, 6) bool: crosses a river with no road (bridge) on the edge
    edge_ford: np.ndarray  # (C, 6) bool: edge_river and every river it crosses is fordable
    river_cells: np.ndarray  # (C,) bool: a river runs through the cell
    edge_km: np.ndarray  # (C, 6) float32, inf where no neighbour
    place_cells: dict[str, int]  # town / airfield id -> cell index
    road_paths: dict[str, np.ndarray] = field(repr=False)  # road id -> ordered cell indices
    river_paths: dict[str, np.ndarray] = field(repr=False)  # river id -> ordered cell indices
    #: river id -> (n, 2) (cell, slot) of every directed edge whose centre-to-centre segment
    #: crosses the river, with or without a road on it (bridges: those with a road)
    river_crossings: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ basics
    @property
    def n_cells(self) -> int:
        return int(self.cells.shape[0])

    def __len__(self) -> int:
        return self.n_cells

    def terrain_name(self, i: int) -> str:
        return TERRAIN_CLASSES[int(self.terrain[i])]

    def index_of(self, cell: str) -> int:
        """Index of an h3 cell id; ValueError if the cell is not on the map."""
        idx = self._lookup_ints(np.array([h3.str_to_int(cell)], dtype=np.uint64))[0]
        if idx < 0:
            raise ValueError(f"h3 cell {cell} is not on the map")
        return int(idx)

    def _lookup_ints(self, ints: np.ndarray) -> np.ndarray:
        """Indices of h3 integer ids, -1 where not on the map."""
        pos = np.searchsorted(self.cell_ints, ints)
        pos = np.clip(pos, 0, max(self.n_cells - 1, 0))
        ok = self.cell_ints[pos] == ints if self.n_cells else np.zeros(ints.shape, bool)
        return np.where(ok, pos, -1).astype(np.int64)

    def _in_bounds(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        w, s, e, n = self.bounds
        return (lat >= s) & (lat <= n) & (lon >= w) & (lon <= e)

    def cells_of(self, lat: Any, lon: Any) -> np.ndarray:
        """Cell index of each point (vectorised over arrays).

        A point inside the theater bounds whose own H3 cell has its centre just
        outside the bounds (a border cell) maps to the nearest map cell.
        Raises ValueError naming the first point outside the bounds.
        """
        lat_a = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        lon_a = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        if lat_a.shape != lon_a.shape:
            raise ValueError(f"cells_of: lat and lon shapes differ: {lat_a.shape} vs {lon_a.shape}")
        flat_lat, flat_lon = lat_a.ravel(), lon_a.ravel()
        inside = self._in_bounds(flat_lat, flat_lon)
        if not inside.all():
            j = int(np.argmin(inside))
            w, s, e, n = self.bounds
            raise ValueError(
                f"point (lat {flat_lat[j]}, lon {flat_lon[j]}) is outside the map "
                f"(lat {s}..{n}, lon {w}..{e})")
        res = self.resolution
        ints = np.fromiter(
            (h3.str_to_int(h3.latlng_to_cell(a, o, res)) for a, o in zip(flat_lat, flat_lon)),
            dtype=np.uint64, count=flat_lat.size)
        idx = self._lookup_ints(ints)
        for j in np.flatnonzero(idx < 0):  # border points: nearest map cell
            idx[j] = int(np.argmin(haversine_km(self.lat, self.lon, flat_lat[j], flat_lon[j])))
        return idx.reshape(lat_a.shape)

    def cell_of(self, lat: float, lon: float) -> int:
        """Cell index of one point; ValueError naming the point if it is off the map."""
        return int(self.cells_of(lat, lon)[0])

    def road_path(self, road_id: str) -> np.ndarray:
        """Ordered cell indices a road runs through (cells off the map dropped)."""
        try:
            return self.road_paths[road_id]
        except KeyError:
            raise KeyError(f"unknown road id {road_id!r} (roads: {sorted(self.road_paths)})") from None

    def bridge_edge(self, river_id: str, lat: float, lon: float, max_km: float) -> tuple[int, int] | None:
        """(cell, slot) of the road edge over `river_id` whose midpoint is nearest (lat, lon),
        within max_km of it; None where no road crosses the river there."""
        ed = self.river_crossings.get(river_id)
        if ed is None or ed.size == 0:
            return None
        cell, slot = ed[:, 0], ed[:, 1]
        road = self.edge_road[cell, slot] > 0
        if not road.any():
            return None
        cell, slot = cell[road], slot[road]
        nb = self.neighbours[cell, slot]
        d = haversine_km(lat, lon, (self.lat[cell] + self.lat[nb]) / 2, (self.lon[cell] + self.lon[nb]) / 2)
        k = int(np.argmin(d))
        return (int(cell[k]), int(slot[k])) if d[k] <= max_km else None

    def river_path(self, river_id: str) -> np.ndarray:
        """Ordered cell indices a river runs through."""
        try:
            return self.river_paths[river_id]
        except KeyError:
            raise KeyError(f"unknown river id {river_id!r} (rivers: {sorted(self.river_paths)})") from None

    # ------------------------------------------------------------------ distances
    def distance_km(self, i: Any, j: Any = None) -> np.ndarray:
        """Great-circle km between cells i and j (broadcasting index arrays);
        with j omitted, from every cell centre to cell i."""
        if j is None:
            return haversine_km(self.lat, self.lon, self.lat[i], self.lon[i])
        return haversine_km(self.lat[i], self.lon[i], self.lat[j], self.lon[j])

    def distance_km_to(self, lat: float, lon: float) -> np.ndarray:
        """Great-circle km from every cell centre to a point, shape (C,)."""
        return haversine_km(self.lat, self.lon, lat, lon)

    # ------------------------------------------------------------------ movement
    def edge_hours(self, mode: str, params: MovementParams | None = None,
                   weather: float = 1.0) -> np.ndarray:
        """Elapsed campaign hours (rest included) for a formation to move along
        each edge i -> neighbours[i, k]; shape (C, 6), inf where there is no
        neighbour or the move is impossible.

        The move uses the faster of the road on that edge (if any) and
        off-road movement at the destination cell's terrain rate. `weather`
        (>= 1 for mud, rain, snow) multiplies off-road and track costs;
        highways and roads are unaffected. An edge crossing a river with no
        road on it adds the mode's crossing (or ford) hours. Modes: 'foot',
        'motor'; 'rail' and 'air' raise ValueError.
        """
        p = params if params is not None else MovementParams()
        if not (math.isfinite(weather) and weather > 0):
            raise ValueError(f"weather factor must be a finite number > 0, got {weather!r}")
        return _edge_hours_cached(self, mode, p, float(weather))

    def rail_edge_hours(self, params: MovementParams | None = None) -> np.ndarray:
        """Hours for a train along each edge i -> neighbours[i, k], shape (C, 6): the edge's km at
        `rail_km_per_day` where a railway runs along it, inf elsewhere (trains leave no line)."""
        p = params if params is not None else MovementParams()
        with np.errstate(divide="ignore"):
            h = np.where(self.edge_rail & (self.neighbours >= 0),
                         self.edge_km.astype(np.float64) * 24.0 / p.rail_km_per_day, np.inf)
        h.setflags(write=False)
        return h

    # ------------------------------------------------------------------ export
    def to_geojson(self) -> dict[str, Any]:
        """FeatureCollection, one Polygon per cell ([lon, lat] rings, closed),
        properties: index, cell, terrain, elevation_m (None if unknown), river."""
        feats = []
        for i, c in enumerate(self.cells):
            ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(str(c))]
            ring.append(ring[0])
            elev = float(self.elevation_m[i])
            feats.append({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "index": i,
                    "cell": str(c),
                    "terrain": TERRAIN_CLASSES[int(self.terrain[i])],
                    "elevation_m": None if math.isnan(elev) else elev,
                    "river": bool(self.river_cells[i]),
                },
            })
        return {"type": "FeatureCollection", "features": feats}


def unbridged_edge_hours(hm: HexMap, mode: str, cells: np.ndarray, slots: np.ndarray, fordable: np.ndarray,
                         params: MovementParams | None = None, weather: float = 1.0) -> np.ndarray:
    """Hours along the edges (cells[i], slots[i]) as if no road bridged the river each crosses
    (a blown bridge): off-road at the destination cell's terrain rate plus the mode's crossing
    hours, or its ford hours where the river is fordable (`fordable[i]`)."""
    p = params if params is not None else MovementParams()
    terrain_rate = p.terrain_km_per_day(mode)
    crossing_h, ford_h = p.river_hours(mode)
    cells, slots = np.asarray(cells, np.int64), np.asarray(slots, np.int64)
    dest = hm.neighbours[cells, slots]
    km = hm.edge_km[cells, slots].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        off = km * 24.0 / terrain_rate[hm.terrain[dest]] * weather
    off = np.where(np.isnan(off), np.inf, off)
    return off + np.where(np.asarray(fordable, bool), ford_h, crossing_h)


@functools.lru_cache(maxsize=32)
def _edge_hours_cached(hm: HexMap, mode: str, p: MovementParams, weather: float) -> np.ndarray:
    terrain_rate = p.terrain_km_per_day(mode)  # validates mode
    road_rate = p.road_km_per_day(mode)
    crossing_h, ford_h = p.river_hours(mode)
    nb = hm.neighbours
    has = nb >= 0
    dest_t = hm.terrain[np.where(has, nb, 0)]
    km = hm.edge_km.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(has, km * 24.0 / terrain_rate[dest_t] * weather, np.inf)
        rr = road_rate[hm.edge_road]
        on = np.where(has & (hm.edge_road > 0), km * 24.0 / rr, np.inf)
    on = np.where(hm.edge_road == ROAD_CODES["track"], on * weather, on)
    off = np.where(np.isnan(off), np.inf, off)
    on = np.where(np.isnan(on), np.inf, on)
    river = np.where(hm.edge_river, np.where(hm.edge_ford, ford_h, crossing_h), 0.0)
    out = np.minimum(on, off + river)
    out.setflags(write=False)
    return out


# ---------------------------------------------------------------------- building


_BUILD_CACHE: dict[str, HexMap] = {}
_BUILD_CACHE_SIZE = 8


def build_hexmap(theater: Theater) -> HexMap:
    """Compile a theater into a `HexMap`.

    Pure: the map depends only on the theater's content, so equal theaters
    share one (read-only) map from a small cache.
    """
    key = theater.model_dump_json()
    hm = _BUILD_CACHE.get(key)
    if hm is None:
        hm = _build(theater)
        if len(_BUILD_CACHE) >= _BUILD_CACHE_SIZE:
            _BUILD_CACHE.pop(next(iter(_BUILD_CACHE)))
        _BUILD_CACHE[key] = hm
    return hm


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _cells_in_bounds(theater: Theater) -> list[str]:
    b = theater.bounds
    res = theater.h3_resolution
    # pad by two edge lengths so cells whose centre sits on a bound are not lost,
    # then keep exactly those whose centre lies in the (closed) bounds.
    pad_km = 2 * h3.average_hexagon_edge_length(res, unit="km")
    dlat = pad_km / 111.0
    dlon = pad_km / (111.0 * max(math.cos(math.radians(max(abs(b.south), abs(b.north)))), 0.05))
    s, n = max(b.south - dlat, -89.9), min(b.north + dlat, 89.9)
    w, e = max(b.west - dlon, -179.9), min(b.east + dlon, 179.9)
    poly = h3.LatLngPoly([(s, w), (s, e), (n, e), (n, w)])
    cand = h3.h3shape_to_cells(poly, res)
    out = []
    for c in cand:
        lat, lon = h3.cell_to_latlng(c)
        if b.south <= lat <= b.north and b.west <= lon <= b.east:
            out.append(c)
    return out


def _trace(coords: Sequence[tuple[float, float]], res: int, step_km: float) -> list[str]:
    """Ordered H3 cells along a [lon, lat] polyline; consecutive cells are
    neighbours (gaps filled with grid_path_cells)."""
    pts_lon: list[np.ndarray] = []
    pts_lat: list[np.ndarray] = []
    for (lon0, lat0), (lon1, lat1) in zip(coords[:-1], coords[1:]):
        d = float(haversine_km(lat0, lon0, lat1, lon1))
        n = max(1, math.ceil(d / step_km))
        t = np.arange(n) / n
        pts_lon.append(lon0 + t * (lon1 - lon0))
        pts_lat.append(lat0 + t * (lat1 - lat0))
    pts_lon.append(np.array([coords[-1][0]]))
    pts_lat.append(np.array([coords[-1][1]]))
    lons, lats = np.concatenate(pts_lon), np.concatenate(pts_lat)
    path: list[str] = []
    for lat, lon in zip(lats, lons):
        c = h3.latlng_to_cell(float(lat), float(lon), res)
        if path and c == path[-1]:
            continue
        if path and not h3.are_neighbor_cells(path[-1], c):
            try:
                fill = h3.grid_path_cells(path[-1], c)
                path.extend(fill[1:-1])
            except h3.H3BaseException:  # pentagon distortion: leave the gap
                pass
        path.append(c)
    return path


def _build(theater: Theater) -> HexMap:
    res = theater.h3_resolution
    b = theater.bounds
    cell_list = _cells_in_bounds(theater)
    if not cell_list:
        raise ValueError(
            f"theater bounds (lat {b.south}..{b.north}, lon {b.west}..{b.east}) contain no H3 cell "
            f"centre at resolution {res}; enlarge the bounds or raise h3_resolution")
    ints = np.array(sorted(h3.str_to_int(c) for c in cell_list), dtype=np.uint64)
    cells = np.array([h3.int_to_str(int(i)) for i in ints])
    C = len(cells)
    latlon = np.array([h3.cell_to_latlng(c) for c in cells], dtype=np.float64)
    lat, lon = latlon[:, 0].copy(), latlon[:, 1].copy()

    def lookup(int_arr: np.ndarray) -> np.ndarray:
        pos = np.clip(np.searchsorted(ints, int_arr), 0, C - 1)
        return np.where(ints[pos] == int_arr, pos, -1)

    # ---- neighbours, ordered by bearing (counter-clockwise from east)
    nb_ints = np.zeros((C, 6), dtype=np.uint64)
    nb_valid = np.zeros((C, 6), dtype=bool)
    for i, c in enumerate(cells):
        ring = [r for r in h3.grid_disk(str(c), 1) if r != c]  # grid_disk is pentagon-safe
        for k, r in enumerate(ring[:6]):
            nb_ints[i, k] = h3.str_to_int(r)
            nb_valid[i, k] = True
    nb = np.where(nb_valid, lookup(nb_ints), -1)
    safe = np.where(nb >= 0, nb, 0)
    ang = np.arctan2(lat[safe] - lat[:, None], (lon[safe] - lon[:, None]) * np.cos(np.radians(lat))[:, None])
    ang = np.where(nb >= 0, np.mod(ang, 2 * np.pi), np.inf)
    order = np.argsort(ang, axis=1, kind="stable")
    nb = np.take_along_axis(nb, order, axis=1).astype(np.int32)
    has = nb >= 0
    safe = np.where(has, nb, 0)
    back = (nb[safe] == np.arange(C, dtype=np.int32)[:, None, None])  # (C, 6, 6)
    reverse_slot = np.where(has, np.argmax(back, axis=2), -1).astype(np.int8)
    if not np.all(back.any(axis=2)[has]):
        raise AssertionError("neighbour table is not symmetric")  # a bug, not a user error

    edge_km = np.where(has, haversine_km(lat[:, None], lon[:, None], lat[safe], lon[safe]), np.inf)

    # ---- terrain and elevation
    terrain = np.full(C, _TERRAIN_INDEX[theater.default_terrain.value], dtype=np.int8)
    elevation = np.full(C, np.nan, dtype=np.float32)
    for region in theater.terrain:
        poly = shapely.Polygon(region.polygon)
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
        inside = shapely.contains_xy(poly, lon, lat)
        terrain[inside] = _TERRAIN_INDEX[region.terrain.value]
        if region.elevation_m is not None:
            elevation[inside] = region.elevation_m

    def set_edges(path_idx: np.ndarray, target: np.ndarray, value: int) -> None:
        """For consecutive (a, b) map cells that are neighbours, raise target on a->b and b->a."""
        if path_idx.size < 2:
            return
        a, bb = path_idx[:-1], path_idx[1:]
        ok = (a >= 0) & (bb >= 0)
        a, bb = a[ok], bb[ok]
        match = nb[a] == bb[:, None]
        hit = match.any(axis=1)
        a, bb, k = a[hit], bb[hit], np.argmax(match[hit], axis=1)
        kb = reverse_slot[a, k]
        np.maximum.at(target, (a, k), value)
        np.maximum.at(target, (bb, kb), value)

    step_km = h3.average_hexagon_edge_length(res, unit="km") / 4.0

    def trace_idx(coords: Sequence[tuple[float, float]]) -> np.ndarray:
        path = _trace(coords, res, step_km)
        return lookup(np.array([h3.str_to_int(c) for c in path], dtype=np.uint64)).astype(np.int64)

    # ---- roads
    edge_road = np.zeros((C, 6), dtype=np.int8)
    road_paths: dict[str, np.ndarray] = {}
    for road in theater.roads:
        idx = trace_idx(road.coordinates)
        set_edges(idx, edge_road, ROAD_CODES[road.road_class.value])
        kept = idx[idx >= 0]
        if kept.size:
            kept = kept[np.r_[True, kept[1:] != kept[:-1]]]
        road_paths[road.id] = _ro(kept.astype(np.int64))

    # ---- railways (bridges included: a railway crosses its rivers)
    edge_rail = np.zeros((C, 6), dtype=np.int8)
    for rail in theater.railways:
        set_edges(trace_idx(rail.coordinates), edge_rail, 1)

    # ---- rivers: cells along them, and edges whose centre-to-centre segment meets them
    river_cells = np.zeros(C, dtype=bool)
    river_paths: dict[str, np.ndarray] = {}
    river_crossings: dict[str, np.ndarray] = {}
    crossed = np.zeros((C, 6), dtype=bool)
    unfordable = np.zeros((C, 6), dtype=bool)
    if theater.rivers:
        ii, kk = np.nonzero(has & (nb > np.arange(C)[:, None]))  # each undirected edge once
        jj = nb[ii, kk]
        coords = np.stack([np.stack([lon[ii], lat[ii]], 1), np.stack([lon[jj], lat[jj]], 1)], 1)
        segs = shapely.linestrings(coords)
        tree = shapely.STRtree(segs)
        lines = [shapely.LineString(r.coordinates) for r in theater.rivers]
        r_idx, s_idx = tree.query(lines, predicate="intersects")
        fordable = np.array([r.fordable for r in theater.rivers], dtype=bool)
        ei, ek = ii[s_idx], kk[s_idx]
        ej, ejk = jj[s_idx], reverse_slot[ii[s_idx], kk[s_idx]]
        crossed[ei, ek] = True
        crossed[ej, ejk] = True
        nf = ~fordable[r_idx]
        unfordable[ei[nf], ek[nf]] = True
        unfordable[ej[nf], ejk[nf]] = True
        for r_k, river in enumerate(theater.rivers):
            m = r_idx == r_k
            both = np.concatenate([np.stack([ei[m], ek[m]], 1), np.stack([ej[m], ejk[m]], 1)])
            river_crossings[river.id] = _ro(both.astype(np.int64))
        for river in theater.rivers:
            idx = trace_idx(river.coordinates)
            kept = idx[idx >= 0]
            river_cells[kept] = True
            if kept.size:
                kept = kept[np.r_[True, kept[1:] != kept[:-1]]]
            river_paths[river.id] = _ro(kept.astype(np.int64))
    edge_river = crossed & (edge_road == 0)
    edge_ford = edge_river & ~unfordable

    hm_partial = dict(
        resolution=res,
        bounds=(b.west, b.south, b.east, b.north),
        cells=_ro(cells),
        cell_ints=_ro(ints),
        lat=_ro(lat),
        lon=_ro(lon),
        neighbours=_ro(nb),
        reverse_slot=_ro(reverse_slot),
        terrain=_ro(terrain),
        elevation_m=_ro(elevation),
        edge_road=_ro(edge_road),
        edge_rail=_ro(edge_rail.astype(bool)),
        edge_river=_ro(edge_river),
        edge_ford=_ro(edge_ford),
        river_cells=_ro(river_cells),
        edge_km=_ro(edge_km.astype(np.float32)),
        road_paths=road_paths,
        river_paths=river_paths,
        river_crossings=river_crossings,
    )
    hm = HexMap(place_cells={}, **hm_partial)
    places = {}
    for p in (*theater.towns, *theater.airfields):
        try:
            places[p.id] = hm.cell_of(p.location.lat, p.location.lon)
        except ValueError as exc:
            raise ValueError(f"place '{p.id}': {exc}") from None
    hm.place_cells.update(places)
    return hm
