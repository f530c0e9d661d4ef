"""Cartography shared by the SVG report map and the matplotlib plots.

- `Projection`: an azimuthal equidistant projection (pyproj) centred on the
  theater, so distances and shapes are true to well under 1% over a theater a
  few hundred kilometres across (no stretching of longitude).
- `control_grids` / `front_lines`: the front line as the boundary between the
  ground each side controls. Control lives on a square grid of cells; a cell
  belongs to the side of the nearest live unit within `CONTROL_RADIUS_KM`, and
  keeps its last holder when no unit is that near (ground stays held until the
  enemy comes). Pockets smaller than `MIN_POCKET_KM2` are absorbed by the side
  around them, and the shared edges of the two sides' cells are merged
  (shapely) into a few simple lines: no loops of a lone unit, no fragments.
- `place_labels`: greedy label placement that tries candidate positions around
  each anchor against boxes already placed and obstacles (unit symbols,
  legend, scale bar), so no two labels collide.

Every tunable value is a module constant below, documented where it is set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Geod, Transformer
from scipy import ndimage
from scipy.spatial import cKDTree

#: Side of a control-grid cell, km (finer than a division's frontage, coarser than a hex's noise).
CONTROL_CELL_KM = 4.0
#: A unit holds the ground within this many km of it; beyond, ground keeps its last holder.
CONTROL_RADIUS_KM = 40.0
#: Enclaves of one side smaller than this (km²) are drawn as the surrounding side's: a little more
#: than the ground one unit holds alone (π·CONTROL_RADIUS_KM², with a quarter's margin for the
#: grid), so a lone unit behind the enemy's front draws no loop, while a pocket of several units shows.
MIN_POCKET_KM2 = 1.25 * math.pi * CONTROL_RADIUS_KM ** 2
#: Front-line pieces shorter than this (km) are dropped as fragments.
MIN_FRONT_PIECE_KM = 12.0
#: Douglas–Peucker tolerance of the drawn front line, in control cells.
FRONT_SIMPLIFY_CELLS = 0.9
#: Average glyph advance as a fraction of the font size (generous, so estimated boxes contain the
#: text: DejaVu Sans measured 0.48–0.60 em per character in Chromium for the West Hunan names).
CHAR_EM = 0.64
#: The same for bold italic, letter-spaced range names (measured 0.66 em).
CHAR_EM_BOLD = 0.74
#: Text box height as a fraction of the font size.
LINE_EM = 1.25
#: Blank margin kept around every label box, in map units.
LABEL_PAD = 1.5


class Projection:
    """Lon/lat → map x/y (x east, y down) over the theater bounds, `width` units wide.

    Azimuthal equidistant projection centred on the middle of the bounds; the map
    frame is the bounding box of the projected bounds outline."""

    def __init__(self, west: float, south: float, east: float, north: float, width: float = 1000.0) -> None:
        self.west, self.south, self.east, self.north, self.width = west, south, east, north, float(width)
        self.lon0, self.lat0 = (west + east) / 2, (south + north) / 2
        self.crs = (f"+proj=aeqd +lat_0={self.lat0} +lon_0={self.lon0} +x_0=0 +y_0=0 "
                    "+ellps=WGS84 +units=m +no_defs")
        self._fwd = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        self._inv = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        n = 64
        t = np.linspace(0, 1, n)
        lons = np.concatenate([west + (east - west) * t, np.full(n, east), east - (east - west) * t, np.full(n, west)])
        lats = np.concatenate([np.full(n, south), south + (north - south) * t, np.full(n, north),
                               north - (north - south) * t])
        mx, my = self._fwd.transform(lons, lats)
        self.xmin, self.xmax = float(np.min(mx)), float(np.max(mx))
        self.ymin, self.ymax = float(np.min(my)), float(np.max(my))
        self.scale = self.width / (self.xmax - self.xmin)  # map units per metre
        self.height = (self.ymax - self.ymin) * self.scale

    @classmethod
    def of(cls, scenario, width: float = 1000.0) -> Projection:
        b = scenario.theater.bounds
        return cls(b.west, b.south, b.east, b.north, width)

    @property
    def km_per_unit(self) -> float:
        return 1.0 / (self.scale * 1000.0)

    def metres(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Projected metres (x east, y north) of lon/lat."""
        return self._fwd.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))

    def xy_arrays(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        mx, my = self.metres(lon, lat)
        return (np.asarray(mx) - self.xmin) * self.scale, (self.ymax - np.asarray(my)) * self.scale

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        x, y = self.xy_arrays(lon, lat)
        return float(x), float(y)

    def lonlat(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of `xy_arrays`."""
        mx = np.asarray(x, dtype=float) / self.scale + self.xmin
        my = self.ymax - np.asarray(y, dtype=float) / self.scale
        return self._inv.transform(mx, my)

    def km(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Projected km from the map's west and south edges (x east, y north): for plots."""
        mx, my = self.metres(lon, lat)
        return (np.asarray(mx) - self.xmin) / 1000.0, (np.asarray(my) - self.ymin) / 1000.0

    @property
    def extent_km(self) -> tuple[float, float]:
        return (self.xmax - self.xmin) / 1000.0, (self.ymax - self.ymin) / 1000.0


GEOD = Geod(ellps="WGS84")


def nice_length(target: float) -> float:
    """A round length (1, 2, 5 × 10^k) not above `target`."""
    if target <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(target))
    return max(m * mag for m in (1, 2, 5) if m * mag <= target)


# --------------------------------------------------------------------------- front line


@dataclass(frozen=True)
class ControlGrid:
    """Which side holds each cell at each step: `side[t, i, j]` (-1 nobody), rows from the top."""

    side: np.ndarray  # (T, NY, NX) int8
    cell: float  # cell size in map units


def control_grids(x: np.ndarray, y: np.ndarray, side: np.ndarray, alive: np.ndarray,
                  width: float, height: float, km_per_unit: float) -> ControlGrid:
    """Control of the ground at every step from unit positions (T, U) in map units.

    `side` (U,) side index per unit; `alive` (T, U) the unit is on the map with men."""
    cell = CONTROL_CELL_KM / km_per_unit
    nx, ny = max(2, int(math.ceil(width / cell))), max(2, int(math.ceil(height / cell)))
    cx = (np.arange(nx) + 0.5) * cell
    cy = (np.arange(ny) + 0.5) * cell
    gx, gy = np.meshgrid(cx, cy)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    T = x.shape[0]
    sides = sorted({int(s) for s in side if s >= 0})
    radius = CONTROL_RADIUS_KM / km_per_unit
    min_cells = max(1, int(round(MIN_POCKET_KM2 / CONTROL_CELL_KM ** 2)))
    out = np.full((T, ny, nx), -1, dtype=np.int8)
    prev = np.full(ny * nx, -1, dtype=np.int8)
    for t in range(T):
        ok = alive[t] & np.isfinite(x[t]) & np.isfinite(y[t])
        best = np.full(len(pts), np.inf)
        who = np.full(len(pts), -1, dtype=np.int8)
        for s in sides:
            sel = ok & (side == s)
            if not sel.any():
                continue
            d, _ = cKDTree(np.stack([x[t, sel], y[t, sel]], axis=1)).query(pts)
            closer = d < best
            best[closer] = d[closer]
            who[closer] = s
        first = (prev < 0) & (who >= 0)
        now = np.where((best <= radius) | first, who, prev).astype(np.int8)
        grid = _absorb_pockets(now.reshape(ny, nx), min_cells)
        out[t] = grid
        prev = grid.ravel()
    return ControlGrid(out, cell)


def _absorb_pockets(grid: np.ndarray, min_cells: int) -> np.ndarray:
    """Enclaves (connected cells of one holder) smaller than `min_cells` go to the holder
    most common around them; repeated until none is left (small pockets inside pockets)."""
    g = grid.copy()
    for _ in range(4):
        changed = False
        for s in np.unique(g):
            if s < 0:
                continue
            lab, n = ndimage.label(g == s)
            if n <= 1:
                continue
            sizes = np.bincount(lab.ravel())
            for k in range(1, n + 1):
                if sizes[k] >= min_cells:
                    continue
                blob = lab == k
                ring = ndimage.binary_dilation(blob) & ~blob
                around = g[ring]
                around = around[around != s]
                if around.size:
                    g[blob] = np.bincount(around - around.min()).argmax() + around.min()
                    changed = True
        if not changed:
            break
    return g


def boundary_lines(grid: np.ndarray, cell: float, simplify: bool = True) -> list[shapely.LineString]:
    """The edges between cells of different holders (nobody's cells excepted), merged into
    lines, simplified, fragments shorter than MIN_FRONT_PIECE_KM·cell/CONTROL_CELL_KM dropped."""
    g = np.asarray(grid)
    segs: list[tuple[tuple[float, float], tuple[float, float]]] = []
    a, b = g[:, :-1], g[:, 1:]
    ii, jj = np.nonzero((a != b) & (a >= 0) & (b >= 0))
    for i, j in zip(ii, jj, strict=True):
        x = (j + 1) * cell
        segs.append(((x, i * cell), (x, (i + 1) * cell)))
    a, b = g[:-1, :], g[1:, :]
    ii, jj = np.nonzero((a != b) & (a >= 0) & (b >= 0))
    for i, j in zip(ii, jj, strict=True):
        y = (i + 1) * cell
        segs.append(((j * cell, y), ((j + 1) * cell, y)))
    if not segs:
        return []
    merged = shapely.line_merge(shapely.MultiLineString(segs))
    lines = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
    min_len = MIN_FRONT_PIECE_KM / CONTROL_CELL_KM * cell
    out = []
    for ln in lines:
        if ln.length < min_len:
            continue
        if simplify:
            ln = _smooth(ln.simplify(FRONT_SIMPLIFY_CELLS * cell, preserve_topology=True))
        out.append(ln)
    return out


def _smooth(line: shapely.LineString, rounds: int = 2) -> shapely.LineString:
    """Chaikin corner cutting (keeps the ends): takes the staircase off a raster edge."""
    p = np.asarray(line.coords)
    closed = len(p) > 3 and np.allclose(p[0], p[-1])
    for _ in range(rounds):
        if len(p) < 3:
            break
        q = 0.75 * p[:-1] + 0.25 * p[1:]
        r = 0.25 * p[:-1] + 0.75 * p[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        p = np.vstack([mid, mid[:1]]) if closed else np.vstack([p[:1], mid, p[-1:]])
    out = shapely.LineString(p)
    return out if out.is_simple else line


def front_lines(control: ControlGrid, step: int) -> list[np.ndarray]:
    """Front-line pieces at `step`, each an (N, 2) array of map x/y."""
    return [np.asarray(ln.coords) for ln in boundary_lines(control.side[step], control.cell)]


def path_d(pieces: Sequence[np.ndarray]) -> str:
    """SVG path data of line pieces."""
    return "".join("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in p) for p in pieces if len(p) >= 2)


# --------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def hits(self, o: Box) -> bool:
        return self.x0 < o.x1 and o.x0 < self.x1 and self.y0 < o.y1 and o.y0 < self.y1

    def inside(self, w: float, h: float) -> bool:
        return self.x0 >= 0 and self.y0 >= 0 and self.x1 <= w and self.y1 <= h


@dataclass(frozen=True)
class Label:
    """A name to place near (x, y); `offsets` are candidate (dx, dy, anchor) tried in order,
    anchor one of start/middle/end; dy is the text baseline offset."""

    key: str
    text: str
    x: float
    y: float
    size: float
    kind: str
    offsets: tuple[tuple[float, float, str], ...] = field(default=())
    em: float = CHAR_EM


@dataclass(frozen=True)
class Placed:
    label: Label
    tx: float  # text anchor point (baseline)
    ty: float
    anchor: str
    box: Box


def text_box(text: str, tx: float, ty: float, size: float, anchor: str, em: float = CHAR_EM) -> Box:
    """Estimated box of `text` drawn at baseline point (tx, ty) (generous, padded)."""
    w = len(text) * size * em
    x0 = tx - (w if anchor == "end" else w / 2 if anchor == "middle" else 0.0)
    return Box(x0 - LABEL_PAD, ty - size * 0.95 - LABEL_PAD, x0 + w + LABEL_PAD, ty + size * (LINE_EM - 0.95) + LABEL_PAD)


def point_offsets(r: float, size: float) -> tuple[tuple[float, float, str], ...]:
    """Positions around a point marker of radius r whose text boxes clear the marker's box
    (r + 1): right, left, above, below, the diagonals, then the same a little farther out."""
    out = []
    for extra in (0.0, size * 0.8, size * 1.8):
        g = r + 1 + LABEL_PAD + 1 + extra
        up = -(g + size * (LINE_EM - 0.95))  # baseline so the box's bottom clears the marker
        down = g + size * 0.95
        mid = size * 0.35
        out += [(g, mid, "start"), (-g, mid, "end"), (0, up, "middle"), (0, down, "middle"),
                (g * 0.7, up, "start"), (g * 0.7, down, "start"), (-g * 0.7, up, "end"), (-g * 0.7, down, "end")]
    return tuple(out)


def place_labels(labels: Sequence[Label], obstacles: Sequence[Box], width: float, height: float) -> list[Placed]:
    """Greedy: each label (in the order given, most important first) takes the first
    candidate position whose box stays on the map and hits neither a placed label nor an
    obstacle; a label with no free position is left out."""
    placed: list[Placed] = []
    taken = list(obstacles)
    for lab in labels:
        for dx, dy, anchor in lab.offsets or ((0.0, 0.0, "middle"),):
            tx, ty = lab.x + dx, lab.y + dy
            box = text_box(lab.text, tx, ty, lab.size, anchor, lab.em)
            if not box.inside(width, height) or any(box.hits(o) for o in taken):
                continue
            placed.append(Placed(lab, tx, ty, anchor, box))
            taken.append(box)
            break
    return placed

