"""The history check: does an ensemble reproduce what the sources say happened?

Each target of the scenario's `history_targets.yaml` (see
`xuefeng.analysis.targets`) is evaluated on a `Results` and reported with its
source, the simulated median and 90% interval, and whether it holds.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from xuefeng.analysis.quantities import evaluate, interval, seconds_to_datetime, to_seconds, wilson_interval
from xuefeng.analysis.targets import HistoryTargets, Target, TargetsError, check_against
from xuefeng.results.model import Results

Value = float | dt.datetime | None


@dataclass(frozen=True)
class TargetResult:
    """One target's verdict.

    For a probability target, `simulated_median` is the fraction of
    replications and `p05`/`p95` its 90% Wilson interval (sampling
    uncertainty); otherwise they are the median and the 5th/95th percentiles
    over replications. Times are datetimes (None: never, e.g. the offensive
    never ended in most replications). For a comparison, `compared_median` is
    the other quantity's median.
    """

    name: str
    source: str
    target_text: str
    simulated_median: Value
    p05: Value
    p95: Value
    holds: bool
    kind: str = ""
    quantity: str = ""
    value_kind: str = "number"
    compared_median: Value = None


def _bound_seconds(b, upper: bool) -> float:
    """Bounds on times: a bare date as an upper bound means the end of that day."""
    if isinstance(b, dt.datetime):
        return to_seconds(b)
    if isinstance(b, dt.date):
        return to_seconds(b + dt.timedelta(days=1)) - 1e-6 if upper else to_seconds(b)
    raise TypeError(b)


def _within(value: float, t: Target, is_time: bool) -> bool:
    if math.isnan(value):
        return False
    if t.min is not None:
        lo = _bound_seconds(t.min, upper=False) if is_time else float(t.min)  # type: ignore[arg-type]
        if value < lo:
            return False
    if t.max is not None:
        hi = _bound_seconds(t.max, upper=True) if is_time else float(t.max)  # type: ignore[arg-type]
        if value > hi:
            return False
    return True


def _out(x: float, kind: str) -> Value:
    if kind == "time":
        return seconds_to_datetime(x)
    return x


def evaluate_target(results: Results, scenario, targets: HistoryTargets, t: Target) -> TargetResult:
    denominator = targets.advance_distance_km(scenario)
    v = evaluate(results, t.quantity, scenario, units=t.units, advance_km_denominator=denominator)
    n = results.replications
    common = dict(name=t.name, source=t.source, target_text=t.text, kind=t.kind, quantity=t.quantity)
    if t.kind == "probability":
        p = float(np.mean(v.values)) if n else math.nan
        lo, hi = wilson_interval(float(np.sum(v.values)), n)
        return TargetResult(simulated_median=p, p05=lo, p95=hi, holds=_within(p, t, False),
                            value_kind="probability", **common)
    iv = interval(v.values)
    is_time = v.kind == "time"
    for b in (t.min, t.max):
        if b is not None and isinstance(b, dt.date) != is_time:
            raise TargetsError(f"target '{t.name}': '{t.quantity}' is a "
                               f"{'time' if is_time else 'number'}, so its bounds must be "
                               f"{'dates' if is_time else 'numbers'} (got {b!r})")
    if t.kind == "median_range":
        holds = _within(iv.median, t, is_time)
        compared: Value = None
    else:  # median_comparison
        w = evaluate(results, t.greater_than or "", scenario, units=t.units,
                     advance_km_denominator=denominator)
        other = interval(w.values).median
        holds = not (math.isnan(iv.median) or math.isnan(other)) and iv.median > other
        compared = _out(other, w.kind)
    return TargetResult(simulated_median=_out(iv.median, v.kind), p05=_out(iv.p05, v.kind),
                        p95=_out(iv.p95, v.kind), holds=bool(holds),
                        value_kind=v.kind, compared_median=compared, **common)


def check_history(results: Results, scenario, targets: HistoryTargets) -> list[TargetResult]:
    """Evaluate every target; raises TargetsError if the file does not fit the
    scenario or the run (a unit, side or place it names is missing)."""
    check_against(targets, scenario, results)
    return [evaluate_target(results, scenario, targets, t) for t in targets.targets]


def format_value(v: Value, value_kind: str) -> str:
    """Human text for a TargetResult value."""
    if v is None:
        return "never" if value_kind == "time" else "—"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M") if (v.hour or v.minute) else v.date().isoformat()
    if isinstance(v, float) and math.isnan(v):
        return "—"
    if value_kind == "probability":
        return f"{v:.1%}"
    if value_kind == "count":  # people: whole numbers (a median aircrew of 9.2 prints as 9)
        return f"{v:,.0f}"
    if abs(v) < 10 and v != int(v):
        return f"{v:.2f}"
    return f"{v:,.0f}"
