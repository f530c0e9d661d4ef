"""Static plots of a run (matplotlib, Agg backend: no display needed).

Kinds (`KINDS`): `map` (theater, front line and unit positions at a date),
`overview` (the front line at several dates), `strengths` (men on the map over
time, by side and by formation), `casualties` (final figures
against each source's claim, plus losses over time), `histograms` (outcome
distributions over the ensemble's replications).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import matplotlib.patheffects as pe  # noqa: E402
import shapely  # noqa: E402
from adjustText import adjust_text  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar  # noqa: E402

from xuefeng.results.model import Results  # noqa: E402
from xuefeng.scenario.schema import Scenario  # noqa: E402
from xuefeng.viz import data as vd  # noqa: E402
from xuefeng.viz.cartography import Projection, front_lines, nice_length  # noqa: E402
from xuefeng.viz.svg import (  # noqa: E402
    FRONT_COLOR,
    RAIL_COLOR,
    RIVER_COLOR,
    ROAD_COLORS,
    ROAD_WIDTHS,
    SCALE_BAR_FRACTION,
    TERRAIN_COLORS,
    overview_colors,
    terrains_shown,
)

KINDS: tuple[str, ...] = ("map", "overview", "strengths", "casualties", "histograms")


def _date_axis(ax: plt.Axes) -> None:
    loc = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))


def _side_style(scenario: Scenario) -> tuple[dict[str, str], dict[str, str]]:
    return ({s.id: s.color for s in scenario.meta.sides}, {s.id: s.name for s in scenario.meta.sides})


#: Map figure: width (inches), and the label sizes (points) of towns, rivers and ranges.
MAP_FIG_WIDTH = 11.0
MAP_LABEL_PT = {"town": 7.5, "river": 7.5, "range": 10.0, "airfield": 7.0}
#: adjustText time limit per map (seconds): placement is good long before, and plotting stays quick.
ADJUST_TIME_LIMIT_S = 3.0


def _geo(hexmap: Any) -> dict[str, Any] | None:
    return hexmap.to_geojson() if hexmap is not None and not isinstance(hexmap, dict) else hexmap


def _km_line(proj: Projection, coords) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(coords, dtype=float)
    return proj.km(a[:, 0], a[:, 1])


def _draw_base(ax: plt.Axes, scenario: Scenario, proj: Projection, geo: dict[str, Any] | None) -> list[str]:
    """Terrain, rivers, railways, roads, towns and airfields in projected km; returns the terrain classes drawn."""
    th = scenario.theater
    ax.set_facecolor(TERRAIN_COLORS.get(th.default_terrain.value, "#ddd"))
    if geo and geo.get("features"):
        polys = [np.stack(_km_line(proj, f["geometry"]["coordinates"][0]), axis=1) for f in geo["features"]]
        fc = [TERRAIN_COLORS.get(f["properties"].get("terrain"), "#ddd") for f in geo["features"]]
        ax.add_collection(PolyCollection(polys, facecolors=fc, edgecolors=(0, 0, 0, 0.08), linewidths=0.3))
    else:
        for r in th.terrain:
            ax.fill(*_km_line(proj, r.polygon), color=TERRAIN_COLORS.get(r.terrain.value, "#ddd"), lw=0)
    for r in th.rivers:
        ax.plot(*_km_line(proj, r.coordinates), color=RIVER_COLOR, lw=1.6, zorder=2)
    for r in th.railways:
        x, y = _km_line(proj, r.coordinates)
        ax.plot(x, y, color=RAIL_COLOR, lw=2.4, zorder=2)
        ax.plot(x, y, color="white", lw=1.0, ls=(0, (3, 3)), zorder=2)
    for r in th.roads:
        rc = r.road_class.value
        ax.plot(*_km_line(proj, r.coordinates), color=ROAD_COLORS.get(rc, "#7a4b2a"),
                lw=ROAD_WIDTHS.get(rc, 1) * 0.6, ls=":" if rc == "track" else "-", zorder=3)
    for t in th.towns:
        ax.plot(*proj.km(t.location.lon, t.location.lat), "o", mfc="white", mec="black", ms=4.5, zorder=6)
    for a in th.airfields:
        ax.plot(*proj.km(a.location.lon, a.location.lat), "+", color="#1c3f7a", ms=10, mew=2, zorder=6)
    w, h = proj.extent_km
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return terrains_shown(scenario, geo)


def _place_names(ax: plt.Axes, scenario: Scenario, proj: Projection, avoid: np.ndarray) -> list[Any]:
    """Names of ranges, towns, airfields and rivers, moved apart and off the points in `avoid`
    ((N, 2) km) by adjustText."""
    th = scenario.theater
    texts = []
    pts = [avoid] if len(avoid) else []
    for r in th.terrain:
        if r.terrain.value == "mountains":
            x, y = _km_line(proj, r.polygon)
            p = shapely.Polygon(np.stack([x, y], axis=1)).buffer(0).representative_point()
            texts.append(ax.text(p.x, p.y, r.name, fontsize=MAP_LABEL_PT["range"], style="italic", weight="bold",
                                 color="#5a3d1e", ha="center", va="center", zorder=8))
    for t in th.towns:
        x, y = proj.km(t.location.lon, t.location.lat)
        texts.append(ax.text(float(x) + 2, float(y) + 2, t.name, fontsize=MAP_LABEL_PT["town"], zorder=8))
        pts.append(np.array([[float(x), float(y)]]))
    for a in th.airfields:
        x, y = proj.km(a.location.lon, a.location.lat)
        texts.append(ax.text(float(x) + 2, float(y) - 4, a.name, fontsize=MAP_LABEL_PT["airfield"], color="#1c3f7a",
                             zorder=8))
    for r in th.rivers:
        x, y = _km_line(proj, r.coordinates)
        p = shapely.LineString(np.stack([x, y], axis=1)).interpolate(0.5, normalized=True)
        texts.append(ax.text(p.x, p.y, r.name, fontsize=MAP_LABEL_PT["river"], style="italic", color="#1f5d99",
                             zorder=8))
    for tx in texts:
        tx.set_path_effects([pe.withStroke(linewidth=2.2, foreground="white")])
    if texts:
        allp = np.vstack(pts) if pts else np.zeros((0, 2))
        adjust_text(texts, x=allp[:, 0], y=allp[:, 1], ax=ax, time_lim=ADJUST_TIME_LIMIT_S,
                    expand=(1.1, 1.3), ensure_inside_axes=True)
    return texts


def _furniture(ax: plt.Axes, proj: Projection) -> None:
    """Scale bar (km, lower left) and north arrow (upper right)."""
    w, _ = proj.extent_km
    km = nice_length(w * SCALE_BAR_FRACTION)
    bar = AnchoredSizeBar(ax.transData, km, f"{km:g} km", "lower left", pad=0.5, sep=4, frameon=True,
                          size_vertical=w / 250, fontproperties={"size": 8})
    bar.set_gid("scale-bar")
    ax.add_artist(bar)
    ax.annotate("N", xy=(0.965, 0.96), xytext=(0.965, 0.86), xycoords="axes fraction", ha="center", va="center",
                fontsize=10, weight="bold", gid="north-arrow",
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5})


def _legend(ax: plt.Axes, scenario: Scenario, terrains: list[str], extra: list[Any]) -> Any:
    th = scenario.theater
    handles: list[Any] = [Patch(facecolor=TERRAIN_COLORS.get(t, "#ddd"), edgecolor="#888", lw=0.5,
                                label=t.replace("_", " ")) for t in terrains]
    for rc in sorted({r.road_class.value for r in th.roads}, key=lambda c: -ROAD_WIDTHS.get(c, 1)):
        handles.append(Line2D([], [], color=ROAD_COLORS.get(rc, "#7a4b2a"), lw=ROAD_WIDTHS.get(rc, 1) * 0.6,
                              ls=":" if rc == "track" else "-", label=rc))
    if th.rivers:
        handles.append(Line2D([], [], color=RIVER_COLOR, lw=1.6, label="river"))
    if th.railways:
        handles.append(Line2D([], [], color=RAIL_COLOR, lw=2.4, label="railway"))
    if th.towns:
        handles.append(Line2D([], [], ls="", marker="o", mfc="white", mec="black", ms=4.5, label="town"))
    if th.airfields:
        handles.append(Line2D([], [], ls="", marker="+", color="#1c3f7a", ms=9, mew=2, label="airfield"))
    handles += extra
    leg = ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=min(7, len(handles)),
                    fontsize=7.5, frameon=False)
    leg.set_gid("map-legend")
    return leg


def _front_km(proj: Projection, control: Any, step: int) -> list[np.ndarray]:
    k = proj.km_per_unit
    return [np.stack([p[:, 0] * k, (proj.height - p[:, 1]) * k], axis=1) for p in front_lines(control, step)]


def _map_figure(scenario: Scenario, proj: Projection) -> tuple[plt.Figure, plt.Axes]:
    w, h = proj.extent_km
    fig, ax = plt.subplots(figsize=(MAP_FIG_WIDTH, MAP_FIG_WIDTH * h / w + 1.1))
    fig.subplots_adjust(left=0.02, right=0.98, top=0.95, bottom=0.1)
    return fig, ax


def plot_map(scenario: Scenario, results: Results, when: dt.date | dt.datetime | None = None,
             hexmap: Any = None) -> plt.Figure:
    """Theater with terrain, rivers, roads, towns, airfields, the front line and units at `when`
    (default: the start), in an azimuthal equidistant projection, with names, legend, scale
    bar and north arrow."""
    step = vd.step_of(results, when) if when is not None else 0
    times = vd.series_times(results)
    colors, names = _side_style(scenario)
    proj = Projection.of(scenario)
    fig, ax = _map_figure(scenario, proj)
    terrains = _draw_base(ax, scenario, proj, _geo(hexmap))
    extra: list[Any] = []
    pieces = _front_km(proj, vd.run_control(scenario, results, proj), step)
    for p in pieces:
        ax.plot(p[:, 0], p[:, 1], color=FRONT_COLOR, lw=2.2, ls=(0, (5, 3)), zorder=5, gid="front-line")
    extra.append(Line2D([], [], color=FRONT_COLOR, lw=2.2, ls=(0, (5, 3)), label="front line"))
    lat, lon = vd.series_array(results, "lat"), vd.series_array(results, "lon")
    strength = vd.series_array(results, "strength")
    seen_sides: set[str] = set()
    avoid = []
    for u in vd.map_units(scenario, results):
        la, lo = lat[step, u.column], lon[step, u.column]
        if not (np.isfinite(la) and np.isfinite(lo)):
            continue
        x, y = (float(v) for v in proj.km(lo, la))
        s = strength[step, u.column] if strength is not None else np.nan
        spent = bool(np.isfinite(s) and s <= 0 and np.nanmax(strength[: step + 1, u.column]) > 0)
        if u.side not in seen_sides:
            extra.append(Line2D([], [], ls="", marker="s", ms=9, mfc=colors.get(u.side, "#888"), mec="black",
                                label=f"{names.get(u.side, u.side)} unit"))
        seen_sides.add(u.side)
        ax.plot(x, y, "s", ms=9, mfc=colors.get(u.side, "#888"), mec="black", alpha=0.35 if spent else 0.95,
                zorder=7)
        ax.annotate(vd.ECHELON_MARKS.get(u.echelon, ""), (x, y), xytext=(0, 6), textcoords="offset points",
                    ha="center", fontsize=5.5, fontweight="bold", zorder=7)
        avoid.append((x, y))
    _place_names(ax, scenario, proj, np.asarray(avoid, dtype=float).reshape(-1, 2))
    _furniture(ax, proj)
    _legend(ax, scenario, terrains, extra)
    when_txt = times[step].strftime("%Y-%m-%d %H:%M") if times else ""
    ax.set_title(f"{scenario.meta.title}: {when_txt}", fontsize=11)
    fig.text(0.02, 0.005, f"Azimuthal equidistant projection centred on {proj.lat0:.2f}°N {proj.lon0:.2f}°E. "
             "Front line: boundary of the ground each side holds in the replayed run.", fontsize=7, color="#555")
    return fig


def plot_overview(scenario: Scenario, results: Results, hexmap: Any = None,
                  steps: list[int] | None = None) -> plt.Figure:
    """The campaign at a glance: the front line of the replayed run at the start, at evenly
    spaced dates and at the end (`steps`, default `data.overview_steps`), one colour each."""
    times = vd.series_times(results)
    if not times:
        raise vd.VizError("this run kept no time series: the overview needs one kept replication")
    steps = steps if steps is not None else vd.overview_steps(results)
    proj = Projection.of(scenario)
    fig, ax = _map_figure(scenario, proj)
    terrains = _draw_base(ax, scenario, proj, _geo(hexmap))
    control = vd.run_control(scenario, results, proj)
    extra: list[Any] = []
    for k, c in zip(steps, overview_colors(len(steps)), strict=True):
        for p in _front_km(proj, control, k):
            ax.plot(p[:, 0], p[:, 1], color=c, lw=2.6, zorder=5, solid_capstyle="round")
        extra.append(Line2D([], [], color=c, lw=2.6, label=f"front {times[k].strftime('%d %b %Y')}"))
    _place_names(ax, scenario, proj, np.zeros((0, 2)))
    _furniture(ax, proj)
    _legend(ax, scenario, terrains, extra)
    ax.set_title(f"{scenario.meta.title}: the front line at {len(steps)} dates (replayed run)", fontsize=11)
    fig.text(0.02, 0.005, f"Azimuthal equidistant projection centred on {proj.lat0:.2f}°N {proj.lon0:.2f}°E. "
             "Front line: boundary of the ground each side holds.", fontsize=7, color="#555")
    return fig


def _formation(scenario: Scenario, unit_id: str) -> str:
    """The formation a unit is counted in: its parent (corps, army, …) unless that is the
    side's command, then the unit itself."""
    by_id = {u.id: u for u in scenario.units}
    u = by_id.get(unit_id)
    if u is None:
        return unit_id
    p = by_id.get(u.parent) if u.parent else None
    if p is None or p.echelon.value == "command":
        return u.name
    return p.name


def plot_strengths(scenario: Scenario, results: Results) -> plt.Figure:
    """Men on the map by side (top), then by formation for each side (one labelled line per
    corps or army: the sum of its units on the map), in the first kept replication."""
    times = vd.series_times(results)
    if not times:
        raise vd.VizError("this run kept no time series: strengths over time need one kept replication")
    colors, names = _side_style(scenario)
    strength = vd.series_array(results, "strength")
    units = vd.map_units(scenario, results)
    sides = [s for s in results.sides if any(u.side == s for u in units)]
    fig, axes = plt.subplots(1 + len(sides), 1, figsize=(11, 3.2 * (1 + len(sides))), sharex=True, squeeze=False)
    axes = axes.ravel()
    by_side = vd.side_strength_over_time(results)
    for k, s in enumerate(results.sides):
        axes[0].plot(times, by_side[k], color=colors.get(s, "#888"), lw=2, label=names.get(s, s))
    axes[0].set_ylabel("men on the map")
    axes[0].legend(fontsize=8)
    axes[0].set_title(f"{scenario.meta.title}: strength over time")
    cmap = plt.get_cmap("tab20")
    for ax, s in zip(axes[1:], sides, strict=True):
        groups: dict[str, list[int]] = {}
        for u in units:
            if u.side == s:
                groups.setdefault(_formation(scenario, u.id), []).append(u.column)
        order = sorted(groups, key=lambda g: -np.nanmax(np.nansum(strength[:, groups[g]], axis=1)))
        for i, g in enumerate(order):
            cols = groups[g]
            v = np.nansum(strength[:, cols], axis=1)
            v[np.all(~np.isfinite(strength[:, cols]), axis=1)] = np.nan
            ax.plot(times, v, color=cmap(i % 20), lw=1.4, label=f"{g} ({len(cols)})")
        ax.set_ylabel("men per formation")
        ax.set_title(f"{names.get(s, s)}: by formation (units on the map in brackets)", fontsize=9,
                     color=colors.get(s, "#222"))
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    _date_axis(axes[-1])
    fig.tight_layout()
    return fig


def plot_casualties(scenario: Scenario, results: Results) -> plt.Figure:
    """Left: model's final figure (median, 90% interval) beside each source's claim.
    Right: losses over time in the replayed replication."""
    colors, names = _side_style(scenario)
    every = vd.claim_rows(scenario, results)
    rows = [r for r in every if r.comparable]  # strength, 'other' etc. have no model figure
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, max(4, 0.45 * len(rows) + 2)),
                                 gridspec_kw={"width_ratios": [3, 2]})
    ys = np.arange(len(rows))
    for y, r in zip(ys, rows, strict=True):
        c = colors.get(r.side, "#555")
        if r.comparable:
            a1.plot([r.p05, r.p95], [y, y], color=c, lw=4, alpha=0.4)
            a1.plot(r.median, y, "o", color=c)
        a1.plot(r.claimed, y, "D", mfc="none", mec="black", ms=7)
    a1.set_yticks(ys, [f"{r.source}: {names.get(r.side, r.side)} {r.category.replace('_', ' ')}"
                       + (f" ({r.unit})" if r.unit else "") for r in rows], fontsize=8)
    a1.invert_yaxis()
    a1.set_xlabel("men")
    a1.set_title("model (dot, 90% interval bar) vs claim (diamond)")
    if not rows:
        a1.text(0.5, 0.5, "no claim the model gives a figure for", ha="center", transform=a1.transAxes)
    elif len(rows) < len(every):
        a1.text(0, -0.08 - 0.4 / max(len(rows), 1), f"{len(every) - len(rows)} claims without a model figure "
                "(strengths, other) not shown", transform=a1.transAxes, fontsize=8, color="#666")
    times = vd.series_times(results)
    losses = vd.side_losses_over_time(results)
    for k, s in enumerate(results.sides):
        if times:
            a2.plot(times, losses[k], color=colors.get(s, "#888"), lw=2, label=names.get(s, s))
    a2.set_title("men lost to date (replayed run)")
    a2.legend()
    _date_axis(a2)
    fig.tight_layout()
    return fig


def plot_histograms(scenario: Scenario, results: Results) -> plt.Figure:
    """Outcome distributions over the replications."""
    colors, _ = _side_style(scenario)
    dists = vd.outcome_distributions(scenario, results)
    n = len(dists)
    cols = 3
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.2 * rows), squeeze=False)
    for ax, d in zip(axes.ravel(), dists, strict=False):
        side = d.key.split(".", 1)[1] if "." in d.key else None
        c = colors.get(side, "#4a6fa5") if side else "#4a6fa5"
        if d.kind == "category":
            counts = np.bincount(d.values.astype(int), minlength=len(d.categories))[: len(d.categories)]
            ax.bar(range(len(counts)), counts, color=c)
            ax.set_xticks(range(len(counts)), d.categories, fontsize=8)
        else:
            counts, edges = vd.histogram(d.values)
            if counts.size:
                ax.stairs(counts, edges, fill=True, color=c)
        ax.set_title(d.label, fontsize=9)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.suptitle(f"{scenario.meta.title}: {results.replications} replications")
    fig.tight_layout()
    return fig


PLOTTERS: dict[str, Callable[..., plt.Figure]] = {
    "map": plot_map, "overview": plot_overview, "strengths": plot_strengths, "casualties": plot_casualties, "histograms": plot_histograms,
}


def save_plot(kind: str, path: str | Path, scenario: Scenario, results: Results, *,
              when: dt.date | dt.datetime | None = None, hexmap: Any = None, dpi: int = 120) -> Path:
    """Draw plot `kind` and write it as PNG; VizError for an unknown kind or a date outside the run."""
    if kind not in PLOTTERS:
        raise vd.VizError(f"unknown plot kind '{kind}' (kinds: {', '.join(KINDS)})")
    if kind == "map":
        fig = plot_map(scenario, results, when, hexmap)
    elif kind == "overview":
        fig = plot_overview(scenario, results, hexmap)
    else:
        fig = PLOTTERS[kind](scenario, results)
    path = Path(path)
    try:
        fig.savefig(path, dpi=dpi, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
