"""Per-replication quantities read from `Results`, and their quantiles.

Summaries, the comparison with sources and the history check all ask the same
questions of a run ("Chinese killed", "did the objective fall", "when was the
offensive over"), so the questions have one vocabulary here: a *quantity* is a
dotted name evaluated to one value per replication.

    victory.<side>                 1 if that side won, else 0
    no_decision                    1 if no side won
    objective_lost                 1 if the victory condition's objective fell
    objective_lost.<id>            1 if a further victory condition's objective
                                   (the scenario's victory list after the first) fell
    objective_held.<id>            1 if that objective held: never lost, or lost and
                                   later held again by its holder (retaken, or the
                                   siege lifted: "is not taken, or is relieved")
    called_off_time                when the attacker's offensive was called off
    advance_km                     furthest advance (engine's definition)
    advance_fraction               advance_km / great-circle distance between
                                   the targets file's start town and objective
    end_time, offensive_end_time   times (NaT = never)
    casualties.<side>.<figure>     a side's ledger figure (see FIGURES)
    battle_casualties_to_day.<side>.<n>
                                   a side's battle casualties (killed, wounded,
                                   missing and captured, as a daily record counts
                                   them: Outcome.daily_casualties) on the
                                   campaign's first n days, the start day day 1
    unit.<unit>.<figure>           a unit's and its subordinates' figure
    civilian_casualties            civilians
    aircrew_lost.<side>            aircrew lost flying for that side
    latest_arrival                 latest arrival time among given units
                                   (NaT if any never arrived)

Figures are the ledger categories plus these sums (`wounded` already includes
those who later died of wounds, and `sick` those who died of illness, so no
man is counted twice):

    casualties         killed + wounded + missing   (battle casualties)
    killed_or_wounded  killed + wounded
    total_deaths       killed + died_of_wounds + died_of_illness
                       (missing men are not counted as dead: the seed's
                       Japanese sources add up this way)
    total_losses       killed + wounded + missing + sick
                       (battle casualties plus sickness; captured men are
                       not added, as the seed's sources do not add them)

Times are handled as float seconds since the epoch, NaT becoming +inf ("never"),
so that a median of end dates in which most replications never ended is "never"
rather than a date.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from xuefeng.results.model import CATEGORIES, Results

#: Sums of ledger categories that sources quote.
DERIVED: dict[str, tuple[str, ...]] = {
    "casualties": ("killed", "wounded", "missing"),
    "killed_or_wounded": ("killed", "wounded"),
    "total_deaths": ("killed", "died_of_wounds", "died_of_illness"),
    "total_losses": ("killed", "wounded", "missing", "sick"),
}
#: Every figure a `casualties.<side>.<figure>` quantity may name.
FIGURES: tuple[str, ...] = (*CATEGORIES, *DERIVED)

EARTH_RADIUS_KM = 6371.0088


class QuantityError(ValueError):
    """A quantity name that does not fit the run or the scenario."""


@dataclass(frozen=True)
class Values:
    """One value per replication. `kind` is 'number', 'bool' or 'time'
    (times as float seconds since 1970, +inf for never)."""

    values: np.ndarray
    kind: str


@dataclass(frozen=True)
class Interval:
    """Median and 90% interval (5th and 95th percentiles)."""

    median: float
    p05: float
    p95: float

    def as_dict(self) -> dict[str, float]:
        return {"median": _clean(self.median), "p05": _clean(self.p05), "p95": _clean(self.p95)}


def _clean(x: float) -> float:
    return float(round(x, 6)) if math.isfinite(x) else x


# --------------------------------------------------------------------------- quantiles


def quantile(values: np.ndarray, q: float) -> float:
    """Linear-interpolation quantile (numpy's default) that treats +inf as a
    value larger than all others: a quantile between a finite value and +inf
    is +inf, never NaN. NaN values are ignored."""
    x = np.asarray(values, dtype=float).ravel()
    x = np.sort(x[~np.isnan(x)])
    if x.size == 0:
        return math.nan
    h = (x.size - 1) * q
    lo, hi = math.floor(h), math.ceil(h)
    frac = h - lo
    if frac == 0.0 or x[lo] == x[hi]:
        return float(x[lo])
    if math.isinf(x[hi]):
        return math.inf
    return float(x[lo] + (x[hi] - x[lo]) * frac)


def interval(values: np.ndarray) -> Interval:
    return Interval(quantile(values, 0.5), quantile(values, 0.05), quantile(values, 0.95))


def wilson_interval(successes: float, n: int, z: float = 1.6448536269514722) -> tuple[float, float]:
    """90% Wilson score interval of a binomial proportion (sampling uncertainty
    of a probability estimated from n replications)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


# --------------------------------------------------------------------------- times


def times_to_seconds(t: np.ndarray) -> np.ndarray:
    """datetime64 array → float seconds since 1970, NaT → +inf."""
    t = np.asarray(t).astype("datetime64[s]")
    out = t.astype("int64").astype(float)
    out[np.isnat(t)] = math.inf
    return out


def seconds_to_datetime(s: float) -> dt.datetime | None:
    """Inverse of `times_to_seconds` for one value; None for never/NaN."""
    if not math.isfinite(s):
        return None
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=round(s))


def to_seconds(d: dt.datetime | dt.date) -> float:
    if not isinstance(d, dt.datetime):
        d = dt.datetime(d.year, d.month, d.day)
    if d.tzinfo is not None:
        d = d.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (d - dt.datetime(1970, 1, 1)).total_seconds()


# --------------------------------------------------------------------------- geometry


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on a sphere of the mean Earth radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# --------------------------------------------------------------------------- evaluation


def side_index(results: Results, side: str) -> int:
    try:
        return results.sides.index(side)
    except ValueError:
        raise QuantityError(f"unknown side '{side}' (sides of this run: {', '.join(results.sides)})") from None


def figure_of(matrix: np.ndarray, figure: str) -> np.ndarray:
    """(R, categories) ledger totals → (R,) values of one figure."""
    if figure in CATEGORIES:
        return matrix[:, CATEGORIES.index(figure)]
    if figure in DERIVED:
        return sum(matrix[:, CATEGORIES.index(c)] for c in DERIVED[figure])
    raise QuantityError(f"unknown casualty figure '{figure}' (known: {', '.join(FIGURES)})")


def subtree_columns(results: Results, scenario, unit_ids: Iterable[str]) -> list[int]:
    """Indices into `results.unit_ids` of the given units and all their
    subordinates (by the scenario's order of battle) that the run has."""
    wanted: set[str] = set()
    children: dict[str | None, list[str]] = {}
    if scenario is not None:
        for u in scenario.units:
            children.setdefault(u.parent, []).append(u.id)
    stack = list(unit_ids)
    while stack:
        uid = stack.pop()
        if uid in wanted:
            continue
        wanted.add(uid)
        stack.extend(children.get(uid, []))
    return [i for i, uid in enumerate(results.unit_ids) if uid in wanted]


def evaluate(results: Results, quantity: str, scenario=None, *,
             units: Sequence[str] = (), advance_km_denominator: float | None = None) -> Values:
    """Evaluate a quantity name (see module docstring) to per-replication values."""
    parts = quantity.split(".")
    head, rest = parts[0], parts[1:]
    o = results.outcome

    def need(n: int) -> None:
        if len(rest) != n:
            raise QuantityError(f"quantity '{quantity}' needs {n} part(s) after '{head}.'"
                                if n else f"quantity '{quantity}' takes no '.' parts")

    if head == "victory":
        need(1)
        return Values((np.asarray(o.winner) == side_index(results, rest[0])).astype(float), "bool")
    if head == "no_decision":
        need(0)
        return Values((np.asarray(o.winner) < 0).astype(float), "bool")
    if head == "objective_lost":
        if rest:
            need(1)
            if rest[0] not in o.objectives_lost:
                raise QuantityError(f"objective_lost.{rest[0]}: no such further objective in this run "
                                    f"(known: {', '.join(o.objectives_lost) or 'none'}; the first victory "
                                    "condition is plain 'objective_lost')")
            return Values(np.asarray(o.objectives_lost[rest[0]], dtype=bool).astype(float), "bool")
        return Values(np.asarray(o.objective_lost, dtype=bool).astype(float), "bool")
    if head == "objective_held":
        need(1)
        if rest[0] not in o.objectives_lost:
            raise QuantityError(f"objective_held.{rest[0]}: no such further objective in this run "
                                f"(known: {', '.join(o.objectives_lost) or 'none'})")
        if rest[0] not in o.objectives_relieved:
            raise QuantityError(f"objective_held.{rest[0]}: these results do not record relief "
                                "(written before it was recorded); run the scenario again")
        lost = np.asarray(o.objectives_lost[rest[0]], dtype=bool)
        back = np.asarray(o.objectives_relieved[rest[0]], dtype=bool)
        return Values((~lost | back).astype(float), "bool")
    if head == "called_off_time":
        need(0)
        if o.called_off_time is None:
            raise QuantityError("called_off_time: these results were written before it was recorded")
        return Values(times_to_seconds(o.called_off_time), "time")
    if head == "advance_km":
        need(0)
        return Values(np.asarray(o.advance_km, dtype=float), "number")
    if head == "advance_fraction":
        need(0)
        if not advance_km_denominator:
            raise QuantityError("'advance_fraction' needs the start town and objective "
                                "(the targets file's 'advance' entry)")
        return Values(np.asarray(o.advance_km, dtype=float) / advance_km_denominator, "number")
    if head in ("end_time", "offensive_end_time"):
        need(0)
        return Values(times_to_seconds(getattr(o, head)), "time")
    if head == "casualties":
        need(2)
        s = side_index(results, rest[0])
        return Values(figure_of(results.side_ledger()[:, s, :], rest[1]), "number")
    if head == "battle_casualties_to_day":
        need(2)
        s = side_index(results, rest[0])
        dc = o.daily_casualties
        if dc is None:
            raise QuantityError(f"{quantity}: these results carry no daily series (written by an older version)")
        try:
            n = int(rest[1])
        except ValueError:
            n = 0
        if not (1 <= n <= dc.shape[1]) or str(n) != rest[1]:
            raise QuantityError(f"{quantity}: the number of days must be a whole number from 1 to the "
                                f"campaign's {dc.shape[1]} days, got '{rest[1]}'")
        return Values(np.asarray(dc[:, :n, s], dtype=float).sum(axis=1), "number")
    if head == "unit":
        need(2)
        cols = subtree_columns(results, scenario, [rest[0]])
        if not cols:
            raise QuantityError(f"unit '{rest[0]}' (or any of its subordinates) is not in this run")
        return Values(figure_of(results.ledger[:, cols, :].sum(axis=1), rest[1]), "number")
    if head == "civilian_casualties":
        need(0)
        return Values(np.asarray(results.civilian_casualties, dtype=float).reshape(-1), "number")
    if head == "aircrew_lost":
        need(1)
        s = side_index(results, rest[0])
        return Values(np.asarray(results.aircrew_lost, dtype=float)[:, s], "number")
    if head == "latest_arrival":
        need(0)
        if not units:
            raise QuantityError("'latest_arrival' needs a list of units")
        cols = subtree_columns(results, scenario, units)
        if not cols:
            raise QuantityError(f"none of the units {list(units)} (or their subordinates) is in this run")
        secs = times_to_seconds(np.asarray(o.arrival_time)[:, cols])
        return Values(secs.max(axis=1), "time")
    raise QuantityError(f"unknown quantity '{quantity}'")
