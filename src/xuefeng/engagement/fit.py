"""Maximum-likelihood fitting of :class:`EngagementModel` (scipy.optimize).

Two stages, each a penalised maximum-likelihood fit (L-BFGS-B with analytic
gradients):

1. **Winner.**  Bernoulli log-likelihood of "attacker won" over the decisive
   battles (WINA = +1 or -1).  Draws (WINA = 0) carry no winner information
   and are left out of this stage; they are used in stage 2.  This fixes
   the intercept and the factors of log R.
2. **Casualties.**  For each side, a Student-t log-likelihood (``NU`` = 5
   degrees of freedom, fixed a priori) of log(casualties / strength), with
   log R held at its stage-1 value and its weight ``lambda`` free.  The
   t rather than the normal (i.e. a log-t rather than a lognormal for
   casualties) keeps the handful of battles with gross data errors or
   annihilated garrisons from dragging every estimate; its location is the
   median prediction.

Fitting the two jointly (casualties also shaping log R) was tried: held-out
winner accuracy dropped by about two points, so log R is fitted on the
winner alone and the casualty models reuse it.

Every slope carries a Gaussian penalty ``coef^2 / (2 tau^2)`` (none on
intercepts, sigmas): ``TAU`` = 2.5, fixed a priori, for the casualty slopes;
for the winner slopes ``tau`` is chosen from ``TAU_WINNER_GRID`` by an inner
5-fold cross-validation (held-out log-likelihood) on the data being fitted,
so that a cross-validated fit never sees its test fold.  War and
theatre effects (CDB90's WAR text: the war before any parenthesis, and the
full text as the theatre) are shrunk harder (``TAU_GROUP``), i.e. they are
random effects estimated by penalised likelihood; a battle of an unknown
war gets none.  Bounds keep the posture factors ordered (hasty >= prepared
>= fortified, from the attacker's side) and the force-ratio exponent >= 0.

Standard errors: the inverse Hessian of the penalised objective of each
stage at its optimum (finite differences of the analytic gradient); the
casualty standard errors are conditional on stage 1.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from xuefeng.engagement.cdb90 import Inputs, Targets
from xuefeng.engagement.model import (
    CASUALTY_FEATURES,
    POWER_FEATURES,
    EngagementModel,
    build_features,
    war_keys,
)

#: Slopes of log R kept at or below zero / at or above zero (monotonicity).
NONPOSITIVE = ("defence_prepared", "defence_fortified")
NONNEGATIVE = ("force_ratio",)

TAU = 2.5  # prior scale of every casualty slope (log-casualty units per unit of input)
#: Candidate prior scales of the winner stage's slopes; the fit picks one by
#: an inner cross-validation on the data it is given (``tau_winner=None``).
TAU_WINNER_GRID: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.5)
INNER_FOLDS = 5  # folds of that inner cross-validation (seed 0, stratified on the winner)
TAU_GROUP = {"power": 0.5, "att": 0.5, "def": 0.5}  # prior scale of war / theatre effects
NU = 5.0  # degrees of freedom of the Student-t for log casualties (None: normal)
SIDES = ("att", "def")


@dataclass
class Design:
    W: np.ndarray  # (n, kw) power features, unknowns filled
    C: dict[str, np.ndarray]  # side -> (n, kc)
    G: np.ndarray  # (n, g) war/theatre indicators
    groups: list[str]
    ok: np.ndarray  # rows with both strengths
    fill: dict[str, float]
    strength: dict[str, np.ndarray]


def make_design(
    inputs: Inputs, fill: dict[str, float] | None = None, groups: list[str] | None = None,
    use_groups: bool = True,
) -> Design:
    feats, _ = build_features(**inputs.as_kwargs())
    ok = np.isfinite(feats["force_ratio"])
    names = list(POWER_FEATURES) + [f"{s}:{c}" for s in SIDES for c in CASUALTY_FEATURES]
    if fill is None:
        fill = {}
        for n in names:
            v = feats[n][ok]
            v = v[np.isfinite(v)]
            fill[n] = float(v.mean()) if v.size else 0.0

    def col(n: str) -> np.ndarray:
        v = feats[n]
        return np.where(np.isfinite(v), v, fill[n])

    W = np.column_stack([col(n) for n in POWER_FEATURES])
    C = {s: np.column_stack([col(f"{s}:{c}") for c in CASUALTY_FEATURES]) for s in SIDES}
    keys = ([war_keys(w, c) for w, c in zip(inputs.war, inputs.campaign)] if use_groups
            else [() for _ in inputs.war])
    if groups is None:
        seen: dict[str, None] = {}
        for i, ks in enumerate(keys):
            if ok[i]:
                for k in ks:
                    seen.setdefault(k, None)
        groups = sorted(seen)
    index = {g: j for j, g in enumerate(groups)}
    G = np.zeros((len(keys), len(groups)))
    for i, ks in enumerate(keys):
        for k in ks:
            if k in index:
                G[i, index[k]] = 1.0
    return Design(W=W, C=C, G=G, groups=groups, ok=ok, fill=fill,
                  strength={"att": inputs.att_strength, "def": inputs.def_strength})


def _t_const(nu: float) -> float:
    return math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)


class WinnerProblem:
    """Stage 1: penalised logistic likelihood of the winner.

    Parameters: [intercept, w (kw), war/theatre effects (g)].  ``rows``
    restricts the likelihood to some battles (the inner cross-validation).
    """

    def __init__(self, d: Design, t: Targets, tau: float = TAU, rows: np.ndarray | None = None) -> None:
        m = d.ok & np.isfinite(t.attacker_won)
        if rows is not None:
            m &= rows
        self.X = np.column_stack([np.ones(int(m.sum())), d.W[m], d.G[m]])
        self.y = t.attacker_won[m]
        kw, g = d.W.shape[1], d.G.shape[1]
        self.pen = np.concatenate([[0.0], np.full(kw, 1 / tau**2), np.full(g, 1 / TAU_GROUP["power"] ** 2)])
        self.n_par = 1 + kw + g
        self.bounds: list[tuple[float | None, float | None]] = [(None, None)] * self.n_par
        for j, n in enumerate(POWER_FEATURES):
            if n in NONPOSITIVE:
                self.bounds[1 + j] = (None, 0.0)
            elif n in NONNEGATIVE:
                self.bounds[1 + j] = (0.0, None)

    def __call__(self, th: np.ndarray) -> tuple[float, np.ndarray]:
        eta = self.X @ th
        p = 1.0 / (1.0 + np.exp(-eta))
        ll = float(np.sum(self.y * eta - np.logaddexp(0.0, eta)))
        g = self.X.T @ (self.y - p)
        return -ll + 0.5 * float(np.sum(self.pen * th * th)), -g + self.pen * th


class CasualtyProblem:
    """Stage 2, one side: penalised Student-t likelihood of log casualty fraction.

    Parameters: [c (kc), war/theatre effects (g), lambda, log sigma].
    """

    def __init__(self, d: Design, t: Targets, side: str, log_r: np.ndarray,
                 tau: float = TAU, nu: float | None = NU) -> None:
        cas = t.cas_attacker if side == "att" else t.cas_defender
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.log(cas / d.strength[side])
        m = d.ok & np.isfinite(y) & (cas > 0)
        self.X = np.column_stack([d.C[side][m], d.G[m], log_r[m]])
        self.y = y[m]
        self.nu = nu
        kc, g = d.C[side].shape[1], d.G.shape[1]
        self.pen = np.concatenate([[0.0], np.full(kc - 1, 1 / tau**2),
                                   np.full(g, 1 / TAU_GROUP[side] ** 2), [1 / tau**2], [0.0]])
        self.n_par = kc + g + 2

    def __call__(self, th: np.ndarray) -> tuple[float, np.ndarray]:
        b, ls = th[:-1], th[-1]
        e = self.y - self.X @ b
        sig2 = math.exp(2 * ls)
        if self.nu is None:
            ll = float(np.sum(-ls - 0.5 * e * e / sig2)) - 0.5 * e.size * math.log(2 * math.pi)
            r = e / sig2
            g_ls = float(np.sum(-1.0 + e * e / sig2))
        else:
            nu = self.nu
            q = nu * sig2 + e * e
            ll = float(np.sum(-ls - 0.5 * (nu + 1) * np.log1p(e * e / (nu * sig2)))) + e.size * _t_const(nu)
            r = (nu + 1) * e / q
            g_ls = float(np.sum(-1.0 + (nu + 1) * e * e / q))
        g = np.concatenate([self.X.T @ r, [g_ls]])
        return -ll + 0.5 * float(np.sum(self.pen * th * th)), -g + self.pen * th

    def start(self) -> np.ndarray:
        th = np.zeros(self.n_par)
        if self.y.size:
            th[0] = float(np.mean(self.y))
            th[-1] = math.log(float(np.std(self.y)) + 1e-3)
        return th


def _minimize_winner(wp: WinnerProblem) -> Any:
    return minimize(wp, np.zeros(wp.n_par), jac=True, method="L-BFGS-B", bounds=wp.bounds, options=_OPTS)


def choose_tau_winner(d: Design, t: Targets, grid: tuple[float, ...] = TAU_WINNER_GRID,
                      k: int = INNER_FOLDS, seed: int = 0) -> tuple[float, dict[str, float]]:
    """Prior scale of the winner slopes by an inner k-fold cross-validation on
    the fitting data only: the grid value with the highest held-out Bernoulli
    log-likelihood (ties: the larger, weaker penalty).  Returns the choice and
    the mean held-out log-likelihood per battle of every candidate."""
    m = d.ok & np.isfinite(t.attacker_won)
    idx = np.flatnonzero(m)
    y = t.attacker_won[idx]
    rng = np.random.default_rng(seed)
    fold = np.empty(idx.size, dtype=int)
    for cls in (0.0, 1.0):  # stratified on the winner
        j = np.flatnonzero(y == cls)
        fold[j] = rng.permutation(j.size) % k
    scores: dict[str, float] = {}
    for tau in grid:
        ll = 0.0
        for f in range(k):
            train = np.zeros(len(m), dtype=bool)
            train[idx[fold != f]] = True
            wp = WinnerProblem(d, t, tau=tau, rows=train)
            th = _minimize_winner(wp).x
            te = idx[fold == f]
            X = np.column_stack([np.ones(te.size), d.W[te], d.G[te]])
            eta = X @ th
            ll += float(np.sum(t.attacker_won[te] * eta - np.logaddexp(0.0, eta)))
        scores[f"{tau:g}"] = ll / max(idx.size, 1)
    best = max(grid, key=lambda g: (round(scores[f"{g:g}"], 9), g))
    return float(best), scores


def _hessian(fun: Any, th: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    k = th.size
    H = np.zeros((k, k))
    for j in range(k):
        d = np.zeros(k)
        d[j] = eps * max(1.0, abs(th[j]))
        H[:, j] = (fun(th + d)[1] - fun(th - d)[1]) / (2 * d[j])
    return 0.5 * (H + H.T)


def _se(fun: Any, th: np.ndarray) -> np.ndarray:
    try:
        cov = np.linalg.inv(_hessian(fun, th))
        return np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        return np.full(th.size, np.nan)


_OPTS = {"maxiter": 5000, "maxfun": 20000, "ftol": 1e-12, "gtol": 1e-7}


def _one_blas_thread() -> Any:
    """Small problems run much faster on one BLAS thread (L-BFGS-B's many tiny
    products otherwise pay the thread start-up cost on every call)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def fit(
    inputs: Inputs,
    targets: Targets,
    *,
    with_se: bool = True,
    tau: float = TAU,
    tau_winner: float | None = None,
    nu: float | None = NU,
    use_groups: bool = True,
    meta: dict[str, Any] | None = None,
) -> EngagementModel:
    """Fit the engagement model (see the module docstring).

    ``tau``: prior scale of the casualty slopes; ``tau_winner``: that of the
    winner slopes, or None to choose it from :data:`TAU_WINNER_GRID` by an
    inner cross-validation on ``inputs`` (:func:`choose_tau_winner`)."""
    with _one_blas_thread():
        return _fit(inputs, targets, with_se=with_se, tau=tau, tau_winner=tau_winner, nu=nu,
                    use_groups=use_groups, meta=meta)


def _fit(inputs: Inputs, targets: Targets, *, with_se: bool, tau: float, tau_winner: float | None,
         nu: float | None, use_groups: bool, meta: dict[str, Any] | None) -> EngagementModel:
    d = make_design(inputs, use_groups=use_groups)
    m = d.ok & np.isfinite(targets.attacker_won)
    n_dec = int(m.sum())
    if n_dec < 10 or len(np.unique(targets.attacker_won[m])) < 2:
        raise ValueError(
            f"too few decisive battles with both strengths known to fit "
            f"({n_dec}, need 10 or more with both winners and losers)"
        )
    tau_scores: dict[str, float] = {}
    if tau_winner is None:
        if n_dec >= 10 * INNER_FOLDS:
            tau_winner, tau_scores = choose_tau_winner(d, targets)
        else:  # too few battles for an inner cross-validation
            tau_winner = TAU
    wp = WinnerProblem(d, targets, tau=tau_winner)
    r1 = _minimize_winner(wp)
    th1 = r1.x
    kw, g = d.W.shape[1], d.G.shape[1]
    w = th1[1:1 + kw]
    log_r = d.W @ w + d.G @ th1[1 + kw:]
    se1 = _se(wp, th1) if with_se else np.full(th1.size, np.nan)
    at_bound = [n for j, n in enumerate(POWER_FEATURES)
                if (n in NONPOSITIVE or n in NONNEGATIVE) and abs(w[j]) < 1e-8]
    power = {"intercept": float(th1[0])}
    se: dict[str, float] = {"power:intercept": float(se1[0])}
    for j, n in enumerate(POWER_FEATURES):
        power[n] = float(w[j])
        se[f"power:{n}"] = float("nan") if n in at_bound else float(se1[1 + j])
    group_eff: dict[str, dict[str, float]] = {
        "power": {k: float(th1[1 + kw + j]) for j, k in enumerate(d.groups)}
    }
    casualty: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    converged = bool(r1.success)
    kc = len(CASUALTY_FEATURES)
    for s in SIDES:
        cp = CasualtyProblem(d, targets, s, log_r, tau=tau, nu=nu)
        counts[s] = int(cp.y.size)
        r2 = minimize(cp, cp.start(), jac=True, method="L-BFGS-B", options=_OPTS)
        converged &= bool(r2.success)
        th2 = r2.x
        se2 = _se(cp, th2) if with_se else np.full(th2.size, np.nan)
        casualty[s] = {n: float(th2[j]) for j, n in enumerate(CASUALTY_FEATURES)}
        casualty[s]["lambda"] = float(th2[kc + g])
        casualty[s]["sigma"] = float(math.exp(th2[-1]))
        for j, n in enumerate(CASUALTY_FEATURES):
            se[f"{s}:{n}"] = float(se2[j])
        se[f"{s}:lambda"] = float(se2[kc + g])
        se[f"{s}:sigma"] = float(math.exp(th2[-1]) * se2[-1])
        group_eff[s] = {k: float(th2[kc + j]) for j, k in enumerate(d.groups)}
    info = {
        "n_battles": int(d.ok.sum()),
        "n_decisive": int(wp.y.size),
        "n_casualty_att": counts["att"],
        "n_casualty_def": counts["def"],
        "n_war_groups": len(d.groups),
        "converged": converged,
        "tau": tau,
        "tau_winner": tau_winner,
        "tau_winner_grid": list(TAU_WINNER_GRID),
        "tau_winner_inner_cv": tau_scores,
        "tau_group": TAU_GROUP,
        "nu": nu,
        "at_bound": at_bound,
        "draws": "WINA=0 (draw) battles are left out of the winner likelihood; used for casualties",
    }
    info.update(meta or {})
    from xuefeng.engagement.ongoing import advance_quantiles, advance_size_exponent, fit_duration

    men = np.asarray(inputs.att_strength, float) + np.asarray(inputs.def_strength, float)
    duration = fit_duration(np.asarray(inputs.duration_hours)[d.ok], np.asarray(inputs.year)[d.ok], men[d.ok])
    adv = None if targets.advance_km is None else np.asarray(targets.advance_km)[d.ok]
    wina, year = np.asarray(targets.wina)[d.ok], np.asarray(inputs.year)[d.ok]
    b_adv = 0.0 if adv is None else advance_size_exponent(adv, wina, year, men[d.ok])
    advance = advance_quantiles(adv, wina, year, men[d.ok], b_adv)
    return EngagementModel(power=power, casualty=casualty, fill=d.fill, se=se, groups=group_eff, meta=info,
                           duration=duration, advance=advance, advance_size_exponent=b_adv)
