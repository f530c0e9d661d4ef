"""Fitting and cross-validation internals: the modern change of the advantage
factors, the inner cross-validation of the winner penalty, campaign folds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engagement_support import dev_csv
from xuefeng.engagement import ADVANTAGES, EngagementModel
from xuefeng.engagement.cdb90 import load, targets_from_frame
from xuefeng.engagement.evaluate import MODELS, campaign_folds, cross_validate
from xuefeng.engagement.fit import TAU_WINNER_GRID, choose_tau_winner, fit, make_design
from xuefeng.engagement.model import MODERN_YEAR, POWER_FEATURES, build_features


@pytest.fixture(scope="module")
def dev():
    x, df = load(dev_csv())
    t = targets_from_frame(df)
    ok = np.flatnonzero(np.isfinite(x.att_strength) & np.isfinite(x.def_strength))
    return x.take(ok), t.take(ok)


def test_modern_advantage_feature_only_from_1900() -> None:
    adv = np.zeros(len(ADVANTAGES))
    adv[ADVANTAGES.index("leadership")] = 2.0
    feats, _ = build_features(10000.0, 5000.0, advantages=adv,
                              year=np.array([1805.0, MODERN_YEAR - 1, MODERN_YEAR, 1945.0, np.nan]))
    assert feats["adv_leadership"].tolist() == [2.0] * 5
    got = feats["adv_leadership_1900"]
    assert got[:4].tolist() == [0.0, 0.0, 2.0, 2.0]
    assert math.isnan(got[4])  # unknown year: filled with the fitting mean
    assert feats["adv_training_1900"].tolist() == [0.0] * 5  # no advantage: no change whatever the year
    for a in ADVANTAGES:
        assert f"adv_{a}" in POWER_FEATURES and f"adv_{a}_1900" in POWER_FEATURES


def test_modern_change_enters_predictions() -> None:
    m = EngagementModel.default()
    adv = np.zeros(len(ADVANTAGES))
    adv[ADVANTAGES.index("leadership")] = 1.0
    kw = dict(att_strength=10000.0, def_strength=10000.0, advantages=adv)
    old = m.predict_batch(**kw, year=1800.0)[0]
    new = m.predict_batch(**kw, year=1944.0)[0]
    base = m.predict_batch(10000.0, 10000.0, advantages=np.zeros(len(ADVANTAGES)), year=1800.0)[0]
    lo = lambda p: math.log(p / (1 - p))  # noqa: E731
    # one point of leadership moves the log-odds by theta before 1900, by theta + theta_1900 after
    assert lo(old) - lo(base) == pytest.approx(m.power["adv_leadership"], abs=1e-9)
    base_new = m.predict_batch(10000.0, 10000.0, advantages=np.zeros(len(ADVANTAGES)), year=1944.0)[0]
    assert lo(new) - lo(base_new) == pytest.approx(
        m.power["adv_leadership"] + m.power["adv_leadership_1900"], abs=1e-9)


def test_inner_cv_chooses_tau_from_grid(dev) -> None:
    x, t = dev
    d = make_design(x, use_groups=False)
    tau, scores = choose_tau_winner(d, t)
    assert tau in TAU_WINNER_GRID
    assert set(scores) == {f"{g:g}" for g in TAU_WINNER_GRID}
    assert scores[f"{tau:g}"] == max(scores.values())
    assert all(-math.log(2) - 0.3 < v < 0 for v in scores.values())  # held-out log-lik per battle


def test_fit_records_tau_and_fixed_tau_skips_inner_cv(dev) -> None:
    x, t = dev
    m = fit(x, t, with_se=False, use_groups=False)
    assert m.meta["tau_winner"] in TAU_WINNER_GRID
    assert m.meta["tau_winner_inner_cv"]
    fixed = fit(x, t, with_se=False, use_groups=False, tau_winner=2.5)
    assert fixed.meta["tau_winner"] == 2.5 and fixed.meta["tau_winner_inner_cv"] == {}


def test_shipped_fit_used_the_inner_cv() -> None:
    meta = EngagementModel.default().meta
    assert meta["tau_winner"] in TAU_WINNER_GRID and meta["tau_winner_grid"] == list(TAU_WINNER_GRID)


def test_campaign_folds_keep_campaigns_whole(dev) -> None:
    x, _ = dev
    folds = campaign_folds(x, 10, seed=0)
    assert sorted(set(folds.tolist())) == list(range(10))
    for c in set(x.campaign.tolist()) - {""}:
        assert len(set(folds[x.campaign == c].tolist())) == 1, c
    # another seed shuffles the campaigns among folds
    assert not np.array_equal(folds, campaign_folds(x, 10, seed=1))


def test_campaign_folds_battles_without_campaign_are_own_groups(dev) -> None:
    x, _ = dev
    x = x.take(np.arange(30))
    x.campaign = np.array([""] * 30, dtype=object)
    folds = campaign_folds(x, 3, seed=0)
    assert sorted(np.bincount(folds).tolist()) == [10, 10, 10]
    with pytest.raises(ValueError, match="campaigns"):
        campaign_folds(x.take(np.arange(2)), 3, seed=0)


def test_cross_validate_group_by(dev) -> None:
    x, t = dev
    with pytest.raises(ValueError, match="group_by"):
        cross_validate(x, t, 3, 0, models=MODELS[2:3], group_by="war")
    s = cross_validate(x, t, 3, 0, models=MODELS[2:4], group_by="campaign")
    assert [r.name for r in s] == [n for n, _ in MODELS[2:4]]
    assert s[0].n_win == int(np.isfinite(t.attacker_won).sum())
