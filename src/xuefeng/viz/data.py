"""What the report, the plots and the web page show, read from a Scenario and `Results`.

One place turns a run into plain numbers and strings for presentation (unit
positions of the replayed replication, losses over time, figures beside each
source's claim, outcome distributions), so that the HTML report and the
matplotlib plots show the same thing. Reads `Results` only, never the engine.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from xuefeng.analysis.summary import comparison_table
from xuefeng.results.model import BATTLE_CATEGORIES, CATEGORIES, Results
from xuefeng.scenario.schema import Echelon, Posture, Scenario

#: Echelon marks drawn above a unit symbol (NATO-like size indicators).
ECHELON_MARKS: dict[str, str] = {
    "command": "XXXXXX",
    "front_army": "XXXXX",
    "army": "XXXX",
    "army_group": "XXXXX",
    "corps": "XXX",
    "division": "XX",
    "brigade": "X",
    "regiment": "III",
    "battalion": "II",
    "group": "",
}

#: Series variables shown for a unit, in this order (absent ones are skipped).
UNIT_VARIABLES: tuple[str, ...] = ("strength", "posture", "supply", "morale", "fatigue")


class VizError(ValueError):
    """A presentation request that does not fit the run (e.g. no time series kept)."""


# --------------------------------------------------------------------------- time


def _naive(d: dt.datetime) -> dt.datetime:
    if d.tzinfo is not None:
        return d.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return d


def series_times(results: Results) -> list[dt.datetime]:
    """Times of the series' steps (naive, UTC if the scenario had a zone)."""
    ds = results.series
    if ds is None:
        return []
    t = ds["time"].values
    if np.issubdtype(t.dtype, np.datetime64):
        secs = t.astype("datetime64[s]").astype("int64")
        return [dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(s)) for s in secs]
    start = _naive(results.start)
    return [start + dt.timedelta(hours=float(k) * results.step_hours) for k in np.asarray(t, dtype=float)]


def step_of(results: Results, when: dt.datetime | dt.date) -> int:
    """Index of the last series step at or before `when`; VizError if outside the run."""
    times = series_times(results)
    if not times:
        raise VizError("this run kept no time series (run with at least one replication kept for replay)")
    if not isinstance(when, dt.datetime):
        when = dt.datetime(when.year, when.month, when.day, 23, 59, 59)
    when = _naive(when)
    if when < times[0].replace(hour=0, minute=0, second=0) or when > times[-1] + dt.timedelta(days=1):
        raise VizError(f"date {when.date().isoformat()} is outside the campaign "
                       f"({times[0].date().isoformat()} .. {times[-1].date().isoformat()})")
    k = 0
    for i, t in enumerate(times):
        if t <= when:
            k = i
    return k


# --------------------------------------------------------------------------- units


def _posture_labels(attrs: dict[str, Any]) -> list[str]:
    """Names of integer posture codes: the variable's CF `flag_meanings` (or
    `labels`/`categories`) attribute, else the scenario schema's `Posture` order."""
    labels = attrs.get("labels") or attrs.get("flag_meanings") or attrs.get("categories")
    if isinstance(labels, str):
        labels = labels.replace(",", " ").split()
    if not labels:
        labels = [p.value for p in Posture]
    return [str(x) for x in labels]


def posture_strings(results: Results, replication: int = 0) -> np.ndarray | None:
    """(T, U) posture names of one kept replication (None if the series has no posture)."""
    ds = results.series
    if ds is None or "posture" not in ds:
        return None
    da = ds["posture"].isel(replication=replication).transpose("time", "unit")
    v = np.asarray(da.values)
    if v.dtype.kind in "iuf":
        labels = _posture_labels(dict(da.attrs))
        out = np.full(v.shape, "", dtype=object)
        ok = np.isfinite(v.astype(float))
        idx = np.where(ok, v.astype(float), -1).astype(int)
        for (i, j), k in np.ndenumerate(idx):
            out[i, j] = labels[k] if 0 <= k < len(labels) else ""
        return out
    return np.vectorize(lambda x: "" if x is None else str(x), otypes=[object])(v)


def series_array(results: Results, name: str, replication: int = 0) -> np.ndarray | None:
    """(T, U) float array of one variable of one kept replication (None if absent)."""
    ds = results.series
    if ds is None or name not in ds:
        return None
    return np.asarray(ds[name].isel(replication=replication).transpose("time", "unit").values, dtype=float)


def series_unit_ids(results: Results) -> list[str]:
    ds = results.series
    if ds is None:
        return []
    return [str(u) for u in ds["unit"].values]


@dataclass(frozen=True)
class MapUnit:
    """A unit drawn on the map: the scenario's facts about it and its column in the series."""

    column: int
    id: str
    name: str
    side: str
    side_index: int
    echelon: str
    commander: str
    parent: str | None
    initial_strength: float


def map_units(scenario: Scenario, results: Results) -> list[MapUnit]:
    """Units of the series that are somewhere on the map at some step (manoeuvre units)."""
    ids = series_unit_ids(results)
    lat = series_array(results, "lat")
    lon = series_array(results, "lon")
    if lat is None or lon is None:
        return []
    strength = series_array(results, "strength")
    by_id = {u.id: u for u in scenario.units}
    res_index = {u: i for i, u in enumerate(results.unit_ids)}
    side_ids = [s.id for s in scenario.meta.sides]
    out: list[MapUnit] = []
    for j, uid in enumerate(ids):
        placed = np.isfinite(lat[:, j]) & np.isfinite(lon[:, j])
        if not placed.any():
            continue
        u = by_id.get(uid)
        if uid in res_index:
            side = results.sides[int(results.unit_sides[res_index[uid]])]
        elif u is not None:
            side = u.side
        else:
            side = results.sides[0]
        s0 = math.nan
        if strength is not None:
            col = strength[:, j]
            fin = col[np.isfinite(col)]
            s0 = float(fin[0]) if fin.size else math.nan
        if not math.isfinite(s0) and u is not None:
            s0 = float(scenario.total_strength(uid))
        out.append(MapUnit(
            column=j, id=uid,
            name=u.name if u else (results.unit_names[res_index[uid]] if uid in res_index else uid),
            side=side, side_index=side_ids.index(side) if side in side_ids else 0,
            echelon=u.echelon.value if u else Echelon.division.value,
            commander=(u.commander or "") if u else "",
            parent=u.parent if u else None,
            initial_strength=s0,
        ))
    return out


# --------------------------------------------------------------------------- losses over time


def side_strength_over_time(results: Results, replication: int = 0) -> np.ndarray:
    """(side, T) men in each side's units on the map at each step (NaN-safe sum)."""
    s = series_array(results, "strength", replication)
    if s is None:
        return np.zeros((len(results.sides), 0))
    sides = _series_sides(results)
    out = np.zeros((len(results.sides), s.shape[0]))
    for k in range(len(results.sides)):
        out[k] = np.nansum(s[:, sides == k], axis=1)
    return out


def side_losses_over_time(results: Results, replication: int = 0) -> np.ndarray:
    """(side, T) men lost to date: for each unit, its highest strength so far
    minus its strength now (so arrivals and reinforcements are not losses),
    summed over the side's units. Net of men returned to duty."""
    s = series_array(results, "strength", replication)
    if s is None:
        return np.zeros((len(results.sides), 0))
    filled = np.where(np.isfinite(s), s, np.nan)
    peak = np.fmax.accumulate(np.nan_to_num(filled, nan=0.0), axis=0)
    now = np.where(np.isfinite(filled), filled, peak)  # unknown = unchanged
    lost = np.clip(peak - now, 0.0, None)
    sides = _series_sides(results)
    out = np.zeros((len(results.sides), s.shape[0]))
    for k in range(len(results.sides)):
        out[k] = lost[:, sides == k].sum(axis=1)
    return out


def _series_sides(results: Results) -> np.ndarray:
    res_index = {u: i for i, u in enumerate(results.unit_ids)}
    return np.array([int(results.unit_sides[res_index[u]]) if u in res_index else -1
                     for u in series_unit_ids(results)], dtype=int)


# --------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class ClaimRow:
    """One source's figure beside the model's (median and 90% interval over replications)."""

    claim_id: str
    source: str
    side: str
    category: str
    unit: str | None
    claimed: float
    median: float
    p05: float
    p95: float
    note: str

    @property
    def comparable(self) -> bool:
        return math.isfinite(self.median)

    @property
    def within(self) -> bool | None:
        """Whether the claim lies inside the model's 90% interval (None if not comparable)."""
        if not self.comparable:
            return None
        return self.p05 <= self.claimed <= self.p95


def claim_rows(scenario: Scenario, results: Results) -> list[ClaimRow]:
    """Every claim beside the model's figure, as the analysis part compares them
    (`xuefeng.analysis.summary.comparison_table`), so report and CLI agree."""
    rows = []
    for c in comparison_table(results, scenario):
        sim = c.simulated
        rows.append(ClaimRow(
            claim_id=c.claim_id, source=c.source, side=c.side or "civilians",
            category=c.category, unit=c.unit, claimed=float(c.figure),
            median=sim.median if sim else math.nan, p05=sim.p05 if sim else math.nan,
            p95=sim.p95 if sim else math.nan, note=c.note,
        ))
    return rows


# --------------------------------------------------------------------------- ensembles


@dataclass(frozen=True)
class Distribution:
    """Per-replication values of one outcome figure, for a histogram."""

    key: str
    label: str
    values: np.ndarray  # finite values only
    kind: str  # "number" | "category"
    categories: tuple[str, ...] = ()


def outcome_distributions(scenario: Scenario, results: Results) -> list[Distribution]:
    """Outcome figures worth a histogram when there are several replications."""
    o = results.outcome
    side_names = {s.id: s.name for s in scenario.meta.sides}
    out: list[Distribution] = []
    winners = np.asarray(o.winner, dtype=int)
    cats = tuple([side_names.get(s, s) for s in results.sides] + ["no decision"])
    out.append(Distribution("winner", "Winner", np.where(winners < 0, len(results.sides), winners),
                            "category", cats))
    adv = np.asarray(o.advance_km, dtype=float)
    out.append(Distribution("advance_km", "Furthest advance (km)", adv[np.isfinite(adv)], "number"))
    start = np.datetime64(_naive(results.start), "s")
    for key, label in (("end_time", "Campaign end (days from start)"),
                       ("offensive_end_time", "Offensive over (days from start)")):
        t = np.asarray(getattr(o, key)).astype("datetime64[s]")
        days = (t[~np.isnat(t)] - start).astype("int64") / 86400.0
        if days.size:
            out.append(Distribution(key, label, days, "number"))
    led = results.side_ledger()
    for s, side in enumerate(results.sides):
        name = side_names.get(side, side)
        bc = sum(led[:, s, CATEGORIES.index(c)] for c in BATTLE_CATEGORIES)
        out.append(Distribution(f"casualties.{side}", f"{name}: battle casualties", np.asarray(bc), "number"))
        sick = led[:, s, CATEGORIES.index("sick")]
        if np.any(sick > 0):
            out.append(Distribution(f"sick.{side}", f"{name}: sick", np.asarray(sick), "number"))
    return out


def histogram(values: np.ndarray, bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Counts and edges; a single value gets one bin of width 1 around it."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.zeros(0, dtype=int), np.zeros(1)
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, bins=min(bins, max(1, int(np.sqrt(v.size)) * 2)), range=(lo, hi))
    return counts, edges


def ledger_of(results: Results, unit_id: str, replication: int = 0) -> dict[str, float]:
    """Final ledger of one unit (its own column) in one replication."""
    try:
        j = results.unit_ids.index(unit_id)
    except ValueError:
        return {}
    return {c: float(results.ledger[replication, j, k]) for k, c in enumerate(CATEGORIES)}


# --------------------------------------------------------------------------- front line


def run_control(scenario: Scenario, results: Results, proj: Any) -> Any:
    """Control of the ground at every step of the replayed replication
    (`cartography.control_grids` on the units' positions in `proj`'s map units)."""
    from xuefeng.viz.cartography import control_grids

    units = map_units(scenario, results)
    lat, lon = series_array(results, "lat"), series_array(results, "lon")
    strength = series_array(results, "strength")
    T = len(series_times(results))
    if lat is None or lon is None or not units:
        return control_grids(np.full((T, 0), np.nan), np.full((T, 0), np.nan), np.zeros(0, int),
                             np.zeros((T, 0), bool), proj.width, proj.height, proj.km_per_unit)
    cols = [u.column for u in units]
    x, y = proj.xy_arrays(lon[:, cols], lat[:, cols])
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    x[~np.isfinite(lon[:, cols])] = np.nan
    y[~np.isfinite(lat[:, cols])] = np.nan
    alive = np.isfinite(x) & np.isfinite(y)
    if strength is not None:
        s = strength[:, cols]
        alive &= ~(np.isfinite(s) & (s <= 0))
    side = np.array([u.side_index for u in units], dtype=int)
    return control_grids(x, y, side, alive, proj.width, proj.height, proj.km_per_unit)


def overview_steps(results: Results, count: int = 5) -> list[int]:
    """Steps of the campaign overview: the start, evenly spaced days between, the end
    (first step of each chosen day; the last step for the end)."""
    times = series_times(results)
    if not times:
        return []
    firsts = [k for k, t in enumerate(times) if k == 0 or t.date() != times[k - 1].date()]
    if len(firsts) <= count:
        picks = firsts[:-1] + [len(times) - 1] if len(firsts) > 1 else [0, len(times) - 1]
    else:
        idx = np.linspace(0, len(firsts) - 1, count).round().astype(int)
        picks = [firsts[i] for i in idx[:-1]] + [len(times) - 1]
    return sorted(set(picks))
