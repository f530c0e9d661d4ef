"""Cross-validation of the engagement model against classical baselines.

Every model is fitted on the training folds only and scored on the held-out
fold.  The only hyperparameter tuned is the prior scale of the winner slopes,
and that by an inner cross-validation inside the training folds (see
:func:`xuefeng.engagement.fit.choose_tau_winner`); the model's structure is
fixed in the code — chosen by its author while looking at cross-validated
results on the dev data, so the figures are somewhat optimistic.  Folds are
stratified on WINA, or (``group_by="campaign"``) hold out whole campaigns.  Scores:

* winner accuracy and Brier score over decisive battles (WINA = +1 or -1;
  draws are left out: "attacker wins" is the prediction when
  P(attacker wins) >= 0.5);
* for each side's casualties: median absolute log error and the share of
  predictions within a factor of two of the recorded figure.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.optimize import minimize

from xuefeng.engagement.cdb90 import Inputs, Targets
from xuefeng.engagement.fit import _one_blas_thread, fit, make_design
from xuefeng.engagement.model import CASUALTY_FEATURES, POWER_FEATURES, EngagementModel

LOG2 = math.log(2.0)

Predictor = Callable[[Inputs], tuple[np.ndarray, np.ndarray, np.ndarray]]
Trainer = Callable[[Inputs, Targets], Predictor]


# --------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------

def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def _logit_fit(X: np.ndarray, y: np.ndarray, intercept: bool = True) -> np.ndarray:
    """Plain ML logistic regression (tiny ridge for stability) on columns X."""
    Xb = np.column_stack([np.ones(len(X)), X]) if intercept else X

    def f(b: np.ndarray) -> tuple[float, np.ndarray]:
        eta = Xb @ b
        p = _sigmoid(eta)
        ll = np.sum(y * eta - np.logaddexp(0.0, eta)) - 1e-6 * b @ b
        return -ll, -(Xb.T @ (y - p) - 2e-6 * b)

    return minimize(f, np.zeros(Xb.shape[1]), jac=True, method="L-BFGS-B").x


def _log_frac(cas: np.ndarray, strength: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(cas / strength)


def _days(x: Inputs) -> np.ndarray:
    return x.duration_hours / 24.0


def train_attacker_always(x: Inputs, t: Targets) -> Predictor:
    """Attacker always wins (P = training share of attacker wins for Brier);
    casualties: a constant casualty fraction per day (training geometric mean)."""
    rate = _train_constant_rate(x, t)
    share = float(np.nanmean(t.attacker_won))

    def predict(xx: Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = np.where(np.isfinite(xx.att_strength * xx.def_strength), max(share, 0.5 + 1e-9), np.nan)
        return (p, *rate(xx))

    return predict


def _train_constant_rate(x: Inputs, t: Targets) -> Callable[[Inputs], tuple[np.ndarray, np.ndarray]]:
    days = _days(x)
    dmed = float(np.nanmedian(days))
    out = {}
    for side, cas, s in (("att", t.cas_attacker, x.att_strength), ("def", t.cas_defender, x.def_strength)):
        lf = _log_frac(cas, s) - np.log(np.where(np.isfinite(days), days, dmed))
        out[side] = float(np.nanmean(lf[np.isfinite(lf)]))

    def rate(xx: Inputs) -> tuple[np.ndarray, np.ndarray]:
        d = _days(xx)
        d = np.where(np.isfinite(d), d, dmed)
        ca = xx.att_strength * np.minimum(np.exp(out["att"]) * d, 1.0)
        cd = xx.def_strength * np.minimum(np.exp(out["def"]) * d, 1.0)
        return ca, cd

    return rate


def train_force_ratio(x: Inputs, t: Targets) -> Predictor:
    """Logistic on log force ratio; casualties from a constant rate per day."""
    lr = np.log(x.att_strength / x.def_strength)
    m = np.isfinite(lr) & np.isfinite(t.attacker_won)
    b = _logit_fit(lr[m, None], t.attacker_won[m])
    rate = _train_constant_rate(x, t)

    def predict(xx: Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lrx = np.log(xx.att_strength / xx.def_strength)
        return (_sigmoid(b[0] + b[1] * lrx), *rate(xx))

    return predict


def lanchester(
    law: str, a0: np.ndarray, d0: np.ndarray, k_a: float, k_d: float, hours: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Lanchester casualties over ``hours``.

    square: dA/dt = -k_a D, dD/dt = -k_d A;  linear: dA/dt = -k_a A D,
    dD/dt = -k_d A D.  The battle stops when one side reaches zero.
    """
    a0 = np.asarray(a0, float)
    d0 = np.asarray(d0, float)
    T = np.asarray(hours, float)
    with np.errstate(all="ignore"):
        if law == "square":
            g = math.sqrt(k_a * k_d)
            ra = math.sqrt(k_a / k_d)  # A(t) = a0 cosh - ra d0 sinh
            rd = math.sqrt(k_d / k_a)
            # time at which a side is annihilated (inf if never)
            ta = np.where(a0 < ra * d0, np.arctanh(np.clip(a0 / (ra * d0), 0, 1 - 1e-12)) / g, np.inf)
            td = np.where(d0 < rd * a0, np.arctanh(np.clip(d0 / (rd * a0), 0, 1 - 1e-12)) / g, np.inf)
            te = np.minimum(T, np.minimum(ta, td))
            A = a0 * np.cosh(g * te) - ra * d0 * np.sinh(g * te)
            D = d0 * np.cosh(g * te) - rd * a0 * np.sinh(g * te)
        else:
            # conserved K = k_d A - k_a D; dD/dt = -(K + k_a D) D
            K = k_d * a0 - k_a * d0
            small = np.abs(K) < 1e-12 * (k_d * a0 + k_a * d0)
            Ks = np.where(small, 1e-12, K)
            e = np.exp(np.clip(Ks * T, -700, 700))
            D = Ks * d0 / ((Ks + k_a * d0) * e - k_a * d0)
            D_small = d0 / (1.0 + k_a * d0 * T)
            D = np.where(small, D_small, D)
            D = np.clip(np.nan_to_num(D, nan=0.0, posinf=d0, neginf=0.0), 0, d0)
            A = (K + k_a * D) / k_d
            A = np.clip(A, 0, a0)
    ca = a0 - np.clip(A, 0, a0)
    cd = d0 - np.clip(D, 0, d0)
    return ca, cd


def train_lanchester(law: str) -> Trainer:
    def trainer(x: Inputs, t: Targets) -> Predictor:
        hmed = float(np.nanmedian(x.duration_hours))
        H = np.where(np.isfinite(x.duration_hours), x.duration_hours, hmed)
        la = np.log(t.cas_attacker)
        ld = np.log(t.cas_defender)
        m = (np.isfinite(la) & np.isfinite(ld) & np.isfinite(x.att_strength)
             & np.isfinite(x.def_strength))
        A0, D0, Hm = x.att_strength[m], x.def_strength[m], H[m]

        def loss(q: np.ndarray) -> float:
            ca, cd = lanchester(law, A0, D0, math.exp(q[0]), math.exp(q[1]), Hm)
            ea = np.log(np.maximum(ca, 1e-9)) - la[m]
            ed = np.log(np.maximum(cd, 1e-9)) - ld[m]
            return float(np.sum(ea * ea) + np.sum(ed * ed))

        # starting values from the small-attrition approximation
        if law == "square":
            q0 = [float(np.mean(la[m] - np.log(D0 * Hm))), float(np.mean(ld[m] - np.log(A0 * Hm)))]
        else:
            q0 = [float(np.mean(la[m] - np.log(A0 * D0 * Hm))),
                  float(np.mean(ld[m] - np.log(A0 * D0 * Hm)))]
        q = minimize(loss, np.array(q0), method="Nelder-Mead",
                     options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000}).x
        ka, kd = math.exp(q[0]), math.exp(q[1])
        power = 2.0 if law == "square" else 1.0

        def adv(xx: Inputs) -> np.ndarray:
            # log of the Lanchester "fighting strength" ratio
            return math.log(kd / ka) + power * np.log(xx.att_strength / xx.def_strength)

        mw = np.isfinite(t.attacker_won) & np.isfinite(x.att_strength * x.def_strength)
        av = adv(x)[mw]
        s = _logit_fit(av[:, None], t.attacker_won[mw], intercept=False)[0]

        def predict(xx: Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            h = np.where(np.isfinite(xx.duration_hours), xx.duration_hours, hmed)
            ca, cd = lanchester(law, xx.att_strength, xx.def_strength, ka, kd, h)
            return _sigmoid(s * adv(xx)), ca, cd

        return predict

    return trainer


def _all_features(x: Inputs, fill: dict[str, float] | None = None,
                  groups: list[str] | None = None, use_groups: bool = True):
    """The union of the model's inputs as one matrix (unknown = training
    mean), war/theatre indicators last."""
    d = make_design(x, fill, groups, use_groups=use_groups)
    cols = [d.W]
    extra_att = [i for i, n in enumerate(CASUALTY_FEATURES)
                 if n != "intercept" and n not in POWER_FEATURES]
    cols.append(d.C["att"][:, extra_att])
    extra_def = [CASUALTY_FEATURES.index(n) for n in ("own_size", "enemy_artillery", "enemy_tanks")]
    cols.append(d.C["def"][:, extra_def])
    cols.append(d.G)
    return d, np.column_stack(cols)


def train_regression(use_groups: bool = True) -> Trainer:
    """scikit-learn baselines on the same inputs as the model (standardised;
    unknown = training mean; with or without the war/theatre indicators):
    a logistic regression (default L2, C=1) for the winner and a ridge
    regression (alpha=1) of log casualty fraction for each side's casualties."""

    def trainer(x: Inputs, t: Targets) -> Predictor:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.preprocessing import StandardScaler

        d, F = _all_features(x, use_groups=use_groups)
        ok = d.ok
        sc = StandardScaler().fit(F[ok])
        mw = ok & np.isfinite(t.attacker_won)
        clf = LogisticRegression(max_iter=5000).fit(sc.transform(F[mw]), t.attacker_won[mw].astype(int))
        regs = {}
        for side, cas, s in (("att", t.cas_attacker, x.att_strength),
                             ("def", t.cas_defender, x.def_strength)):
            y = _log_frac(cas, s)
            mc = ok & np.isfinite(y)
            regs[side] = Ridge(alpha=1.0).fit(sc.transform(F[mc]), y[mc])

        def predict(xx: Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            dd, FF = _all_features(xx, d.fill, d.groups, use_groups=use_groups)
            out = [np.full(len(xx), np.nan) for _ in range(3)]
            k = dd.ok
            if k.any():
                Z = sc.transform(FF[k])
                out[0][k] = clf.predict_proba(Z)[:, 1]
                out[1][k] = xx.att_strength[k] * np.exp(np.minimum(regs["att"].predict(Z), 0.0))
                out[2][k] = xx.def_strength[k] * np.exp(np.minimum(regs["def"].predict(Z), 0.0))
            return out[0], out[1], out[2]

        return predict

    return trainer


def train_model(x: Inputs, t: Targets, use_groups: bool = True) -> Predictor:
    model = fit(x, t, with_se=False, use_groups=use_groups)

    def predict(xx: Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        groups = xx.groups_kwargs() if use_groups else {}
        return model.predict_batch(**xx.as_kwargs(), **groups)

    return predict


def train_model_no_war(x: Inputs, t: Targets) -> Predictor:
    """The model without war/theatre effects: what a battle of a war that is
    not in CDB90 (such as West Hunan, 1945) gets."""
    return train_model(x, t, use_groups=False)


NO_WAR_NAME = "  same, without war/campaign effects"


def train_stepped(dt_hours: float) -> Trainer:
    """The model without war effects (as the campaign engine uses it) told as an ongoing
    engagement in steps of dt hours (xuefeng.engagement.ongoing) and integrated over each
    battle's own duration: it must score as the battle-level model does."""
    import inspect

    from xuefeng.engagement.ongoing import integrate_over_battle

    order = [n for n in inspect.signature(EngagementModel.predict_batch).parameters
             if n not in ("self", "year", "wet", "war", "campaign")]

    def trainer(x: Inputs, t: Targets) -> Predictor:
        model = fit(x, t, with_se=False, use_groups=False)

        def predict(xx: Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            kw = dict(xx.as_kwargs())
            dur = kw.pop("duration_hours")
            args = [kw.pop(n) for n in order if n != "duration_hours"]
            return integrate_over_battle(model, dur, dt_hours, *args, **kw)

        return predict

    return trainer


#: The step model beside the battle-level model (`xuefeng engagement evaluate --stepped`).
STEPPED_MODELS: tuple[tuple[str, Trainer], ...] = (
    (NO_WAR_NAME, train_model_no_war),
    ("  same, as an ongoing engagement in 6 h steps", train_stepped(6.0)),
    ("  same, as an ongoing engagement in 24 h steps", train_stepped(24.0)),
)

MODELS: tuple[tuple[str, Trainer], ...] = (
    ("Xuefeng engagement model", train_model),
    (NO_WAR_NAME, train_model_no_war),
    ("attacker always wins", train_attacker_always),
    ("force ratio alone", train_force_ratio),
    ("Lanchester square law", train_lanchester("square")),
    ("Lanchester linear law", train_lanchester("linear")),
    ("logistic + ridge regression, same inputs", train_regression(True)),
    ("  same, without war/campaign indicators", train_regression(False)),
)


# --------------------------------------------------------------------------
# Cross-validation
# --------------------------------------------------------------------------

@dataclass
class Score:
    name: str
    accuracy: float
    brier: float
    n_win: int
    mdale_att: float
    within2_att: float
    n_att: int
    mdale_def: float
    within2_def: float
    n_def: int


def score(name: str, p: np.ndarray, ca: np.ndarray, cd: np.ndarray, t: Targets) -> Score:
    mw = np.isfinite(t.attacker_won) & np.isfinite(p)
    y = t.attacker_won[mw]
    acc = float(np.mean((p[mw] >= 0.5) == (y == 1)))
    brier = float(np.mean((p[mw] - y) ** 2))
    res = []
    for pred, obs in ((ca, t.cas_attacker), (cd, t.cas_defender)):
        with np.errstate(divide="ignore", invalid="ignore"):
            e = np.abs(np.log(pred / obs))
        m = np.isfinite(obs) & (obs > 0) & np.isfinite(pred)
        e = np.where(pred[m] > 0, e[m], np.inf)
        res.append((float(np.median(e)), float(np.mean(e <= LOG2 + 1e-12)), int(m.sum())))
    return Score(name, acc, brier, int(mw.sum()), *res[0], *res[1])


def stratified_folds(t: Targets, k: int, seed: int) -> np.ndarray:
    """Fold index per battle, stratified on WINA (win / draw-or-unknown / loss)."""
    from sklearn.model_selection import StratifiedKFold

    lab = np.where(t.wina == 1, 2, np.where(t.wina == -1, 0, 1))
    n = len(lab)
    if k < 2 or k > n:
        raise ValueError(f"--folds must be between 2 and the number of battles ({n})")
    folds = np.zeros(n, dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes smaller than k (e.g. few draws) are fine
        skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        for i, (_, te) in enumerate(skf.split(np.zeros(n), lab)):
            folds[te] = i
    return folds


GROUP_BY = ("campaign",)


def campaign_folds(x: Inputs, k: int, seed: int) -> np.ndarray:
    """Fold index per battle with every campaign (CDB90 CAMPGN text) in one
    fold (scikit-learn GroupKFold, groups shuffled by ``seed``); a battle
    without a campaign is a group of its own."""
    from sklearn.model_selection import GroupKFold

    camp = [str(c) if str(c) else f"\x00battle {i}" for i, c in enumerate(x.campaign)]
    _, groups = np.unique(np.array(camp, dtype=object).astype(str), return_inverse=True)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    if k < 2 or k > n_groups:
        raise ValueError(f"--folds must be between 2 and the number of campaigns ({n_groups})")
    folds = np.zeros(len(camp), dtype=int)
    for i, (_, te) in enumerate(GroupKFold(n_splits=k, shuffle=True, random_state=seed)
                                .split(np.zeros(len(camp)), groups=groups)):
        folds[te] = i
    return folds


def cross_validate(
    x: Inputs, t: Targets, k: int = 10, seed: int = 0,
    models: tuple[tuple[str, Trainer], ...] = MODELS,
    progress: Callable[[str], None] | None = None,
    group_by: str | None = None,
) -> list[Score]:
    """k-fold cross-validation of ``models``: stratified on WINA, or with
    ``group_by="campaign"`` every campaign held out whole (a campaign the
    model has never seen)."""
    if group_by not in (None, *GROUP_BY):
        raise ValueError(f"group_by must be one of: {', '.join(GROUP_BY)} (got {group_by!r})")
    with _one_blas_thread():
        return _cross_validate(x, t, k, seed, models, progress, group_by)


def _cross_validate(x: Inputs, t: Targets, k: int, seed: int,
                    models: tuple[tuple[str, Trainer], ...],
                    progress: Callable[[str], None] | None,
                    group_by: str | None = None) -> list[Score]:
    ok = np.isfinite(x.att_strength) & np.isfinite(x.def_strength)
    idx = np.flatnonzero(ok)
    x, t = x.take(idx), t.take(idx)
    folds = campaign_folds(x, k, seed) if group_by == "campaign" else stratified_folds(t, k, seed)
    preds = {name: [np.full(len(x), np.nan) for _ in range(3)] for name, _ in models}
    for f in range(k):
        tr = np.flatnonzero(folds != f)
        te = np.flatnonzero(folds == f)
        xtr, ttr, xte = x.take(tr), t.take(tr), x.take(te)
        for name, trainer in models:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                pr = trainer(xtr, ttr)
                out = pr(xte)
            for j in range(3):
                preds[name][j][te] = out[j]
        if progress:
            progress(f"fold {f + 1}/{k}")
    return [score(name, *preds[name], t) for name, _ in models]
