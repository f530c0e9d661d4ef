"""Ensemble summaries and the comparison of a run with every source's claims.

`summarise` builds the object `xuefeng run --json` prints. Its keys are
generic (`p_victory` by side id, `p_objective_lost`, `casualties` by side id
and category …); scenario-specific names such as `p_chinese_victory` are
*aliases* that the scenario's data declares (`summary_aliases` in its
`history_targets.yaml`), so no place or side name lives in code.

`comparison_table` sets each claim of the scenario beside the simulated median
and 90% interval of the same figure.
"""

from __future__ import annotations

import datetime as dt

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xuefeng.analysis.quantities import (
    DERIVED,
    Interval,
    QuantityError,
    evaluate,
    figure_of,
    interval,
    seconds_to_datetime,
    times_to_seconds,
    wilson_interval,
)
from xuefeng.results.model import CATEGORIES, Results

#: Categories reported per side under `casualties` (the issue's list).
SUMMARY_CATEGORIES: tuple[str, ...] = (
    "killed", "wounded", "died_of_wounds", "missing", "captured", "sick", "died_of_illness")
#: Sums reported per side under `casualty_totals`.
SUMMARY_TOTALS: tuple[str, ...] = ("casualties", "killed_or_wounded", "total_deaths", "total_losses",
                                   "returned_to_duty")

#: Claim categories → ledger figure names (same spelling).
_LEDGER_CLAIMS = set(CATEGORIES) | set(DERIVED)


class AliasError(ValueError):
    """A summary alias that points at no key of the summary."""


def _time_stats(seconds: np.ndarray) -> dict[str, str | None]:
    iv = interval(seconds)

    def iso(s: float) -> str | None:
        d = seconds_to_datetime(s)
        return d.isoformat() if d is not None else None

    return {"median": iso(iv.median), "p05": iso(iv.p05), "p95": iso(iv.p95)}


def _date(seconds: float) -> str | None:
    d = seconds_to_datetime(seconds)
    return d.date().isoformat() if d is not None else None


def summarise(results: Results, scenario=None, aliases: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON-ready summary of a run.

    Probabilities are fractions of replications; every count is
    `{"median", "p05", "p95"}` over replications (5th/95th percentiles: a 90%
    interval). `aliases` maps extra key names to dotted paths of this object
    (e.g. `p_chinese_victory: p_victory.china`); each alias adds its key with
    a copy of the value found there.
    """
    n = results.replications
    o = results.outcome
    winner = np.asarray(o.winner)
    sl = results.side_ledger()
    p_victory = {s: float(np.mean(winner == i)) if n else math.nan for i, s in enumerate(results.sides)}
    end_s = times_to_seconds(o.end_time)
    off_s = times_to_seconds(o.offensive_end_time)
    casualties = {
        s: {c: interval(sl[:, i, CATEGORIES.index(c)]).as_dict() for c in SUMMARY_CATEGORIES}
        for i, s in enumerate(results.sides)}
    totals = {
        s: {f: interval(figure_of(sl[:, i, :], f)).as_dict() for f in SUMMARY_TOTALS}
        for i, s in enumerate(results.sides)}
    aircrew = np.asarray(results.aircrew_lost, dtype=float)
    out: dict[str, Any] = {
        "scenario": results.scenario,
        "replications": n,
        "seed": int(results.seed),
        "sides": list(results.sides),
        "p_victory": p_victory,
        "p_victory_interval": {s: [round(x, 6) for x in wilson_interval(p * n, n)] for s, p in p_victory.items()},
        "p_no_decision": float(np.mean(winner < 0)) if n else math.nan,
        "p_objective_lost": float(np.mean(np.asarray(o.objective_lost, dtype=bool))) if n else math.nan,
        "end_date_median": _date(interval(end_s).median),
        "end_date": _time_stats(end_s),
        "offensive_end_date_median": _date(interval(off_s).median),
        "p_offensive_ended": float(np.mean(np.isfinite(off_s))) if n else math.nan,
        "advance_km_median": interval(np.asarray(o.advance_km, dtype=float)).as_dict()["median"],
        "advance_km": interval(np.asarray(o.advance_km, dtype=float)).as_dict(),
        "casualties": casualties,
        "casualty_totals": totals,
        "civilian_casualties": interval(np.asarray(results.civilian_casualties, dtype=float)).as_dict(),
        "aircrew_lost": {s: interval(aircrew[:, i]).as_dict() for i, s in enumerate(results.sides)},
    }
    if scenario is not None:
        out["comparison"] = [row.as_dict() for row in comparison_table(results, scenario)]
    for name, path in (aliases or {}).items():
        out[name] = resolve_path(out, path)
    return out


def json_safe(obj: Any) -> Any:
    """The object with NaN/±inf floats replaced by None (strict JSON has no
    such numbers), numpy scalars made plain Python and dates as ISO text (a
    what-if's change may hold a date)."""
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def resolve_path(obj: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted path of a nested mapping (`p_victory.china`)."""
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            raise AliasError(f"summary alias path '{path}': no key '{part}'")
        cur = cur[part]
    return cur


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class ComparisonRow:
    """One claim beside the simulated figure (None where the run has none)."""

    claim_id: str
    source: str
    category: str
    side: str | None
    unit: str | None
    figure: float
    quantity: str | None
    simulated: Interval | None
    note: str = ""

    @property
    def within_interval(self) -> bool | None:
        if self.simulated is None:
            return None
        return self.simulated.p05 <= self.figure <= self.simulated.p95

    def as_dict(self) -> dict[str, Any]:
        return {
            "claim": self.claim_id, "source": self.source, "category": self.category,
            "side": self.side, "unit": self.unit, "figure": self.figure,
            "quantity": self.quantity,
            "simulated": self.simulated.as_dict() if self.simulated else None,
            "within_interval": self.within_interval, "note": self.note,
        }


def claim_quantity(claim) -> str | None:
    """The quantity name (see `xuefeng.analysis.quantities`) a claim is about,
    or None when the simulator produces no such figure (strength, other)."""
    cat = getattr(claim.category, "value", claim.category)
    if cat == "civilian_casualties":
        return "civilian_casualties" if claim.unit is None else None
    if cat == "aircrew_lost":
        return f"aircrew_lost.{claim.side}" if claim.side and claim.unit is None else None
    if cat in _LEDGER_CLAIMS:
        if claim.unit is not None:
            return f"unit.{claim.unit}.{cat}"
        if claim.side is not None:
            return f"casualties.{claim.side}.{cat}"
    return None


def comparison_table(results: Results, scenario) -> list[ComparisonRow]:
    """Every claim of the scenario, in file order, beside the simulated median
    and 90% interval of the matching figure. A claim about a unit is compared
    with that unit's and its subordinates' ledger; claims the run cannot
    answer (strength, other, a unit the run lacks) get `simulated=None`."""
    rows = []
    for c in scenario.claims:
        q = claim_quantity(c)
        sim = None
        if q is not None:
            try:
                sim = interval(evaluate(results, q, scenario).values)
            except QuantityError:
                q, sim = None, None
        rows.append(ComparisonRow(
            claim_id=c.id, source=c.source, category=getattr(c.category, "value", c.category),
            side=c.side, unit=c.unit, figure=float(c.figure), quantity=q, simulated=sim, note=c.note))
    return rows
