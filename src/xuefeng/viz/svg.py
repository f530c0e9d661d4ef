"""Static SVG for the HTML report: the theater map, unit symbols, line charts, histograms.

Drawn in Python so that the report shows the map and charts even before its
script runs; the script only moves units, swaps the front line (precomputed
per step) and moves the chart cursor. Coordinates come from
`cartography.Projection` (azimuthal equidistant on the theater's centre).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from xuefeng.scenario.schema import Scenario
from xuefeng.viz.cartography import (
    CHAR_EM,
    CHAR_EM_BOLD,
    Box,
    Label,
    Placed,
    Projection,
    nice_length,
    place_labels,
    point_offsets,
)

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


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


#: Map face furniture, in map units (the map is Projection.width = 1000 units wide).
LEGEND_ROW_H = 22.0
SCALE_BAR_FRACTION = 0.2  # the scale bar is at most this share of the map's width
RANGE_LABEL_SIZE = 15.0
TOWN_LABEL_SIZE = 11.0
RIVER_LABEL_SIZE = 11.0
TOWN_RADIUS = 4.0
#: Box a unit symbol covers around its point (frame 22×14 and the echelon mark above, up to XXXXXX).
UNIT_BOX = (-17.0, -19.0, 17.0, 8.0)
FRONT_COLOR = "#b03030"
RIVER_COLOR = "#3b7fc4"
ROAD_COLORS: dict[str, str] = {"highway": "#a0301c", "road": "#7a4b2a", "track": "#7a4b2a"}
RAIL_COLOR = "#333333"


def _d(proj: Projection, coords: Sequence[Sequence[float]], close: bool = False) -> str:
    a = np.asarray(coords, dtype=float)
    x, y = proj.xy_arrays(a[:, 0], a[:, 1])
    d = "M" + " L".join(f"{u:.1f},{v:.1f}" for u, v in zip(x, y, strict=True))
    return d + ("Z" if close else "")


def unit_boxes(points: Sequence[tuple[float | None, float | None]]) -> list[Box]:
    """Boxes the unit symbols at these points cover (obstacles for labels)."""
    x0, y0, x1, y1 = UNIT_BOX
    return [Box(x + x0, y + y0, x + x1, y + y1) for x, y in points
            if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)]


def _range_labels(scenario: Scenario, proj: Projection) -> list[Label]:
    """Mountain ranges: the names of the scenario's mountain terrain regions, at a point inside each."""
    out = []
    for r in scenario.theater.terrain:
        if r.terrain.value != "mountains":
            continue
        a = np.asarray(r.polygon, dtype=float)
        x, y = proj.xy_arrays(a[:, 0], a[:, 1])
        poly = shapely.Polygon(np.stack([x, y], axis=1)).buffer(0)
        if poly.is_empty:
            continue
        p = poly.representative_point()
        s = RANGE_LABEL_SIZE
        # candidates: the representative point, then points of a grid inside the range, nearest first
        x0, y0, x1, y1 = poly.bounds
        gx, gy = np.meshgrid(np.linspace(x0, x1, 9), np.linspace(y0, y1, 9))
        inner = [(float(a), float(b)) for a, b in zip(gx.ravel(), gy.ravel(), strict=True)
                 if poly.contains(shapely.Point(a, b))]
        inner.sort(key=lambda q: (q[0] - p.x) ** 2 + (q[1] - p.y) ** 2)
        offs = [(0.0, s * 0.35)] + [(a - p.x, b - p.y + s * 0.35) for a, b in inner]
        out.append(Label(f"range:{r.id}", r.name, p.x, p.y, s, "range",
                         tuple((dx, dy, "middle") for dx, dy in offs), CHAR_EM_BOLD))
    return out


def _river_labels(scenario: Scenario, proj: Projection) -> list[Label]:
    out = []
    for r in scenario.theater.rivers:
        a = np.asarray(r.coordinates, dtype=float)
        x, y = proj.xy_arrays(a[:, 0], a[:, 1])
        line = shapely.LineString(np.stack([x, y], axis=1))
        offs = []
        for f in (0.5, 0.35, 0.65, 0.2, 0.8, 0.45, 0.55, 0.3, 0.7):
            p = line.interpolate(f, normalized=True)
            for dy in (-4.0, RIVER_LABEL_SIZE + 4.0):
                offs.append((p.x - x[0], p.y - y[0] + dy, "middle"))
        out.append(Label(f"river:{r.id}", r.name, float(x[0]), float(y[0]), RIVER_LABEL_SIZE, "river", tuple(offs)))
    return out


def map_labels(scenario: Scenario, proj: Projection, obstacles: Sequence[Box]) -> list[Placed]:
    """Names on the map face: ranges first, then towns, airfields and rivers, placed greedily
    so no two collide and none covers a unit symbol, a town, the scale bar or the north arrow."""
    th = scenario.theater
    labels = _range_labels(scenario, proj)
    town_boxes = []
    for t in th.towns:
        x, y = proj.xy(t.location.lon, t.location.lat)
        labels.append(Label(f"town:{t.id}", t.name, x, y, TOWN_LABEL_SIZE, "town",
                            point_offsets(TOWN_RADIUS, TOWN_LABEL_SIZE)))
        town_boxes.append(Box(x - TOWN_RADIUS - 1, y - TOWN_RADIUS - 1, x + TOWN_RADIUS + 1, y + TOWN_RADIUS + 1))
    for a in th.airfields:
        x, y = proj.xy(a.location.lon, a.location.lat)
        labels.append(Label(f"airfield:{a.id}", a.name, x, y, TOWN_LABEL_SIZE - 1, "airfield",
                            point_offsets(8.0, TOWN_LABEL_SIZE - 1)))
        town_boxes.append(Box(x - 8, y - 8, x + 8, y + 8))
    labels += _river_labels(scenario, proj)
    return place_labels(labels, [*obstacles, *town_boxes], proj.width, proj.height)


def labels_svg(placed: Sequence[Placed]) -> str:
    parts = ['<g id="map-labels">']
    for p in placed:
        lab = p.label
        parts.append(f'<text class="map-label ml-{lab.kind}" data-key="{esc(lab.key)}" x="{p.tx:.1f}" '
                     f'y="{p.ty:.1f}" text-anchor="{p.anchor}" font-size="{lab.size:g}">{esc(lab.text)}</text>')
    parts.append("</g>")
    return "".join(parts)


def scale_bar(proj: Projection) -> tuple[str, Box]:
    """A km scale bar at the map's lower left (true at the centre; the projection keeps
    distances within a fraction of a percent over the theater)."""
    km = nice_length(proj.width * SCALE_BAR_FRACTION * proj.km_per_unit)
    length = km / proj.km_per_unit
    x0, y0 = 16.0, proj.height - 22.0
    parts = [f'<g id="scale-bar" data-km="{km:g}" transform="translate({x0:.1f},{y0:.1f})">',
             f'<rect class="sb-bg" x="-6" y="-16" width="{length + 40:.1f}" height="30"/>']
    for k in range(4):
        parts.append(f'<rect class="sb-seg{k % 2}" x="{k * length / 4:.1f}" y="0" width="{length / 4:.1f}" height="5"/>')
    for v, x in ((0, 0.0), (km / 2, length / 2), (km, length)):
        parts.append(f'<text class="sb-tick" x="{x:.1f}" y="-4" text-anchor="middle">{v:g}</text>')
    parts.append(f'<text class="sb-unit" x="{length + 6:.1f}" y="6">km</text></g>')
    return "".join(parts), Box(x0 - 6, y0 - 16, x0 + length + 34, y0 + 14)


def north_arrow(proj: Projection) -> tuple[str, Box]:
    """An arrow to true north at the map's upper right (turned by the projection's
    convergence there)."""
    x0, y0 = proj.width - 28.0, 34.0
    lon, lat = proj.lonlat(x0, y0)
    x1, y1 = proj.xy(float(lon), float(lat) + 0.1)
    ang = math.degrees(math.atan2(x1 - x0, -(y1 - y0)))
    svg = (f'<g id="north-arrow" transform="translate({x0:.1f},{y0:.1f})">'
           f'<g transform="rotate({ang:.2f})"><path class="na-l" d="M0,-20 L-7,8 L0,3 Z"/>'
           '<path class="na-r" d="M0,-20 L7,8 L0,3 Z"/></g>'
           '<text class="na-n" x="0" y="22" text-anchor="middle">N</text></g>')
    return svg, Box(x0 - 12, y0 - 24, x0 + 12, y0 + 26)


def _legend_items(scenario: Scenario, terrains: Sequence[str], sides: Sequence[tuple[str, str, str]]) -> list[tuple[str, str, float]]:
    """(key, svg of the item at the origin, width) for each legend entry."""
    th = scenario.theater
    items: list[tuple[str, str, float]] = []

    def text_w(t: str) -> float:
        return len(t) * 11 * CHAR_EM + 30

    for t in terrains:
        name = t.replace("_", " ")
        items.append((f"terrain:{t}", f'<rect x="0" y="-9" width="16" height="11" fill="{TERRAIN_COLORS.get(t, "#ddd")}" '
                      f'stroke="#888" stroke-width="0.5"/><text x="21" y="1">{esc(name)}</text>', text_w(name)))
    for rc in sorted({r.road_class.value for r in th.roads}, key=lambda c: -ROAD_WIDTHS.get(c, 1)):
        dash = ' stroke-dasharray="4 3"' if rc == "track" else ""
        items.append((f"road:{rc}", f'<line x1="0" x2="16" y1="-3" y2="-3" stroke="{ROAD_COLORS.get(rc, "#7a4b2a")}" '
                      f'stroke-width="{ROAD_WIDTHS.get(rc, 1)}"{dash}/><text x="21" y="1">{esc(rc)}</text>', text_w(rc)))
    if th.rivers:
        items.append(("river", f'<line x1="0" x2="16" y1="-3" y2="-3" stroke="{RIVER_COLOR}" stroke-width="2.2"/>'
                      '<text x="21" y="1">river</text>', text_w("river")))
    if th.railways:
        items.append(("railway", f'<line x1="0" x2="16" y1="-3" y2="-3" stroke="{RAIL_COLOR}" stroke-width="2.5"/>'
                      '<line x1="0" x2="16" y1="-3" y2="-3" stroke="#fff" stroke-width="1.2" stroke-dasharray="3 3"/>'
                      '<text x="21" y="1">railway</text>', text_w("railway")))
    items.append(("front", f'<line x1="0" x2="16" y1="-3" y2="-3" stroke="{FRONT_COLOR}" stroke-width="2.5" '
                  'stroke-dasharray="5 3"/><text x="21" y="1">front line</text>', text_w("front line")))
    if th.towns:
        items.append(("town", '<circle cx="8" cy="-3" r="4" fill="#fff" stroke="#222" stroke-width="1.5"/>'
                      '<text x="21" y="1">town</text>', text_w("town")))
    if th.airfields:
        items.append(("airfield", '<path d="M2,-3 L14,-3 M8,-9 L8,3" stroke="#1c3f7a" stroke-width="2" fill="none"/>'
                      '<text x="21" y="1">airfield</text>', text_w("airfield")))
    for sid, name, color in sides:
        label = f"{name} unit"
        items.append((f"side:{sid}", f'<g transform="translate(10,-3) scale(0.7)"><rect x="-11" y="-7" width="22" '
                      f'height="14" fill="{esc(color)}" stroke="#111" stroke-width="1.2"/>'
                      '<path d="M-11,-7 L11,7 M-11,7 L11,-7" stroke="#111" stroke-width="0.9"/></g>'
                      f'<text x="24" y="1">{esc(label)}</text>', text_w(label) + 4))
    return items


def legend_svg(scenario: Scenario, proj: Projection, terrains: Sequence[str], y0: float) -> tuple[str, float]:
    """The legend as a strip under the map face (never over it); returns (svg, its height)."""
    sides = [(s.id, s.name, s.color) for s in scenario.meta.sides]
    items = _legend_items(scenario, terrains, sides)
    x, row = 12.0, 0
    body = []
    for key, svg, w in items:
        if x + w > proj.width - 8 and x > 12:
            x, row = 12.0, row + 1
        body.append(f'<g class="legend-item" data-key="{esc(key)}" '
                    f'transform="translate({x:.1f},{18 + row * LEGEND_ROW_H:.1f})">{svg}</g>')
        x += w
    h = 18 + (row + 1) * LEGEND_ROW_H
    return (f'<g id="map-legend" transform="translate(0,{y0:.1f})"><rect class="legend-bg" x="0" y="0" '
            f'width="{proj.width:.0f}" height="{h:.0f}"/>{"".join(body)}</g>'), h


def terrains_shown(scenario: Scenario, hexgeo: dict[str, Any] | None) -> list[str]:
    """Terrain classes on the map, in TERRAIN_COLORS order."""
    if hexgeo and hexgeo.get("features"):
        have = {f["properties"].get("terrain", "hills") for f in hexgeo["features"]}
    else:
        have = {r.terrain.value for r in scenario.theater.terrain} | {scenario.theater.default_terrain.value}
    return [t for t in TERRAIN_COLORS if t in have] + sorted(have - set(TERRAIN_COLORS))


def _base_layers(scenario: Scenario, proj: Projection, hexgeo: dict[str, Any] | None) -> list[str]:
    th = scenario.theater
    w, h = proj.width, proj.height
    parts = [f'<rect class="terrain-bg t-{th.default_terrain.value}" x="0" y="0" width="{w:.0f}" '
             f'height="{h:.0f}" fill="{TERRAIN_COLORS.get(th.default_terrain.value, "#ddd")}"/>', '<g id="terrain">']
    if hexgeo and hexgeo.get("features"):
        by_terrain: dict[str, list[str]] = {}
        for f in hexgeo["features"]:
            ring = f["geometry"]["coordinates"][0]
            by_terrain.setdefault(f["properties"].get("terrain", "hills"), []).append(_d(proj, ring, True))
        for terrain, paths in sorted(by_terrain.items()):
            parts.append(f'<path class="hex t-{esc(terrain)}" data-terrain="{esc(terrain)}" '
                         f'fill="{TERRAIN_COLORS.get(terrain, "#ddd")}" d="{"".join(paths)}"/>')
    else:
        for r in th.terrain:
            parts.append(f'<path class="region t-{r.terrain.value}" data-terrain="{r.terrain.value}" '
                         f'fill="{TERRAIN_COLORS.get(r.terrain.value, "#ddd")}" '
                         f'd="{_d(proj, r.polygon, True)}"><title>{esc(r.name)}</title></path>')
    parts.append('</g><g id="rivers">')
    for r in th.rivers:
        parts.append(f'<path class="river" data-id="{esc(r.id)}" d="{_d(proj, r.coordinates)}">'
                     f'<title>{esc(r.name)}</title></path>')
    parts.append('</g><g id="railways">')
    for r in th.railways:
        parts.append(f'<path class="railway" data-id="{esc(r.id)}" d="{_d(proj, r.coordinates)}">'
                     f'<title>{esc(r.name)} (railway)</title></path>'
                     f'<path class="railway-tie" d="{_d(proj, r.coordinates)}"/>')
    parts.append('</g><g id="roads">')
    for r in sorted(th.roads, key=lambda r: ROAD_WIDTHS.get(r.road_class.value, 1)):
        parts.append(f'<path class="road rc-{r.road_class.value}" data-id="{esc(r.id)}" '
                     f'stroke-width="{ROAD_WIDTHS.get(r.road_class.value, 1)}" '
                     f'd="{_d(proj, r.coordinates)}"><title>{esc(r.name)} ({r.road_class.value})</title></path>')
    parts.append("</g>")
    return parts


def map_svg(scenario: Scenario, proj: Projection, hexgeo: dict[str, Any] | None,
            units_svg: str = "", *, unit_points: Sequence[tuple[float | None, float | None]] = (),
            front_d: str = "", svg_id: str = "map") -> str:
    """The theater map: terrain (hex cells if a hex map is given, else the scenario's terrain
    polygons), rivers, railways, roads, the front line, towns, airfields, units, names placed
    clear of each other and of the units at `unit_points`, a scale bar, a north arrow, and a
    legend strip below."""
    th = scenario.theater
    w, h = proj.width, proj.height
    sb, sb_box = scale_bar(proj)
    na, na_box = north_arrow(proj)
    placed = map_labels(scenario, proj, [*unit_boxes(unit_points), sb_box, na_box])
    legend, lh = legend_svg(scenario, proj, terrains_shown(scenario, hexgeo), h)
    parts = [f'<svg id="{esc(svg_id)}" class="theater-map" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {w:.0f} {h + lh:.0f}" data-map-height="{h:.1f}" role="img" aria-label="Theater map">',
             f'<title>{esc(scenario.meta.title)}: theater map</title>',
             f'<defs><clipPath id="{esc(svg_id)}-face"><rect x="0" y="0" width="{w:.0f}" height="{h:.1f}"/></clipPath></defs>',
             f'<g id="{esc(svg_id)}-face-layers" clip-path="url(#{esc(svg_id)}-face)">']
    parts += _base_layers(scenario, proj, hexgeo)
    parts.append(f'<path id="front-line" d="{front_d}"/>')
    parts.append('<g id="towns">')
    for t in th.towns:
        x, y = proj.xy(t.location.lon, t.location.lat)
        parts.append(f'<g class="town" data-id="{esc(t.id)}" transform="translate({x:.1f},{y:.1f})">'
                     f'<circle r="{TOWN_RADIUS:g}"/><title>{esc(t.name)}</title></g>')
    parts.append('</g><g id="airfields">')
    for a in th.airfields:
        x, y = proj.xy(a.location.lon, a.location.lat)
        parts.append(f'<g class="airfield" data-id="{esc(a.id)}" data-side="{esc(a.side)}" '
                     f'transform="translate({x:.1f},{y:.1f})">'
                     '<path d="M-7,0 L7,0 M0,-7 L0,6 M-3,5 L3,5" />'
                     f'<title>{esc(a.name)} (airfield)</title></g>')
    parts.append(f'</g><g id="units">{units_svg}</g>')
    # names above the units, so a unit never hides a town's name
    parts.append(labels_svg(placed))
    parts.append(sb + na + "</g>")
    parts.append(legend)
    parts.append("</svg>")
    return "".join(parts)


def unit_symbol(uid: str, name: str, side: str, color: str, echelon_mark: str,
                x: float | None, y: float | None) -> str:
    """A NATO-like unit symbol: a frame in the side's colour with the infantry
    cross and the echelon mark (XX division, X brigade, III regiment) above; the name
    shows on hover (<title>) and, below the frame, once the map is zoomed in."""
    placed = x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
    tr = f'translate({x:.1f},{y:.1f})' if placed else 'translate(0,0)'
    cls = "unit" if placed else "unit off-map"
    return (f'<g class="{cls}" data-unit-id="{esc(uid)}" data-side="{esc(side)}" transform="{tr}" '
            f'tabindex="0" role="button" aria-label="{esc(name)}">'
            f'<rect x="-11" y="-7" width="22" height="14" fill="{esc(color)}" />'
            '<path class="arm" d="M-11,-7 L11,7 M-11,7 L11,-7"/>'
            f'<text class="echelon" x="0" y="-9">{esc(echelon_mark)}</text>'
            f'<text class="unit-label" x="0" y="17">{esc(name)}</text>'
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


#: Colours of the overview's front lines, earliest to latest (light to dark, print-safe).
OVERVIEW_COLORS: tuple[str, ...] = ("#fdae61", "#f46d43", "#d73027", "#a50026", "#67001f", "#3f0013")


def overview_colors(n: int) -> list[str]:
    """n colours from OVERVIEW_COLORS, spread from first to last."""
    if n <= 1:
        return [OVERVIEW_COLORS[-2]]
    idx = np.linspace(0, len(OVERVIEW_COLORS) - 1, n).round().astype(int)
    return [OVERVIEW_COLORS[i] for i in idx]


def overview_svg(scenario: Scenario, proj: Projection, fronts: Sequence[tuple[str, str]]) -> str:
    """The campaign overview: the theater (terrain regions, rivers, roads, towns, names) with
    the front line at several dates, each in its own colour, and a dated legend below."""
    w, h = proj.width, proj.height
    sb, sb_box = scale_bar(proj)
    na, na_box = north_arrow(proj)
    placed = map_labels(scenario, proj, [sb_box, na_box])
    colors = overview_colors(len(fronts))
    lines, keys = [], []
    x = 12.0
    for (label, d), c in zip(fronts, colors, strict=True):
        lines.append(f'<path class="overview-front" data-date="{esc(label)}" d="{d}" stroke="{c}"/>')
        keys.append(f'<g class="legend-item" data-key="front:{esc(label)}" transform="translate({x:.1f},18)">'
                    f'<line x1="0" x2="22" y1="-3" y2="-3" stroke="{c}" stroke-width="3"/>'
                    f'<text x="27" y="1">{esc(label)}</text></g>')
        x += len(label) * 11 * CHAR_EM + 40
    legend_h = 18 + LEGEND_ROW_H
    return (f'<svg id="overview-map" class="theater-map" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {w:.0f} {h + legend_h:.0f}" role="img" aria-label="Campaign overview">'
            f'<title>{esc(scenario.meta.title)}: front line at chosen dates</title>'
            # the base's classes and ids renamed: the overview never restyles or doubles the replay map's hooks
            + "".join(_base_layers(scenario, proj, None)).replace('class="', 'class="ov-').replace(' id="', ' data-layer="')
            + '<g id="overview-fronts">' + "".join(lines) + "</g>"
            + "".join(f'<circle class="town-dot" cx="{px:.1f}" cy="{py:.1f}" r="3"/>'
                      for px, py in (proj.xy(t.location.lon, t.location.lat) for t in scenario.theater.towns))
            + labels_svg(placed).replace('id="map-labels"', 'class="overview-labels"') + sb.replace('id="scale-bar"', 'class="scale-bar"')
            + na.replace('id="north-arrow"', 'class="north-arrow"')
            + f'<g class="overview-legend" transform="translate(0,{h:.1f})"><rect class="legend-bg" x="0" y="0" '
              f'width="{w:.0f}" height="{legend_h:.0f}"/>'
            + f'<text x="{w - 12:.0f}" y="19" text-anchor="end" class="legend-note">front line at each date</text>'
            + "".join(keys) + "</g></svg>")
