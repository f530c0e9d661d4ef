"""Lanchester baselines fitted to a recorded daily series (issue 13, item 4).

A recorded series gives, per day t and side, the men at the start of the day
and that day's battle casualties. Each law predicts the day's casualties from
the two sides' strengths; strengths are carried forward from the first day by
the law's own casualties plus the recorded reinforcements, as Bracken (1995)
and Fricker (1998) did:

    reinforcements_t = men_{t+1} - men_t + casualties_t       (recorded)
    R_{t+1} = R_t - cR_t + reinforcements_R,t                (one day, Euler)
    cR_t = a * (B_t / B_0)^p * (R_t / R_0)^q    (R's casualties that day)
    cB_t = b * (R_t / R_0)^p * (B_t / B_0)^q

Laws: square (p=1, q=0), linear (p=1, q=1), Bracken/Fricker (p, q fitted,
shared by both sides). Strengths are taken relative to their first-day values
so that `a` and `b` are men per day at the start; the conventional
coefficient is a / (B_0^p R_0^q). Parameters are fitted by least squares
(`scipy.optimize.least_squares`) on both sides' daily casualties, each side's
residuals divided by its mean daily casualties so neither side dominates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Law name -> (p, q) fixed exponents, None where fitted.
LAWS: dict[str, tuple[float | None, float | None]] = {
    "square": (1.0, 0.0),
    "linear": (1.0, 1.0),
    "bracken": (None, None),
}


class SeriesError(ValueError):
    """A recorded-series file the user can fix; the message names the file and the problem."""


@dataclass(frozen=True)
class RecordedSeries:
    """Daily record for two sides: `days` (record's day numbers), and per side id the men at
    the start of each day and that day's casualties (arrays of len(days))."""

    days: np.ndarray
    men: dict[str, np.ndarray]
    casualties: dict[str, np.ndarray]

    def reinforcements(self, side: str) -> np.ndarray:
        """Men added on each day but the last: next day's men less this day's men plus its casualties."""
        m, c = self.men[side], self.casualties[side]
        return m[1:] - m[:-1] + c[:-1]


def read_series(path: str | Path, sides: Mapping[str, str], need_men: bool = True) -> RecordedSeries:
    """Read a daily CSV: a `day` column and, for each `side id -> column prefix` of `sides`,
    `<prefix>_casualties` (and `<prefix>_men` when `need_men`). Raises SeriesError for a
    missing file or column, a non-numeric or negative value, or days not consecutive."""
    import pandas as pd

    p = Path(path)
    try:
        df = pd.read_csv(p)
    except FileNotFoundError:
        raise SeriesError(f"{p}: no such file; give the recorded daily series as a CSV file") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise SeriesError(f"{p}: cannot read it as CSV ({e})") from None
    wanted = ["day"]
    for prefix in sides.values():
        wanted += [f"{prefix}_men"] if need_men else []
        wanted += [f"{prefix}_casualties"]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise SeriesError(f"{p}: missing column(s) {', '.join(missing)} (columns there: "
                          f"{', '.join(map(str, df.columns))}); each side needs <prefix>_men and "
                          "<prefix>_casualties, mapped to the scenario's sides with --side SIDE=PREFIX")
    if len(df) < 2:
        raise SeriesError(f"{p}: needs at least two days (rows)")
    cols: dict[str, np.ndarray] = {}
    for c in wanted:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        bad = np.nonzero(~np.isfinite(v) | (v < 0))[0]
        if bad.size:
            row = int(bad[0])
            raise SeriesError(f"{p}: column '{c}', row {row + 2} (line of the file): "
                              f"'{df[c].iloc[row]}' is not a non-negative number")
        cols[c] = v
    days = cols["day"]
    if np.any(days != np.round(days)) or np.any(np.diff(days) != 1):
        raise SeriesError(f"{p}: column 'day' must hold consecutive whole day numbers, one row per day")
    return RecordedSeries(
        days=days.astype(np.int64),
        men={s: cols[f"{pre}_men"] for s, pre in sides.items()} if need_men else {},
        casualties={s: cols[f"{pre}_casualties"] for s, pre in sides.items()},
    )


@dataclass(frozen=True)
class Fit:
    """A fitted law: coefficients a (side R's casualties, men/day at the start) and b (side B's),
    exponents p and q, and the predicted daily casualties and strengths per side."""

    law: str
    a: float
    b: float
    p: float
    q: float
    casualties: dict[str, np.ndarray]
    strength: dict[str, np.ndarray]
    cost: float


def predict(a: float, b: float, p: float, q: float, r0: float, b0: float,
            reinf_r: np.ndarray, reinf_b: np.ndarray, days: int) -> tuple[np.ndarray, ...]:
    """Daily casualties and start-of-day strengths of R and B under the law (see module docstring)."""
    R = np.empty(days)
    B = np.empty(days)
    cR = np.empty(days)
    cB = np.empty(days)
    R[0], B[0] = r0, b0
    for t in range(days):
        xr_, xb = max(R[t], 0.0) / r0, max(B[t], 0.0) / b0
        cR[t] = a * xb ** p * xr_ ** q
        cB[t] = b * xr_ ** p * xb ** q
        if t + 1 < days:
            R[t + 1] = R[t] - cR[t] + reinf_r[t]
            B[t + 1] = B[t] - cB[t] + reinf_b[t]
    return cR, cB, R, B


def fit_law(record: RecordedSeries, side_r: str, side_b: str, law: str) -> Fit:
    """Least-squares fit of one law (a key of LAWS) to the record's daily casualties."""
    from scipy.optimize import least_squares

    if law not in LAWS:
        raise ValueError(f"unknown law '{law}' (known: {', '.join(LAWS)})")
    fixed_p, fixed_q = LAWS[law]
    cr_obs, cb_obs = record.casualties[side_r], record.casualties[side_b]
    r0, b0 = float(record.men[side_r][0]), float(record.men[side_b][0])
    if r0 <= 0 or b0 <= 0:
        raise SeriesError("the first day's men must be positive on both sides to fit a Lanchester law")
    rr, rb = record.reinforcements(side_r), record.reinforcements(side_b)
    n = len(record.days)
    sr, sb = max(float(np.mean(cr_obs)), 1.0), max(float(np.mean(cb_obs)), 1.0)

    def unpack(x: np.ndarray) -> tuple[float, float, float, float]:
        a, b = math.exp(x[0]), math.exp(x[1])
        p = fixed_p if fixed_p is not None else float(x[2])
        q = fixed_q if fixed_q is not None else float(x[3] if fixed_p is None else x[2])
        return a, b, p, q

    def residuals(x: np.ndarray) -> np.ndarray:
        a, b, p, q = unpack(x)
        cR, cB, _, _ = predict(a, b, p, q, r0, b0, rr, rb, n)
        return np.concatenate([(cR - cr_obs) / sr, (cB - cb_obs) / sb])

    x0 = [math.log(sr), math.log(sb)] + [1.0] * (fixed_p is None) + [0.5] * (fixed_q is None)
    sol = least_squares(residuals, np.asarray(x0, float), method="lm", xtol=1e-12, ftol=1e-12,
                        max_nfev=20000)
    a, b, p, q = unpack(sol.x)
    cR, cB, R, B = predict(a, b, p, q, r0, b0, rr, rb, n)
    return Fit(law=law, a=a, b=b, p=p, q=q, casualties={side_r: cR, side_b: cB},
               strength={side_r: R, side_b: B}, cost=float(sol.cost))


def fit_all(record: RecordedSeries, side_r: str, side_b: str) -> list[Fit]:
    """Every law of LAWS fitted to the record."""
    return [fit_law(record, side_r, side_b, law) for law in LAWS]
