"""Static SVG for the HTML report: the theater map, unit symbols, line charts, histograms.

Drawn in Python so that the report shows the map and charts even before its
script runs; the script only moves units, the front line and the chart cursor.
Coordinates use a local equirectangular projection of the theater's bounds
(longitude scaled by the cosine of the middle latitude), which is accurate
enough for a theater a few hundred kilometres across.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xuefeng.scenario.schema import Scenario

#: Fill colours of terrain classes (map and plots).
TERRAIN_COLORS: dict[str, str] = {
    "flat": "#eef3d2",
    "rolling": "#dbe8b0",
    "hills": "#d6c596",
    "mountains": "#b39b74",
    "forest": "#9cc88c",
    "marsh": "#b4dcd0",
    "urban": "#cfcfcf",
    "water": "#9fcbee",
}
ROAD_WIDTHS: dict[str, float] = {"highway": 3.0, "road": 2.0, "track": 1.2}
KM_PER_DEG_LAT = 111.32


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Projection:
    """Lon/lat → SVG x/y over the theater bounds, `width` units wide."""

    west: float
    south: float
    east: float
    north: float
    width: float = 1000.0

    @property
    def kx(self) -> float:
        return math.cos(math.radians((self.south + self.north) / 2))

    @property
    def scale(self) -> float:
        return self.width / ((self.east - self.west) * self.kx)

    @property
    def height(self) -> float:
        return (self.north - self.south) * self.scale

    @property
    def km_per_unit(self) -> float:
        return KM_PER_DEG_LAT / self.scale

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return ((lon - self.west) * self.kx * self.scale, (self.north - lat) * self.scale)

    def xy_arrays(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ((np.asarray(lon) - self.west) * self.kx * self.scale,
                (self.north - np.asarray(lat)) * self.scale)

    @classmethod
    def of(cls, scenario: Scenario, width: float = 1000.0) -> Projection:
        b = scenario.theater.bounds
        return cls(b.west, b.south, b.east, b.north, width)


def _path(proj: Projection, coords: Sequence[Sequence[float]], close: bool = False) -> str:
    pts = [proj.xy(float(c[0]), float(c[1])) for c in coords]
    d = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    return d + ("Z" if close else "")


def map_svg(scenario: Scenario, proj: Projection, hexgeo: dict[str, Any] | None,
            units_svg: str = "") -> str:
    """The theater: terrain (hex cells if a hex map is given, else the
    scenario's terrain polygons), rivers, roads, towns, airfields; then a front
    line path and the units layer."""
    th = scenario.theater
    w, h = proj.width, proj.height
    parts = [f'<svg id="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" '
             f'role="img" aria-label="Theater map">',
             f'<title>{esc(scenario.meta.title)}: theater map</title>',
             f'<rect class="terrain-bg t-{th.default_terrain.value}" x="0" y="0" width="{w:.0f}" '
             f'height="{h:.0f}" fill="{TERRAIN_COLORS.get(th.default_terrain.value, "#ddd")}"/>',
             '<g id="terrain">']
    if hexgeo and hexgeo.get("features"):
        by_terrain: dict[str, list[str]] = {}
        for f in hexgeo["features"]:
            ring = f["geometry"]["coordinates"][0]
            by_terrain.setdefault(f["properties"].get("terrain", "hills"), []).append(_path(proj, ring, True))
        for terrain, paths in sorted(by_terrain.items()):
            parts.append(f'<path class="hex t-{esc(terrain)}" data-terrain="{esc(terrain)}" '
                         f'fill="{TERRAIN_COLORS.get(terrain, "#ddd")}" d="{"".join(paths)}"/>')
    else:
        for r in th.terrain:
            parts.append(f'<path class="region t-{r.terrain.value}" data-terrain="{r.terrain.value}" '
                         f'fill="{TERRAIN_COLORS.get(r.terrain.value, "#ddd")}" '
                         f'd="{_path(proj, r.polygon, True)}"><title>{esc(r.name)}</title></path>')
    parts.append('</g><g id="rivers">')
    for r in th.rivers:
        parts.append(f'<path class="river" data-id="{esc(r.id)}" d="{_path(proj, r.coordinates)}">'
                     f'<title>{esc(r.name)}</title></path>')
    parts.append('</g><g id="roads">')
    for r in sorted(th.roads, key=lambda r: ROAD_WIDTHS.get(r.road_class.value, 1)):
        parts.append(f'<path class="road rc-{r.road_class.value}" data-id="{esc(r.id)}" '
                     f'stroke-width="{ROAD_WIDTHS.get(r.road_class.value, 1)}" '
                     f'd="{_path(proj, r.coordinates)}"><title>{esc(r.name)} ({r.road_class.value})</title></path>')
    parts.append('</g><g id="towns">')
    for t in th.towns:
        x, y = proj.xy(t.location.lon, t.location.lat)
        parts.append(f'<g class="town" data-id="{esc(t.id)}" transform="translate({x:.1f},{y:.1f})">'
                     f'<circle r="4"/><text x="6" y="-5">{esc(t.name)}</text>'
                     f'<title>{esc(t.name)}</title></g>')
    parts.append('</g><g id="airfields">')
    for a in th.airfields:
        x, y = proj.xy(a.location.lon, a.location.lat)
        parts.append(f'<g class="airfield" data-id="{esc(a.id)}" data-side="{esc(a.side)}" '
                     f'transform="translate({x:.1f},{y:.1f})">'
                     '<path d="M-7,0 L7,0 M0,-7 L0,6 M-3,5 L3,5" />'
                     f'<text x="8" y="12">{esc(a.name)}</text><title>{esc(a.name)} (airfield)</title></g>')
    parts.append('</g><path id="front-line" d=""/>')
    parts.append(f'<g id="units">{units_svg}</g>')
    parts.append('</svg>')
    return "".join(parts)


def unit_symbol(uid: str, name: str, side: str, color: str, echelon_mark: str,
                x: float | None, y: float | None) -> str:
    """A NATO-like unit symbol: a frame in the side's colour with the infantry
    cross and the echelon mark (XX division, X brigade, III regiment) above."""
    placed = x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
    tr = f'translate({x:.1f},{y:.1f})' if placed else 'translate(0,0)'
    cls = "unit" if placed else "unit off-map"
    return (f'<g class="{cls}" data-unit-id="{esc(uid)}" data-side="{esc(side)}" transform="{tr}" '
            f'tabindex="0" role="button" aria-label="{esc(name)}">'
            f'<rect x="-11" y="-7" width="22" height="14" fill="{esc(color)}" />'
            '<path class="arm" d="M-11,-7 L11,7 M-11,7 L11,-7"/>'
            f'<text class="echelon" x="0" y="-9">{esc(echelon_mark)}</text>'
            f'<title>{esc(name)}</title></g>')


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    return [start + k * step for k in range(int((hi - start) / step) + 1)]


def fmt_num(v: float) -> str:
    if not math.isfinite(v):
        return "–"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.0f}k"
    if abs(v) >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.1f}"


@dataclass(frozen=True)
class Line:
    label: str
    color: str
    values: np.ndarray
    dashed: bool = False


def line_chart(chart_id: str, lines: Sequence[Line], x_labels: Sequence[str], y_label: str,
               marks: Sequence[tuple[str, str, float]] = (), ticks: Sequence[int] | None = None,
               width: int = 800, height: int = 300) -> str:
    """A line chart over steps 0..T-1; `marks` are (label, colour, value)
    ticks at the right edge (sources' final figures); a cursor line
    (`#<id>-cursor`) the report's script moves with the time slider."""
    ml, mr, mt, mb = 64, 210, 16, 36
    pw, ph = width - ml - mr, height - mt - mb
    t = max((len(ln.values) for ln in lines), default=0)
    ymax = max([float(np.nanmax(ln.values)) for ln in lines if len(ln.values) and np.isfinite(ln.values).any()]
               + [m[2] for m in marks] + [1.0])
    ymax *= 1.05

    def px(k: float) -> float:
        return ml + (k / max(t - 1, 1)) * pw

    def py(v: float) -> float:
        return mt + ph - (v / ymax) * ph

    out = [f'<svg id="{esc(chart_id)}" class="chart" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {width} {height}" data-x0="{ml}" data-x1="{ml + pw}" data-steps="{t}">',
           f'<rect class="plot-bg" x="{ml}" y="{mt}" width="{pw}" height="{ph}"/>']
    for v in _nice_ticks(0, ymax):
        out.append(f'<line class="grid" x1="{ml}" x2="{ml + pw}" y1="{py(v):.1f}" y2="{py(v):.1f}"/>'
                   f'<text class="tick" x="{ml - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{fmt_num(v)}</text>')
    if t:
        for k in (ticks if ticks is not None else range(0, t, max(1, t // 6))):
            out.append(f'<text class="tick" x="{px(k):.1f}" y="{mt + ph + 16}" text-anchor="middle">'
                       f'{esc(x_labels[k] if k < len(x_labels) else k)}</text>')
    out.append(f'<text class="axis-label" x="14" y="{mt + ph / 2:.0f}" '
               f'transform="rotate(-90 14 {mt + ph / 2:.0f})" text-anchor="middle">{esc(y_label)}</text>')
    for i, ln in enumerate(lines):
        pts = [f"{px(k):.1f},{py(float(v)):.1f}" for k, v in enumerate(ln.values) if math.isfinite(float(v))]
        if pts:
            dash = ' stroke-dasharray="6 4"' if ln.dashed else ""
            out.append(f'<polyline class="series" data-label="{esc(ln.label)}" fill="none" stroke="{esc(ln.color)}" '
                       f'stroke-width="2"{dash} points="{" ".join(pts)}"><title>{esc(ln.label)}</title></polyline>')
        out.append(f'<g class="legend" transform="translate({ml + pw + 10},{mt + 10 + 18 * i})">'
                   f'<line x1="0" x2="18" y1="0" y2="0" stroke="{esc(ln.color)}" stroke-width="2"/>'
                   f'<text x="24" y="4">{esc(ln.label)}</text></g>')
    for label, color, v in marks:
        out.append(f'<g class="claim-mark" transform="translate({ml + pw},{py(v):.1f})">'
                   f'<path d="M0,0 L8,-5 L8,5 Z" fill="{esc(color)}"/>'
                   f'<title>{esc(label)}: {fmt_num(v)}</title></g>')
    out.append(f'<line id="{esc(chart_id)}-cursor" class="cursor" x1="{ml}" x2="{ml}" y1="{mt}" y2="{mt + ph}"/>')
    out.append('</svg>')
    return "".join(out)


def histogram_svg(hist_id: str, label: str, counts: np.ndarray, edges: np.ndarray,
                  categories: Sequence[str] = (), color: str = "#4a6fa5",
                  width: int = 340, height: int = 200) -> str:
    """A histogram (numbers) or a bar chart (categories) of replications."""
    ml, mr, mt, mb = 44, 10, 24, 40
    pw, ph = width - ml - mr, height - mt - mb
    n = len(counts)
    cmax = max(int(np.max(counts)) if n else 0, 1)
    out = [f'<svg id="{esc(hist_id)}" class="histogram" xmlns="http://www.w3.org/2000/svg" '
           f'viewBox="0 0 {width} {height}">',
           f'<text class="title" x="{width / 2:.0f}" y="15" text-anchor="middle">{esc(label)}</text>',
           f'<line class="axis" x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}"/>']
    bw = pw / max(n, 1)
    for k, c in enumerate(counts):
        bh = ph * int(c) / cmax
        x = ml + k * bw
        tip = (categories[k] if categories else f"{fmt_num(edges[k])}–{fmt_num(edges[k + 1])}")
        out.append(f'<rect class="bar" x="{x + 1:.1f}" y="{mt + ph - bh:.1f}" width="{max(bw - 2, 1):.1f}" '
                   f'height="{bh:.1f}" fill="{esc(color)}"><title>{esc(tip)}: {int(c)}</title></rect>')
        if categories:
            out.append(f'<text class="tick" x="{x + bw / 2:.1f}" y="{mt + ph + 14}" text-anchor="middle">'
                       f'{esc(categories[k])}</text>')
    if not categories and n:
        for k in (0, n // 2, n):
            out.append(f'<text class="tick" x="{ml + k * bw:.1f}" y="{mt + ph + 14}" text-anchor="middle">'
                       f'{fmt_num(float(edges[k]))}</text>')
    out.append(f'<text class="tick" x="{ml - 4}" y="{mt + 8}" text-anchor="end">{cmax}</text>'
               f'<text class="tick" x="{ml - 4}" y="{mt + ph}" text-anchor="end">0</text>')
    out.append('</svg>')
    return "".join(out)
