"""Static plots of a run (matplotlib, Agg backend: no display needed).

Kinds (`KINDS`): `map` (theater and unit positions at a date), `strengths`
(men on the map over time, by side and by unit), `casualties` (final figures
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
from matplotlib.collections import PolyCollection  # noqa: E402

from xuefeng.results.model import Results  # noqa: E402
from xuefeng.scenario.schema import Scenario  # noqa: E402
from xuefeng.viz import data as vd  # noqa: E402
from xuefeng.viz.svg import ROAD_WIDTHS, TERRAIN_COLORS  # noqa: E402

KINDS: tuple[str, ...] = ("map", "strengths", "casualties", "histograms")


def _date_axis(ax: plt.Axes) -> None:
    loc = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))


def _side_style(scenario: Scenario) -> tuple[dict[str, str], dict[str, str]]:
    return ({s.id: s.color for s in scenario.meta.sides}, {s.id: s.name for s in scenario.meta.sides})


def plot_map(scenario: Scenario, results: Results, when: dt.date | dt.datetime | None = None,
             hexmap: Any = None) -> plt.Figure:
    """Theater with terrain, rivers, roads, towns, airfields and units at `when` (default: the start)."""
    step = vd.step_of(results, when) if when is not None else 0
    times = vd.series_times(results)
    th = scenario.theater
    colors, names = _side_style(scenario)
    kx = np.cos(np.radians((th.bounds.south + th.bounds.north) / 2))
    fig, ax = plt.subplots(figsize=(9, 9 * (th.bounds.north - th.bounds.south)
                                    / ((th.bounds.east - th.bounds.west) * kx) + 0.6))
    ax.set_facecolor(TERRAIN_COLORS.get(th.default_terrain.value, "#ddd"))
    geo = hexmap.to_geojson() if hexmap is not None and not isinstance(hexmap, dict) else hexmap
    if geo and geo.get("features"):
        polys = [np.asarray(f["geometry"]["coordinates"][0]) for f in geo["features"]]
        fc = [TERRAIN_COLORS.get(f["properties"].get("terrain"), "#ddd") for f in geo["features"]]
        ax.add_collection(PolyCollection(polys, facecolors=fc, edgecolors=(0, 0, 0, 0.08), linewidths=0.3))
    else:
        for r in th.terrain:
            ax.fill(*zip(*r.polygon, strict=True), color=TERRAIN_COLORS.get(r.terrain.value, "#ddd"), lw=0)
    for r in th.rivers:
        ax.plot(*zip(*r.coordinates, strict=True), color="#3b7fc4", lw=1.6)
    for r in th.roads:
        ax.plot(*zip(*r.coordinates, strict=True), color="#a0301c" if r.road_class.value == "highway" else "#7a4b2a",
                lw=ROAD_WIDTHS.get(r.road_class.value, 1) * 0.6, ls=":" if r.road_class.value == "track" else "-")
    for t in th.towns:
        ax.plot(t.location.lon, t.location.lat, "o", mfc="white", mec="black", ms=5)
        ax.annotate(t.name, (t.location.lon, t.location.lat), xytext=(4, 3), textcoords="offset points", fontsize=8)
    for a in th.airfields:
        ax.plot(a.location.lon, a.location.lat, "+", color="#1c3f7a", ms=10, mew=2)
    lat, lon = vd.series_array(results, "lat"), vd.series_array(results, "lon")
    strength = vd.series_array(results, "strength")
    seen_sides: set[str] = set()
    for u in vd.map_units(scenario, results):
        x, y = lon[step, u.column], lat[step, u.column]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        s = strength[step, u.column] if strength is not None else np.nan
        spent = bool(np.isfinite(s) and s <= 0 and np.nanmax(strength[: step + 1, u.column]) > 0)
        label = names.get(u.side, u.side) if u.side not in seen_sides else None
        seen_sides.add(u.side)
        ax.plot(x, y, "s", ms=11, mfc=colors.get(u.side, "#888"), mec="black", alpha=0.35 if spent else 0.95,
                label=label)
        ax.annotate(vd.ECHELON_MARKS.get(u.echelon, ""), (x, y), xytext=(0, 7), textcoords="offset points",
                    ha="center", fontsize=6, fontweight="bold")
    ax.set_xlim(th.bounds.west, th.bounds.east)
    ax.set_ylim(th.bounds.south, th.bounds.north)
    ax.set_aspect(1 / kx)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    when_txt = times[step].strftime("%Y-%m-%d %H:%M") if times else ""
    ax.set_title(f"{scenario.meta.title}: {when_txt}")
    if seen_sides:
        ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_strengths(scenario: Scenario, results: Results) -> plt.Figure:
    """Men on the map by side (top) and by unit (bottom) in the first kept replication."""
    times = vd.series_times(results)
    if not times:
        raise vd.VizError("this run kept no time series: strengths over time need one kept replication")
    colors, names = _side_style(scenario)
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(10, 8), sharex=True)
    by_side = vd.side_strength_over_time(results)
    for k, s in enumerate(results.sides):
        a1.plot(times, by_side[k], color=colors.get(s, "#888"), lw=2, label=names.get(s, s))
    a1.set_ylabel("men on the map")
    a1.legend()
    a1.set_title(f"{scenario.meta.title}: strength over time")
    strength = vd.series_array(results, "strength")
    for u in vd.map_units(scenario, results):
        a2.plot(times, strength[:, u.column], color=colors.get(u.side, "#888"), lw=0.9, alpha=0.8)
    a2.set_ylabel("men per unit")
    _date_axis(a2)
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
    "map": plot_map, "strengths": plot_strengths, "casualties": plot_casualties, "histograms": plot_histograms,
}


def save_plot(kind: str, path: str | Path, scenario: Scenario, results: Results, *,
              when: dt.date | dt.datetime | None = None, hexmap: Any = None, dpi: int = 120) -> Path:
    """Draw plot `kind` and write it as PNG; VizError for an unknown kind or a date outside the run."""
    if kind not in PLOTTERS:
        raise vd.VizError(f"unknown plot kind '{kind}' (kinds: {', '.join(KINDS)})")
    if kind == "map":
        fig = plot_map(scenario, results, when, hexmap)
    else:
        fig = PLOTTERS[kind](scenario, results)
    path = Path(path)
    try:
        fig.savefig(path, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return path
