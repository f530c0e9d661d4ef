"""An engagement as an ongoing process, consistent with the battle-level model.

The fitted model (:mod:`xuefeng.engagement.model`) speaks of whole battles: a
battle of ``D`` hours is won by the attacker with probability ``p`` and costs
each side ``C_s(D)`` men (the median of its fitted distribution; ``C_s`` grows
with ``D``).  A campaign fights in steps of ``dt`` hours, so the engine needs
the same battle told step by step.  Per step, with ``h`` the hours the
engagement has run so far:

* the engagement ends with probability ``1 - exp(-dt / T)`` (a constant
  hazard: battle durations exponential with mean ``T``, fitted on CDB90 by era
  and by the battle's size — larger battles last longer — :func:`fit_duration`);
* when it ends the attacker has won with probability ``p``, else the attack
  was repulsed or called off; otherwise the fight goes on;
* each side loses ``C_s(h + dt) - C_s(h)`` men (expected, before noise);
* a defender beaten falls back a distance drawn from the advances of the
  attackers that won CDB90's battles of the era, scaled to the engagement's size
  as CDB90's advances scale (KMDA, :func:`advance_quantiles`,
  :func:`advance_size_exponent`): larger battles last longer and go further.

Integrated over a battle that lasts ``D`` hours, the losses telescope to
``C_s(D)`` and the winner is the attacker's with probability ``p`` — the
battle-level model, whatever ``dt``: with inputs that do not change, the
outcome of a battle does not depend on the step length
(:func:`integrate_over_battle` checks it on CDB90; ``xuefeng engagement
evaluate`` reports it beside the battle-level model).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from xuefeng.engagement.model import ERA_BINS

#: Battles of CDB90 from this many years before an era bin's start may stand in for
#: it when the bin holds fewer than MIN_BATTLES battles with a known duration.
MIN_BATTLES = 20


#: Battle size (both sides' men) at which the fitted mean durations are stated.
REFERENCE_MEN = 1e4


def decision_hours(law: tuple[float, float], men: Any) -> np.ndarray:
    """Mean hours to decision of engagements with `men` on both sides under a fitted law
    (T at REFERENCE_MEN men, size exponent b): T * (men / REFERENCE_MEN)^b."""
    t_ref, b = law
    return t_ref * (np.maximum(np.asarray(men, float), 1.0) / REFERENCE_MEN) ** b


def _exponential_size_law(v: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Maximum likelihood of values v exponential with mean exp(a_era + b z), z = log(men /
    REFERENCE_MEN): (the eras with an intercept of their own, [a_era..., a_pooled, b]). Eras
    with fewer than MIN_BATTLES battles share the pooled intercept."""
    from scipy.optimize import minimize

    eras = [name for name, lo, hi in ERA_BINS if np.sum((y >= lo) & (y < hi)) >= MIN_BATTLES]
    idx = np.full(v.size, len(eras))
    for k, name in enumerate(eras):
        lo, hi = next((lo, hi) for nm, lo, hi in ERA_BINS if nm == name)
        idx[(y >= lo) & (y < hi)] = k

    def nll(th: np.ndarray) -> float:
        lm = th[:-1][idx] + th[-1] * z
        return float(np.sum(lm + v * np.exp(-lm)))

    start = np.r_[np.full(len(eras) + 1, np.log(max(float(np.mean(v)), 1e-3))), 0.0]
    return eras, minimize(nll, start, method="L-BFGS-B").x


def fit_duration(duration_hours: np.ndarray, year: np.ndarray, men: np.ndarray) -> dict[str, float]:
    """Mean battle duration as a function of era and size, fitted on CDB90 by maximum
    likelihood: durations exponential with mean T = T_era * (men / REFERENCE_MEN)^b (men: both
    sides' strength; larger battles last longer, while the force ratio says nothing about the
    duration in CDB90). Returns {era bin: T_era (h), "all": the pooled T, "size_exponent": b};
    eras with fewer than MIN_BATTLES battles take the pooled T."""
    from scipy.optimize import minimize

    d = np.asarray(duration_hours, float)
    y = np.asarray(year, float)
    n = np.asarray(men, float)
    ok = np.isfinite(d) & (d > 0) & np.isfinite(y) & np.isfinite(n) & (n > 0)
    d, y, z = d[ok], y[ok], np.log(n[ok] / REFERENCE_MEN)
    if d.size < 2:
        return {"all": 24.0, "size_exponent": 0.0}
    eras, th = _exponential_size_law(d, y, z)
    b = float(th[-1])
    pooled = float(np.exp(minimize(lambda a: float(np.sum(a[0] + b * z + d * np.exp(-(a[0] + b * z)))),
                                   [np.log(np.mean(d))], method="L-BFGS-B").x[0]))
    out: dict[str, float] = {"all": pooled, "size_exponent": b}
    for name, _lo, _hi in ERA_BINS:
        out[name] = float(np.exp(th[eras.index(name)])) if name in eras else pooled
    return out


#: Quantile levels at which the distance a winning attacker advanced is stored (per era).
ADVANCE_LEVELS = tuple(np.linspace(0.0, 1.0, 21))


def advance_size_exponent(advance_km: np.ndarray, wina: np.ndarray, year: np.ndarray, men: np.ndarray) -> float:
    """Exponent b of the advance's growth with the battle's size, fitted on CDB90's battles the
    attacker won (KMDA, WINA = 1) by maximum likelihood: advances exponential with mean
    K_era * (men / REFERENCE_MEN)^b, an intercept per era bin. Larger battles last longer
    (fit_duration) and their winners go further — in CDB90 at about the same rate, so an
    engagement of twice the men does not advance more slowly per day."""
    k = np.asarray(advance_km, float)
    y = np.asarray(year, float)
    n = np.asarray(men, float)
    ok = np.isfinite(k) & (k >= 0) & (np.asarray(wina, float) == 1) & np.isfinite(y) & np.isfinite(n) & (n > 0)
    if ok.sum() < MIN_BATTLES:
        return 0.0
    k, y, z = k[ok], y[ok], np.log(n[ok] / REFERENCE_MEN)
    return float(_exponential_size_law(k, y, z)[1][-1])


def advance_quantiles(advance_km: np.ndarray | None, wina: np.ndarray, year: np.ndarray,
                      men: np.ndarray | None = None, size_exponent: float = 0.0) -> dict[str, list[float]]:
    """Quantiles (at ADVANCE_LEVELS) of the distance (km) the attacker advanced in CDB90's
    battles it won (KMDA, WINA = 1), per era bin (bins with fewer than MIN_BATTLES such battles
    take every era's), stated for a battle of REFERENCE_MEN men: each battle's advance divided
    by (men / REFERENCE_MEN)^size_exponent (advance_size_exponent). A beaten defender falls back
    by a draw from this distribution, scaled back to its engagement's size."""
    if advance_km is None:
        return {}
    k = np.asarray(advance_km, float)
    ok = np.isfinite(k) & (np.asarray(wina, float) == 1) & np.isfinite(np.asarray(year, float))
    k = np.maximum(k, 0.0)
    if men is not None and size_exponent != 0.0:
        n = np.asarray(men, float)
        ok &= np.isfinite(n) & (n > 0)
        k = k / (np.where(ok, n, REFERENCE_MEN) / REFERENCE_MEN) ** size_exponent
    y = np.asarray(year, float)
    if not ok.any():
        return {}
    overall = [float(v) for v in np.quantile(k[ok], ADVANCE_LEVELS)]
    out = {"all": overall}
    for name, lo, hi in ERA_BINS:
        m = ok & (y >= lo) & (y < hi)
        out[name] = [float(v) for v in np.quantile(k[m], ADVANCE_LEVELS)] if m.sum() >= MIN_BATTLES else overall
    return out


def advance_km(quantiles: list[float] | np.ndarray, u: np.ndarray, men: Any = None,
               size_exponent: float = 0.0) -> np.ndarray:
    """Distances drawn by inverse-CDF sampling (linear between the stored quantiles), for
    engagements of `men` on both sides (the quantiles are stated at REFERENCE_MEN)."""
    q = np.asarray(quantiles, float)
    if q.size == 0:
        return np.zeros_like(np.asarray(u, float))
    km = np.interp(np.asarray(u, float), np.linspace(0.0, 1.0, q.size), q)
    if men is None or size_exponent == 0.0:
        return km
    return km * (np.maximum(np.asarray(men, float), 1.0) / REFERENCE_MEN) ** size_exponent


def era_of(year: float) -> str:
    """The era bin (ERA_BINS name) of a year."""
    for name, lo, hi in ERA_BINS:
        if lo <= year < hi:
            return name
    return ERA_BINS[-1][0]


def decision_probability(dt_hours: float | np.ndarray, mean_hours: float) -> np.ndarray:
    """Probability that an ongoing engagement ends within the next dt hours."""
    return 1.0 - np.exp(-np.asarray(dt_hours, float) / mean_hours)


def casualty_increment(model: Any, hours_so_far: np.ndarray, dt_hours: float | np.ndarray,
                       *args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(attacker wins), attacker and defender losses of the next dt hours) of engagements that
    have run `hours_so_far` hours: C(h + dt) - C(h), with C(0) = 0. Positional and keyword
    inputs are those of ``EngagementModel.predict_batch`` after the duration (which this sets)."""
    h0 = np.asarray(hours_so_far, float)
    h1 = h0 + np.asarray(dt_hours, float)
    n = len(args)
    if n < 10:
        raise TypeError("casualty_increment needs the ten inputs of predict_batch before duration_hours")
    before, after = args[:10], args[10:]
    started = h0 > 0
    if hasattr(model, "predict_durations"):  # the fitted model: features built once
        p, (ca1, ca0), (cd1, cd0) = model.predict_durations((h1, np.where(started, h0, 1.0)), *before, *after,
                                                            **kwargs)
        return (p, np.maximum(ca1 - np.where(started, ca0, 0.0), 0.0),
                np.maximum(cd1 - np.where(started, cd0, 0.0), 0.0))
    both = np.concatenate([h1, np.where(h0 > 0, h0, 1.0)])

    def twice(v: Any) -> Any:
        a = np.asarray(v)
        if a.ndim == 0:
            return v
        return np.concatenate([a, a], axis=0)

    p, ca, cd = model.predict_batch(*(twice(a) for a in before), both, *(twice(a) for a in after),
                                    **{k: twice(v) if v is not None else None for k, v in kwargs.items()})
    k = len(h1)
    started = h0 > 0
    ca0 = np.where(started, ca[k:], 0.0)
    cd0 = np.where(started, cd[k:], 0.0)
    return p[:k], np.maximum(ca[:k] - ca0, 0.0), np.maximum(cd[:k] - cd0, 0.0)


def integrate_over_battle(model: Any, duration_hours: np.ndarray, dt_hours: float, *args: Any,
                          **kwargs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The step model run over each battle's own duration in steps of dt hours (the last step
    cut to what is left), with the battle's inputs held: (P(attacker wins) given that the battle
    ended when it did, expected attacker and defender losses)."""
    D = np.asarray(duration_hours, float)
    D = np.where(np.isfinite(D) & (D > 0), D, 24.0)
    n_steps = int(math.ceil(float(np.max(D)) / dt_hours)) if D.size else 0
    h = np.zeros_like(D)
    ca_sum = np.zeros_like(D)
    cd_sum = np.zeros_like(D)
    p = np.full_like(D, np.nan)
    for _ in range(n_steps):
        step = np.minimum(dt_hours, D - h)
        live = step > 1e-9
        if not live.any():
            break
        p_i, ca_i, cd_i = casualty_increment(model, h[live], step[live], *(_take(a, live) for a in args),
                                             **{k: _take(v, live) for k, v in kwargs.items()})
        ca_sum[live] += ca_i
        cd_sum[live] += cd_i
        p[live] = p_i
        h[live] += step[live]
    return p, ca_sum, cd_sum


def _take(v: Any, mask: np.ndarray) -> Any:
    if v is None:
        return None
    a = np.asarray(v)
    if a.ndim == 0 or a.shape[0] != mask.shape[0]:
        return v
    return a[mask]
