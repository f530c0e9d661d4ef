"""The engagement model's API: shipped parameters, shapes, monotonicity, speed."""

from __future__ import annotations

import ast
import inspect
import time
from pathlib import Path

import numpy as np
import pytest

import xuefeng.engagement.model as model_module
from xuefeng.engagement import ADVANTAGES, POSTURES, TERRAINS, EngagementModel


@pytest.fixture(scope="module")
def model() -> EngagementModel:
    return EngagementModel.default()


def _call(model: EngagementModel, **over):
    kw = dict(
        att_strength=20000.0, def_strength=10000.0, att_artillery=100.0, def_artillery=40.0,
        att_tanks=50.0, def_tanks=10.0, air_superiority=0.0, surprise=0.0, defender_posture=0,
        terrain=1, duration_hours=24.0, front_km=8.0, advantages=np.zeros(len(ADVANTAGES)),
    )
    kw.update(over)
    return model.predict_batch(**kw)


def test_constants() -> None:
    assert POSTURES == ("hasty_defence", "prepared_defence", "fortified_defence", "delay", "withdrawal")
    assert TERRAINS == ("flat", "rolling", "hills", "mountains", "forest", "marsh", "urban", "water")
    assert ADVANTAGES == ("leadership", "training", "morale", "logistics", "momentum", "intelligence",
                          "technology", "initiative")


def test_shipped_params_load_without_data(model: EngagementModel) -> None:
    # the package data alone: no CDB90 file is read
    assert model.power["force_ratio"] > 0
    assert set(model.casualty) == {"att", "def"}
    p, ca, cd = _call(model)
    assert 0 < float(p) < 1 and 0 < float(ca) < 20000 and 0 < float(cd) < 10000


def test_broadcasting_shapes(model: EngagementModel) -> None:
    R, P = 7, 5
    rng = np.random.default_rng(0)
    p, ca, cd = model.predict_batch(
        att_strength=rng.uniform(1e3, 1e5, (R, P)), def_strength=rng.uniform(1e3, 1e5, (R, P)),
        att_artillery=rng.uniform(0, 200, (R, P)), def_artillery=50.0,
        att_tanks=np.zeros(P), def_tanks=np.zeros((R, 1)),
        air_superiority=rng.uniform(-1, 1, (R, P)), surprise=0.3,
        defender_posture=rng.integers(0, 5, (R, P)), terrain=rng.integers(0, 8, (R, P)),
        duration_hours=6.0, front_km=np.full((R, P), 10.0),
        advantages=rng.integers(-2, 3, (R, P, len(ADVANTAGES))).astype(float),
        year=1945.0, wet=rng.integers(0, 2, (R, P)).astype(float),
    )
    for a in (p, ca, cd):
        assert a.shape == (R, P) and np.isfinite(a).all()
    # positional call, as the engine makes it
    out = model.predict_batch(np.array([1e4]), np.array([5e3]), np.array([10.0]), np.array([5.0]),
                              np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([0.0]),
                              np.array([1]), np.array([2]), np.array([6.0]), np.array([4.0]),
                              np.zeros((1, 8)))
    assert all(o.shape == (1,) for o in out)


def test_nan_inputs_are_unknown(model: EngagementModel) -> None:
    p, ca, cd = _call(model, att_artillery=np.nan, air_superiority=np.nan, surprise=np.nan,
                      defender_posture=np.nan, terrain=np.nan, front_km=np.nan,
                      advantages=np.full(8, np.nan), duration_hours=np.nan)
    assert np.isfinite([p, ca, cd]).all()
    # no strength: nothing can be predicted
    p, ca, cd = _call(model, att_strength=np.nan)
    assert np.isnan([p, ca, cd]).all()
    p, ca, cd = _call(model, def_strength=0.0)
    assert np.isnan([p, ca, cd]).all()


def test_more_attacker_strength_raises_p_win(model: EngagementModel) -> None:
    s = np.geomspace(1e3, 1e6, 60)
    for guns, tanks in ((0.0, 0.0), (100.0, 50.0), (2000.0, 1000.0)):
        p, _, _ = _call(model, att_strength=s, att_artillery=guns, att_tanks=tanks)
        assert np.all(np.diff(p) > 0), (guns, tanks)


def test_more_prepared_defence_lowers_p_win(model: EngagementModel) -> None:
    p, _, _ = _call(model, defender_posture=np.array([0, 1, 2]))
    assert p[0] >= p[1] >= p[2] and p[0] > p[2]


def test_advantages_and_air_raise_p_win(model: EngagementModel) -> None:
    p0, _, _ = _call(model)
    adv = np.zeros(8)
    adv[ADVANTAGES.index("leadership")] = 1.0
    p1, _, _ = _call(model, advantages=adv)
    p2, _, _ = _call(model, air_superiority=1.0)
    assert p1 > p0 and p2 > p0


def test_casualties_grow_with_duration_and_stay_below_strength(model: EngagementModel) -> None:
    d = np.array([1.0, 6.0, 24.0, 96.0, 480.0])
    _, ca, cd = _call(model, duration_hours=d)
    assert np.all(np.diff(ca) > 0) and np.all(np.diff(cd) > 0)
    _, ca, cd = _call(model, duration_hours=1e6)
    assert ca <= 20000 and cd <= 10000


def test_war_effects_optional(model: EngagementModel) -> None:
    a = _call(model)
    b = _call(model, war=None, campaign=None)
    c = _call(model, war="NO SUCH WAR")
    for x, y, z in zip(a, b, c):
        assert x == y == z
    assert any(k.startswith("war:WORLD WAR II") for k in model.groups["power"])


def test_predict_batch_uses_no_pandas() -> None:
    tree = ast.parse(Path(inspect.getsourcefile(model_module)).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "pandas" not in imported and "scipy" not in imported


def test_fast_enough(model: EngagementModel) -> None:
    shape = (1000, 40)
    rng = np.random.default_rng(0)
    kw = dict(att_strength=rng.uniform(1e3, 1e4, shape), def_strength=rng.uniform(1e3, 1e4, shape),
              defender_posture=rng.integers(0, 5, shape), terrain=rng.integers(0, 8, shape),
              duration_hours=6.0, advantages=np.zeros(shape + (8,)))
    model.predict_batch(**kw)
    t = time.perf_counter()
    model.predict_batch(**kw)
    assert time.perf_counter() - t < 1.0


def test_round_trip(tmp_path, model: EngagementModel) -> None:
    p = tmp_path / "params.json"
    model.save(p)
    again = EngagementModel.load(p)
    np.testing.assert_array_equal(_call(model), _call(again))
