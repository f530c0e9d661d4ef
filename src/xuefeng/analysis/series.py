"""The engine's daily series against a recorded one (`xuefeng compare`): per side, the median
replication's daily battle casualties and a 90% band, cumulative casualties at chosen days with
their relative errors, the correlation of daily casualties, and the same measures of the fitted
Lanchester baselines (analysis.lanchester) beside them. The engine is not fitted to the record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from xuefeng.analysis.lanchester import RecordedSeries
from xuefeng.results.model import Results


@dataclass(frozen=True)
class SimulatedSeries:
    """Daily battle casualties per side aligned with the record's days: median, 5th and 95th
    percentiles over replications (each a day's value across replications), and the median
    replication's cumulative totals."""

    days: np.ndarray
    median: dict[str, np.ndarray]
    p05: dict[str, np.ndarray]
    p95: dict[str, np.ndarray]
    cumulative_median: dict[str, np.ndarray]


def simulated_series(results: Results, record: RecordedSeries, first_day: int) -> SimulatedSeries:
    """Align the engine's daily casualties (campaign day 0 = the scenario's start) with the
    record's day numbers: the record's `first_day` is the scenario's first day."""
    dc = results.outcome.daily_casualties
    if dc is None:
        raise ValueError("these results carry no daily series (written by an older version)")
    idx = record.days - first_day
    if idx.min() < 0 or idx.max() >= dc.shape[1]:
        raise ValueError(f"the record's days {record.days[0]}-{record.days[-1]} (day {first_day} = the scenario's "
                         f"start) run outside the campaign's {dc.shape[1]} days")
    med, lo, hi, cum = {}, {}, {}, {}
    for side in record.casualties:
        k = results.sides.index(side)
        x = dc[:, idx, k]
        med[side] = np.median(x, axis=0)
        lo[side] = np.percentile(x, 5, axis=0)
        hi[side] = np.percentile(x, 95, axis=0)
        cum[side] = np.median(np.cumsum(x, axis=1), axis=0)
    return SimulatedSeries(record.days, med, lo, hi, cum)


def measures(sim: np.ndarray, obs: np.ndarray, days_idx: list[int], cum_sim: np.ndarray | None = None) -> dict[str, Any]:
    """Cumulative at the given indices (with relative error), Pearson r of the daily values, RMSE, MAPE."""
    cs = np.cumsum(sim) if cum_sim is None else cum_sim
    co = np.cumsum(obs)
    ok = obs > 0
    r = float(np.corrcoef(sim, obs)[0, 1]) if np.std(sim) > 0 and np.std(obs) > 0 else float("nan")
    return {"cumulative": {str(i): {"recorded": float(co[i]), "model": float(cs[i]),
                                    "relative_error": float((cs[i] - co[i]) / co[i]) if co[i] else None}
                           for i in days_idx},
            "correlation": r, "rmse": float(np.sqrt(np.mean((sim - obs) ** 2))),
            "mape": float(np.mean(np.abs(sim[ok] - obs[ok]) / obs[ok])) if ok.any() else None}


def plot(record: RecordedSeries, sim: SimulatedSeries, fits: list, out) -> None:
    """Recorded against simulated (median and 90% band) and the best baseline, per side, daily and
    cumulative."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sides = list(record.casualties)
    fig, axes = plt.subplots(2, len(sides), figsize=(5 * len(sides), 7), squeeze=False)
    for j, s in enumerate(sides):
        d = record.days
        ax = axes[0, j]
        ax.fill_between(d, sim.p05[s], sim.p95[s], alpha=0.25, label="engine 90% band")
        ax.plot(d, sim.median[s], label="engine median")
        ax.plot(d, record.casualties[s], "k.-", label="recorded")
        for f in fits:
            ax.plot(d, f.casualties[s], "--", lw=1, label=f"{f.law} (fitted)")
        ax.set_title(f"{s}: daily battle casualties"); ax.set_xlabel("day"); ax.legend(fontsize=7)
        ax = axes[1, j]
        ax.plot(d, sim.cumulative_median[s], label="engine (median replication)")
        ax.plot(d, np.cumsum(record.casualties[s]), "k.-", label="recorded")
        for f in fits:
            ax.plot(d, np.cumsum(f.casualties[s]), "--", lw=1, label=f"{f.law} (fitted)")
        ax.set_title(f"{s}: cumulative"); ax.set_xlabel("day"); ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
