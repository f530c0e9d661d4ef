"""The HTML report: one self-contained file that replays and explains a run.

`build_report(scenario, results, hexmap)` returns the page as a string. It
needs no network: the script and style sheet are this package's own files
(`viz/static/`), inlined; the map, the charts and the histograms are SVG drawn
here; the replay data (the first kept replication's series) is embedded as
JSON that the script reads.

Stable hooks for tests and for readers who script the page: `#map`,
`.unit[data-unit-id]`, `#time-slider`, `#play`, `#time-label`,
`#unit-details`, `#casualty-chart`, `#claims-table`, `#oob`, `#timeline`,
`#histograms` (only for ensembles), `#report-data` (the embedded JSON),
`#map-legend`, `#scale-bar`, `#north-arrow`, `#map-labels .map-label`,
`#front-line`, `#overview-map`, `#zoom-in`/`#zoom-out`/`#zoom-reset`.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from xuefeng.results.model import CATEGORIES, Results
from xuefeng.scenario.schema import Scenario
from xuefeng.viz import data as vd
from xuefeng.viz.cartography import (
    CONTROL_CELL_KM,
    CONTROL_RADIUS_KM,
    MIN_POCKET_KM2,
    Projection,
    front_lines,
    path_d,
)
from xuefeng.viz.svg import (
    Line,
    esc,
    fmt_num,
    histogram_svg,
    line_chart,
    map_svg,
    overview_svg,
    unit_symbol,
)


def _static(name: str) -> str:
    return (importlib.resources.files("xuefeng.viz") / "static" / name).read_text(encoding="utf-8")


def _side_colors(scenario: Scenario) -> dict[str, str]:
    return {s.id: s.color for s in scenario.meta.sides}


def _side_names(scenario: Scenario) -> dict[str, str]:
    return {s.id: s.name for s in scenario.meta.sides}


def _round_list(a: np.ndarray, nd: int) -> list[float | None]:
    return [None if not math.isfinite(float(v)) else round(float(v), nd) for v in a]


def _hexgeo(hexmap: Any) -> dict[str, Any] | None:
    if hexmap is None:
        return None
    if isinstance(hexmap, dict):
        return hexmap
    return hexmap.to_geojson()


def _events(scenario: Scenario, results: Results, times: list[dt.datetime]) -> list[dict[str, Any]]:
    """The replayed replication's events, digested (engagements by day and defender, naming
    both sides and the place: results.digest), and the scenario's historical events."""
    from xuefeng.results.digest import digest

    def step(t: dt.datetime) -> int:
        k = 0
        for i, x in enumerate(times):
            if x <= t:
                k = i
        return k

    ev = results.events
    if not (isinstance(ev, pd.DataFrame) and len(ev) and "time" in ev.columns):
        ev = pd.DataFrame(columns=["replication", "time", "kind", "side", "units", "cell", "lat", "lon", "detail"])
    rep = replayed_replication(results) if results.replications else None
    out: list[dict[str, Any]] = []
    for it in digest(scenario, ev, replication=rep if len(ev) else None):
        if pd.isna(it.time):
            continue
        t = vd._naive(it.time.to_pydatetime())
        out.append({"time": t.strftime("%Y-%m-%d %H:%M"), "step": step(t) if times else 0,
                    "kind": it.kind, "side": ",".join(it.sides), "text": it.text, "units": "",
                    "source": it.source})
    return out


def replayed_replication(results: Results) -> int:
    """Global number of the replication the page replays (the series' first)."""
    ds = results.series
    if ds is not None and "replication" in ds.coords and ds.sizes.get("replication", 0):
        return int(ds["replication"].values[0])
    return int(results.replication_ids[0]) if results.replications else 0


def report_data(scenario: Scenario, results: Results, proj: Projection) -> dict[str, Any]:
    """The JSON the page's script replays: per unit, per step positions (in
    map units) and state of the first kept replication."""
    times = vd.series_times(results)
    units = vd.map_units(scenario, results)
    colors, names = _side_colors(scenario), _side_names(scenario)
    lat, lon = vd.series_array(results, "lat"), vd.series_array(results, "lon")
    postures = vd.posture_strings(results)
    arrays = {v: vd.series_array(results, v) for v in ("strength", "supply", "morale", "fatigue")}
    posture_names = sorted({str(p) for p in postures.ravel() if p}) if postures is not None else []
    out_units = []
    for u in units:
        x, y = proj.xy_arrays(lon[:, u.column], lat[:, u.column]) if lat is not None else ([], [])
        rec: dict[str, Any] = {
            "id": u.id, "name": u.name, "side": u.side, "sideName": names.get(u.side, u.side),
            "color": colors.get(u.side, "#888888"), "echelon": u.echelon.replace("_", " "),
            "commander": u.commander, "parent": u.parent,
            "initial": None if not math.isfinite(u.initial_strength) else round(u.initial_strength),
            "x": _round_list(x, 1), "y": _round_list(y, 1),
            "ledger": {k: round(v) for k, v in vd.ledger_of(results, u.id).items()},
        }
        for v, arr in arrays.items():
            if arr is not None:
                rec[v] = _round_list(arr[:, u.column], 0 if v == "strength" else 2)
        if postures is not None:
            rec["posture"] = [posture_names.index(p) if p in posture_names else -1
                              for p in postures[:, u.column]]
        out_units.append(rec)
    return {
        "scenario": scenario.meta.name,
        "title": scenario.meta.title,
        "times": [t.strftime("%Y-%m-%d %H:%M") for t in times],
        "postures": posture_names,
        "units": out_units,
        "map": {"width": proj.width, "height": proj.height, "kmPerUnit": proj.km_per_unit},
        "sides": [{"id": s.id, "name": s.name, "color": s.color} for s in scenario.meta.sides],
        "unitNames": {u.id: u.name for u in scenario.units},
        "events": _events(scenario, results, times),
    }


# --------------------------------------------------------------------------- sections


def _oob_html(scenario: Scenario, on_map: set[str]) -> str:
    children: dict[str | None, list] = {}
    for u in scenario.units:
        children.setdefault(u.parent, []).append(u)

    def node(u) -> str:
        mark = vd.ECHELON_MARKS.get(u.echelon.value, "")
        cls = "oob-node on-map" if u.id in on_map else "oob-node"
        cmd = f' <span class="commander">{esc(u.commander)}</span>' if u.commander else ""
        total = scenario.total_strength(u.id)
        kids = children.get(u.id, [])
        sub = f"<ul>{''.join(node(k) for k in kids)}</ul>" if kids else ""
        return (f'<li><span class="{cls}" data-unit-id="{esc(u.id)}" data-side="{esc(u.side)}">'
                f'<span class="mark">{esc(mark)}</span> {esc(u.name)}{cmd} '
                f'<span class="men">{fmt_num(total)} men</span></span>{sub}</li>')

    parts = ['<div id="oob">']
    for s in scenario.meta.sides:
        roots = [u for u in children.get(None, []) if u.side == s.id]
        parts.append(f'<div class="oob-side" data-side="{esc(s.id)}"><h3 style="color:{esc(s.color)}">'
                     f'{esc(s.name)}</h3><ul>{"".join(node(u) for u in roots)}</ul></div>')
    parts.append("</div>")
    return "".join(parts)


def _claims_html(scenario: Scenario, results: Results) -> str:
    names = _side_names(scenario)
    rows = vd.claim_rows(scenario, results)
    n = results.replications
    # one replication has no interval: show its value and no verdict (a range of one point says nothing)
    head = ("<tr><th>Source</th><th>Side</th><th>Figure</th><th>Claimed</th>"
            + ("<th>Model (median)</th><th>Model 90% interval</th><th>Claim in model range</th></tr>" if n > 1
               else "<th>Model (one replication)</th></tr>"))
    body = []
    for r in rows:
        fig = r.category.replace("_", " ") + (f" ({r.unit})" if r.unit else "")
        within = r.within if n > 1 else None
        verdict = "–" if within is None else ("yes" if within else "no")
        tail = (f'<td class="num">{"–" if not r.comparable else f"{r.p05:,.0f} – {r.p95:,.0f}"}</td>'
                f"<td>{verdict}</td>") if n > 1 else ""
        note = f'<div class="note">{esc(r.note)}</div>' if r.note else ""
        body.append(
            f'<tr data-claim-id="{esc(r.claim_id)}" class="{"within" if within else "outside" if within is False else "na"}">'
            f"<td>{esc(r.source)}{note}</td><td>{esc(names.get(r.side, r.side))}</td><td>{esc(fig)}</td>"
            f'<td class="num">{r.claimed:,.0f}</td>'
            f'<td class="num">{"–" if not r.comparable else f"{r.median:,.0f}"}</td>'
            f"{tail}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{7 if n > 1 else 5}">The scenario records no claims.</td></tr>')
    # the model's own side totals, so figures no source gives are visible too
    led = results.side_ledger()
    tot = ['<table id="side-totals"><tr><th>Side</th><th>Killed</th><th>Wounded</th><th>Missing</th>'
           '<th>Captured</th><th>Sick</th><th>Died of illness</th></tr>']
    for s, side in enumerate(results.sides):
        cells = "".join(f'<td class="num">{float(np.median(led[:, s, CATEGORIES.index(c)])):,.0f}</td>'
                        for c in ("killed", "wounded", "missing", "captured", "sick", "died_of_illness"))
        tot.append(f"<tr><td>{esc(names.get(side, side))}</td>{cells}</tr>")
    tot.append("</table>")
    return (f'<table id="claims-table"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>'
            f'<h3>Model totals{" (medians over replications)" if n > 1 else ""}</h3>{"".join(tot)}')


def _chart_html(scenario: Scenario, results: Results) -> str:
    times = vd.series_times(results)
    losses = vd.side_losses_over_time(results)
    colors, names = _side_colors(scenario), _side_names(scenario)
    lines = [Line(f"{names.get(s, s)}: men lost", colors.get(s, "#888"), losses[k])
             for k, s in enumerate(results.sides)]
    marks = []
    for c in scenario.claims:
        if c.side in colors and c.category.value in ("casualties", "total_losses", "killed_or_wounded"):
            marks.append((f"{c.source}: {names.get(c.side, c.side)} {c.category.value.replace('_', ' ')}",
                          colors[c.side], float(c.figure)))
    return line_chart("casualty-chart", lines, [t.strftime("%d %b") for t in times], "men lost (replayed run)",
                      marks, ticks=_day_ticks(times))


def _day_ticks(times: list[dt.datetime], most: int = 8) -> list[int]:
    """Steps where a new day begins, thinned to at most `most` ticks."""
    firsts = [k for k, t in enumerate(times) if k == 0 or t.date() != times[k - 1].date()]
    every = max(1, -(-len(firsts) // most))
    return firsts[::every]


def _histograms_html(scenario: Scenario, results: Results) -> str:
    if results.replications <= 1:
        return ""
    colors = _side_colors(scenario)
    parts = [f'<section id="histograms"><h2>Outcome distributions ({results.replications} replications)</h2>'
             '<div class="hist-grid">']
    for d in vd.outcome_distributions(scenario, results):
        if d.kind == "category":
            counts = np.bincount(d.values.astype(int), minlength=len(d.categories))[: len(d.categories)]
            svg = histogram_svg(f"hist-{d.key}", d.label, counts, np.arange(len(counts) + 1), d.categories)
        else:
            counts, edges = vd.histogram(d.values)
            side = d.key.split(".", 1)[1] if "." in d.key else None
            svg = histogram_svg(f"hist-{d.key.replace('.', '-')}", d.label, counts, edges,
                                color=colors.get(side, "#4a6fa5") if side else "#4a6fa5")
        parts.append(f'<figure class="hist" data-key="{esc(d.key)}">{svg}</figure>')
    parts.append("</div></section>")
    return "".join(parts)


def _outcome_html(scenario: Scenario, results: Results) -> str:
    names = _side_names(scenario)
    w = np.asarray(results.outcome.winner, dtype=int)
    n = max(results.replications, 1)
    items = [f"<li>{esc(names.get(s, s))} won in {int((w == k).sum())} of {n}</li>"
             for k, s in enumerate(results.sides)]
    items.append(f"<li>no decision in {int((w < 0).sum())} of {n}</li>")
    adv = np.asarray(results.outcome.advance_km, dtype=float)
    if adv.size and np.isfinite(adv).any():
        items.append(f"<li>furthest advance: median {np.nanmedian(adv):.0f} km</li>")
    return f'<ul id="outcome">{"".join(items)}</ul>'


def _timeline_html(events: list[dict[str, Any]], side_names: dict[str, str] | None = None) -> str:
    items = []
    for k, e in enumerate(events):
        units = f' <span class="units">[{esc(e["units"])}]</span>' if e["units"] else ""
        items.append(f'<li class="event {esc(e["source"])}" data-step="{e["step"]}" data-index="{k}" '
                     f'data-kind="{esc(e["kind"])}" data-sides="{esc(e["side"])}"><time>{esc(e["time"])}</time> '
                     f'<span class="kind">{esc(e["kind"].replace("_", " "))}</span> {esc(e["text"])}{units}'
                     f' <span class="src">({esc(e["source"])})</span></li>')
    if not items:
        items.append('<li class="empty">No events recorded.</li>')
    kinds = sorted({e["kind"] for e in events})
    opts = ['<option value="">all events</option>', '<option value="@historical">historical events only</option>',
            *(f'<option value="{esc(k)}">{esc(k.replace("_", " "))}</option>' for k in kinds)]
    sides = sorted({x for e in events for x in e["side"].split(",") if x})
    names = side_names or {}
    sopts = ['<option value="">both sides</option>',
             *(f'<option value="{esc(x)}">{esc(names.get(x, x))}</option>' for x in sides)]
    return (f'<label class="filter">Show <select id="timeline-filter">{"".join(opts)}</select></label> '
            f'<label class="filter">involving <select id="timeline-side">{"".join(sopts)}</select></label>'
            f'<ol id="timeline">{"".join(items)}</ol>')


# --------------------------------------------------------------------------- page


def build_report(scenario: Scenario, results: Results, hexmap: Any = None, *,
                 title: str | None = None) -> str:
    """The report page for `results` of `scenario` (hexmap: a `HexMap` or its
    GeoJSON; without one the scenario's terrain polygons are drawn)."""
    if results.series is None:
        raise vd.VizError("this run kept no time series: the report replays the first replication, "
                          "so run it with at least one replication kept (keep_series >= 1)")
    proj = Projection.of(scenario)
    payload = report_data(scenario, results, proj)
    units = vd.map_units(scenario, results)
    sym, points = [], []
    for u, rec, (x0, y0) in zip(units, payload["units"], _fanned([(r["x"][0], r["y"][0]) for r in payload["units"]]),
                                strict=True):
        sym.append(_symbol(u, rec, x0, y0))
        points.append((x0, y0))
    control = vd.run_control(scenario, results, proj)
    fronts, front_index = _fronts(control)
    payload["fronts"], payload["frontIndex"] = fronts, front_index
    svg = map_svg(scenario, proj, _hexgeo(hexmap), "".join(sym), unit_points=points,
                  front_d=fronts[front_index[0]] if front_index else "")
    times_all = vd.series_times(results)
    overview = overview_svg(scenario, proj, [(times_all[k].strftime("%d %b %Y"), fronts[front_index[k]])
                                             for k in vd.overview_steps(results)])
    # \u escapes keep '<', '>' and '&' from ever closing or confusing the <script> element
    blob = (json.dumps(payload, separators=(",", ":"), allow_nan=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    title = title or f"{scenario.meta.title} — Xuefeng report"
    times = payload["times"]
    legend = "".join(f'<span class="side-key"><i style="background:{esc(s.color)}"></i>{esc(s.name)}</span>'
                     for s in scenario.meta.sides)
    meta = (f"{esc(scenario.meta.name)} · seed {results.seed} · {results.replications} "
            f"replication{'s' if results.replications != 1 else ''} · replay of replication "
            f"{replayed_replication(results)}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'none'">
<title>{esc(title)}</title>
<style>{_static("report.css")}</style>
</head>
<body>
<header><h1>{esc(scenario.meta.title)}</h1><p class="meta">{meta}</p>
<p class="desc">{esc(scenario.meta.description)}</p></header>
<main>
<section id="replay">
<div id="map-wrap">{svg}<div id="zoom-controls"><button id="zoom-in" type="button" aria-label="Zoom in">+</button><button id="zoom-out" type="button" aria-label="Zoom out">−</button><button id="zoom-reset" type="button" aria-label="Whole map">⌂</button></div></div>
<div id="controls">
<button id="play" type="button" aria-pressed="false">Play</button>
<input id="time-slider" type="range" min="0" max="{max(len(times) - 1, 0)}" value="0" step="1" aria-label="Time step">
<output id="time-label">{esc(times[0] if times else "")}</output>
<span class="legend">{legend}</span>
</div>
</section>
<aside>
<section><h2>Unit</h2><div id="unit-details" aria-live="polite"><p class="hint">Click a unit on the map or in the order of battle.</p></div></section>
<section><h2>Outcome</h2>{_outcome_html(scenario, results)}</section>
<section><h2>Order of battle</h2>{_oob_html(scenario, {u.id for u in units})}</section>
</aside>
<section id="overview"><h2>Campaign overview</h2>{overview}
<p class="note">The front line of the replayed run at the start, at evenly spaced dates and at the end: the boundary between the ground each side holds (a cell of about {CONTROL_CELL_KM:g} km belongs to the side of the nearest unit within {CONTROL_RADIUS_KM:g} km, and keeps its holder while no unit is that near; pockets under {MIN_POCKET_KM2:,.0f} km², the ground one unit holds alone, are absorbed). Azimuthal equidistant projection centred on the theater.</p></section>
<section id="casualties"><h2>Losses over time</h2>{_chart_html(scenario, results)}
<p class="note">Men lost to date in the replayed run (each unit's highest strength so far minus its strength now: killed, wounded, missing, captured and sick, net of returns). Triangles at the right edge: sources' final figures.</p></section>
<section id="claims"><h2>Final figures beside the sources' claims</h2>{_claims_html(scenario, results)}</section>
{_histograms_html(scenario, results)}
<section id="events"><h2>Event timeline</h2>{_timeline_html(payload["events"], _side_names(scenario))}</section>
</main>
<footer>Made by Xuefeng. Self-contained: no network access is needed to view this file.</footer>
<script type="application/json" id="report-data">{blob}</script>
<script>{_static("report.js")}</script>
</body>
</html>
"""


#: Units closer than this (map units) share a slot and are fanned out by FAN_STEP each (as report.js does).
FAN_GRID = 12.0
FAN_STEP = (7.0, 5.0)


def _fanned(points: list[tuple[float | None, float | None]]) -> list[tuple[float | None, float | None]]:
    """Positions as report.js's placeUnits draws them: units in one slot fanned out, so the
    names are placed clear of where the symbols really stand."""
    seen: dict[tuple[int, int], int] = {}
    out: list[tuple[float | None, float | None]] = []
    for x, y in points:
        if x is None or y is None:
            out.append((x, y))
            continue
        key = (math.floor(x / FAN_GRID + 0.5), math.floor(y / FAN_GRID + 0.5))
        n = seen.get(key, 0)
        seen[key] = n + 1
        out.append((x + n * FAN_STEP[0], y + n * FAN_STEP[1]))
    return out


def _fronts(control) -> tuple[list[str], list[int]]:
    """Front-line path data per step, each distinct path once: (paths, index of each step's path)."""
    paths: list[str] = []
    seen: dict[str, int] = {}
    index = []
    for k in range(control.side.shape[0]):
        d = path_d(front_lines(control, k))
        if d not in seen:
            seen[d] = len(paths)
            paths.append(d)
        index.append(seen[d])
    return paths, index


def _symbol(u: vd.MapUnit, rec: dict[str, Any], x0: float | None, y0: float | None) -> str:
    return unit_symbol(u.id, u.name, u.side, rec["color"], vd.ECHELON_MARKS.get(u.echelon, ""), x0, y0)


def write_report(path, scenario: Scenario, results: Results, hexmap: Any = None) -> None:
    """Write the report to `path` (UTF-8)."""
    from pathlib import Path

    Path(path).write_text(build_report(scenario, results, hexmap), encoding="utf-8")
