"""The causal campaign model: engagements consistent across time steps, supply as stock and
flow, the 'threaten' victory condition and the metamorphic checks (`xuefeng check-model`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from engine_scenarios import base, build, phase, plan, unit
from xuefeng.cli import app
from xuefeng.engagement import EngagementModel
from xuefeng.engagement import ongoing
from xuefeng.engine import EngineConfig, simulate
from xuefeng.engine.combat import step_outcome
from xuefeng.engine.supply import SupplyParams, stock_update

MODEL = EngagementModel.default()


def _battles(n: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple, dict]:
    sa = rng.uniform(2e3, 8e4, n)
    sd = rng.uniform(2e3, 6e4, n)
    args = (sa, sd, sa / 1000 * rng.uniform(2, 10, n), sd / 1000 * rng.uniform(2, 10, n), np.zeros(n), np.zeros(n),
            rng.uniform(-1, 1, n), rng.uniform(-0.5, 0.5, n), rng.integers(0, 5, n).astype(float),
            rng.integers(0, 7, n).astype(float), np.full(n, 12.0), rng.uniform(-1, 1, (n, 8)))
    return rng.uniform(2, 400, n), args, {"year": 1944.0}


@pytest.mark.parametrize("dt", [1.0, 3.0, 6.0, 12.0, 24.0])
def test_step_model_integrated_over_a_battle_is_the_battle_model(dt: float) -> None:
    """Whatever the step, the step model run over a battle's duration gives the battle-level
    model's P(attacker wins) and casualties (the losses telescope)."""
    dur, args, kw = _battles(200, np.random.default_rng(1))
    pb, cab, cdb = MODEL.predict_batch(*args[:10], dur, *args[10:], **kw)
    p, ca, cd = ongoing.integrate_over_battle(MODEL, dur, dt, *args, **kw)
    np.testing.assert_allclose(p, pb, rtol=1e-12)
    np.testing.assert_allclose(ca, cab, rtol=1e-9)
    np.testing.assert_allclose(cd, cdb, rtol=1e-9)


def test_predict_durations_is_predict_batch_at_each_duration() -> None:
    """The engine's one-pass prediction at two durations equals two predict_batch calls."""
    dur, args, kw = _battles(300, np.random.default_rng(2))
    kw = {**kw, "wet": np.random.default_rng(3).integers(0, 2, 300).astype(float)}
    d2 = dur * 0.3
    p, (ca1, ca2), (cd1, cd2) = MODEL.predict_durations((dur, d2), *args, **kw)
    for d, ca, cd in ((dur, ca1, cd1), (d2, ca2, cd2)):
        pb, cab, cdb = MODEL.predict_batch(*args[:10], d, *args[10:], **kw)
        np.testing.assert_allclose(p, pb, rtol=1e-12)
        np.testing.assert_allclose(ca, cab, rtol=1e-12)
        np.testing.assert_allclose(cd, cdb, rtol=1e-12)


@given(st.floats(1.0, 24.0), st.integers(1, 8))
@settings(max_examples=50, deadline=None)
def test_decision_hazard_composes_over_steps(dt: float, k: int) -> None:
    """k steps of dt hours leave an engagement undecided as often as one step of k*dt."""
    T = MODEL.mean_duration_hours(1944)
    assert (1 - ongoing.decision_probability(dt, T)) ** k == pytest.approx(1 - ongoing.decision_probability(k * dt, T))


def test_engagement_duration_follows_era_and_size() -> None:
    """Larger battles last longer (CDB90: durations grow with both sides' men)."""
    assert 10 < MODEL.mean_duration_hours(1944) < 100
    assert MODEL.mean_duration_hours(1944) != MODEL.mean_duration_hours(1815)
    small, large = MODEL.mean_duration_hours(1944, np.array([5e3, 1e5]))
    assert small < MODEL.mean_duration_hours(1944) < large


def test_shipped_duration_and_advance_laws_are_the_fit_on_cdb90() -> None:
    """The engagement model's duration law and advance quantiles are what the fit computes
    from the shared CDB90 data (nothing tuned by hand)."""
    from engagement_support import dev_csv
    from xuefeng.engagement.cdb90 import load, targets_from_frame

    x, df = load(dev_csv())
    t = targets_from_frame(df)
    sa, sd = np.asarray(x.att_strength, float), np.asarray(x.def_strength, float)
    ok = (sa > 0) & (sd > 0)
    dur = ongoing.fit_duration(np.asarray(x.duration_hours)[ok], np.asarray(x.year)[ok], (sa + sd)[ok])
    km, wina, year, men = t.advance_km[ok], t.wina[ok], np.asarray(x.year)[ok], (sa + sd)[ok]
    b = ongoing.advance_size_exponent(km, wina, year, men)
    adv = ongoing.advance_quantiles(km, wina, year, men, b)
    # the maximum-likelihood optimiser's tolerance: SciPy and BLAS builds differ in the 6th digit
    assert dur == pytest.approx(MODEL.duration, rel=1e-4)
    assert b == pytest.approx(MODEL.advance_size_exponent, rel=1e-4)
    assert adv.keys() == MODEL.advance.keys()
    for k in adv:
        assert adv[k] == pytest.approx(MODEL.advance[k], rel=1e-3)


def test_larger_engagements_advance_further_at_about_the_rate_of_smaller_ones() -> None:
    """CDB90: a won battle's advance grows with its size about as fast as its duration does, so
    an engagement of more men does not advance more slowly per hour (with the old size-blind
    advance a doubled attacker fought longer battles for the same ground and went less far)."""
    b_adv = MODEL.advance_size_exponent
    b_dur = MODEL.duration_law(1944)[1]
    assert b_adv > 0.3 and abs(b_adv - b_dur) < 0.2
    q = MODEL.advance_quantiles(1944)
    u = np.full(2, 0.5)
    small, large = ongoing.advance_km(q, u, np.array([1e4, 4e4]), b_adv)
    assert large / small == pytest.approx(4.0 ** b_adv)
    assert ongoing.advance_km(q, u[:1])[0] == pytest.approx(small)


def test_advance_size_exponent_recovers_a_known_law() -> None:
    rng = np.random.default_rng(3)
    men = np.exp(rng.uniform(np.log(2e3), np.log(5e5), 4000))
    km = rng.exponential(3.0 * (men / 1e4) ** 0.6)
    b = ongoing.advance_size_exponent(km, np.ones_like(km), np.full(km.shape, 1944.0), men)
    assert b == pytest.approx(0.6, abs=0.05)


def test_only_decided_engagements_have_a_winner() -> None:
    u = np.array([0.01, 0.05, 0.2, 0.9])
    decided, won = step_outcome(np.full(4, 0.1), np.full(4, 0.5), u)
    assert decided.tolist() == [True, True, False, False]
    assert won.tolist() == [True, False, False, False]
    assert not (won & ~decided).any()


def test_stock_and_flow() -> None:
    """Without rationing, a unit fed 80% of its need lives on its stock until the stock is gone,
    then on 80%; one fed 100% keeps its stock; the stock is tons, so the step length does not
    matter."""
    p = SupplyParams(ration_stock=0.0)
    men, need = np.array([10000.0]), np.array([30.0])  # 3 kg/man/day
    s, days = np.array([1.0]), 0
    fed = np.array([1.0])
    while fed[0] == 1.0 and days < 100:
        s, fed = stock_update(p, s, men, need, 0.8 * need, 1.0)
        days += 1
    assert days == pytest.approx(p.basic_load_days / 0.2, abs=1)  # 7 days of stock, drained at 20%/day
    s2, fed2 = stock_update(p, s, men, need, 0.8 * need, 1.0)
    assert s2[0] == 0.0 and fed2[0] == pytest.approx(0.8)
    full, f = stock_update(p, np.array([1.0]), men, need, need, 1.0)
    assert full[0] == 1.0 and f[0] == 1.0
    a = np.array([0.5])
    for _ in range(8):
        a, _f = stock_update(p, a, men, need, 0.9 * need, 0.25)
    b, _f = stock_update(p, np.array([0.5]), men, need, 0.9 * need, 2.0)
    assert a[0] == pytest.approx(b[0])


def test_a_unit_short_of_supply_rations_the_last_of_its_stock() -> None:
    """With rationing, a unit fed 80% of its need lives on its full need down to ration_stock,
    then rations: its stock falls smoothly toward 0.8 * ration_stock and never runs dry, and
    what it lives on falls smoothly from 1 toward 0.8. The step is solved exactly, so 8 quarter-day
    steps and one 2-day step give the same stock, across the ration level and below it."""
    p = SupplyParams(ration_stock=0.5)
    men, need = np.array([10000.0]), np.array([30.0])
    s, fed, days, fed_seen = np.array([1.0]), np.array([1.0]), 0, []
    while fed[0] == 1.0 and days < 100:
        s, fed = stock_update(p, s, men, need, 0.8 * need, 1.0)
        days += 1
    # the full need down to half the basic load: 0.5 * 7 days of stock drained at 20% a day
    assert days == pytest.approx(0.5 * p.basic_load_days / 0.2, abs=1)
    for _ in range(200):
        fed_seen.append(fed[0])
        s, fed = stock_update(p, s, men, need, 0.8 * need, 1.0)
    assert s[0] == pytest.approx(0.8 * 0.5, abs=1e-3) and fed[0] == pytest.approx(0.8, abs=1e-3)
    assert all(a >= b for a, b in zip(fed_seen, fed_seen[1:]))  # falls, no cliff
    assert min(fed_seen) > 0.8 - 1e-9
    for x0 in (0.55, 0.45):  # crossing the ration level within the steps, and below it
        a = np.array([x0])
        for _ in range(8):
            a, _f = stock_update(p, a, men, need, 0.8 * need, 0.25)
        b, _f = stock_update(p, np.array([x0]), men, need, 0.8 * need, 2.0)
        assert a[0] == pytest.approx(b[0], rel=1e-9)
    # deliveries that cover the need: no rationing, the surplus is stocked
    full, f = stock_update(p, np.array([0.3]), men, need, 1.5 * need, 1.0)
    assert f[0] == 1.0 and full[0] == pytest.approx(0.3 + 0.5 * 30.0 / 210.0)


def _threat(radius: float | None) -> object:
    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.5, men=20000)]
    d["plans"] = [plan("red", phase("sit", ["r"], "hasty_defence"))]
    v = {"id": "v", "kind": "hold_objective", "side": "blue", "objective": "east", "by": d["meta"]["end"],
         "provenance": {"source": "assumption", "note": "t"}}
    if radius is not None:
        v |= {"threat_radius_km": radius, "threat_hours": 48}
    d["victory"] = [v]
    return build(d)


def test_an_enemy_force_near_the_objective_for_long_enough_takes_it() -> None:
    """A force ~40 km from the objective that stays there: lost under a 50 km threat radius
    after 48 h, held under a 20 km one and without a threat condition."""
    near = simulate(_threat(50.0), 2, seed=0, config=EngineConfig())
    assert near.outcome.objective_lost.all()
    hours = (near.outcome.end_time - np.datetime64(near.start.replace(tzinfo=None))).astype("timedelta64[h]")
    # seen first at a step's end, its stay began at some moment of that step: 48-54 h
    assert ((hours.astype(int) >= 48) & (hours.astype(int) <= 54)).all()
    for r in (20.0, None):
        far = simulate(_threat(r), 2, seed=0, config=EngineConfig())
        assert not far.outcome.objective_lost.any()


def _small_campaign() -> object:
    d = base()
    d["units"] = [unit("r1", "red", 27.5, 110.15, men=12000), unit("r2", "red", 27.45, 110.15, men=12000),
                  unit("b", "blue", 27.5, 110.75, men=8000)]
    d["plans"] = [plan("red", phase("go", ["r1", "r2"], "attack", "east")),
                  plan("blue", phase("hold", ["b"], "prepared_defence"))]
    d["victory"] = [{"id": "v", "kind": "hold_objective", "side": "blue", "objective": "east",
                     "by": d["meta"]["end"], "threat_radius_km": 8, "threat_hours": 12,
                     "provenance": {"source": "assumption", "note": "t"}}]
    return build(d)


def test_check_model_on_a_small_scenario(tmp_path) -> None:
    """`xuefeng check-model` runs every check on a scenario folder, prints them as JSON and
    exits 0 exactly when all hold; the unopposed attacker takes the objective. 400 replications:
    the attacker wins about 60% here, and without common random numbers across step lengths a
    0.10 tolerance on P(victory) needs a few hundred (the run takes seconds)."""
    import yaml

    sc = _small_campaign()
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / "scenario.yaml").write_text(yaml.safe_dump(sc.model_dump(mode="json", exclude={"engine_settings"}),
                                                         sort_keys=False))
    r = CliRunner().invoke(app, ["check-model", str(folder), "-n", "400", "--json", "--workers", "1"])
    assert r.exit_code in (0, 1), r.stdout + r.stderr
    out = json.loads(r.stdout)
    names = {c["name"] for c in out["checks"]}
    assert {"baseline", "no-defender", "attacker-x0.5", "attacker-x2", "step-3h", "step-12h"} <= names
    assert (r.exit_code == 0) == out["all_hold"]
    by = {c["name"]: c for c in out["checks"]}
    assert by["no-defender"]["holds"] is True
    assert by["no-defender-air"]["holds"] is None  # blue has no air power here
    for h in (3, 12):  # the campaign does not depend on the step length
        assert by[f"step-{h}h"]["holds"] is True, by[f"step-{h}h"]


def test_check_model_needs_a_victory_condition(tmp_path) -> None:
    import yaml

    d = base()
    d["units"] = [unit("r", "red", 27.5, 110.2)]
    folder = tmp_path / "nov"
    folder.mkdir()
    (folder / "scenario.yaml").write_text(yaml.safe_dump(build(d).model_dump(mode="json",
                                                                              exclude={"engine_settings"})))
    r = CliRunner().invoke(app, ["check-model", str(folder), "-n", "2"])
    assert r.exit_code == 2 and "victory condition" in r.stderr and "Traceback" not in r.stderr


def test_step_model_scores_as_the_battle_model_on_cdb90() -> None:
    """On CDB90 with the same folds, the step model integrated over each battle's duration
    predicts winner and casualties exactly as well as the battle-level model."""
    from engagement_support import dev_csv
    from xuefeng.engagement.cdb90 import load, targets_from_frame
    from xuefeng.engagement.evaluate import STEPPED_MODELS, cross_validate

    x, df = load(dev_csv())
    scores = cross_validate(x, targets_from_frame(df), 5, 0, models=STEPPED_MODELS)
    ref = scores[0]
    for s in scores[1:]:
        assert s.accuracy == pytest.approx(ref.accuracy) and s.brier == pytest.approx(ref.brier)
        assert s.within2_att == pytest.approx(ref.within2_att) and s.within2_def == pytest.approx(ref.within2_def)
        assert s.mdale_att == pytest.approx(ref.mdale_att, rel=1e-6)


def _two_sides():
    from types import SimpleNamespace

    return SimpleNamespace(side_onehot=np.array([[1.0, 0.0], [0.0, 1.0]]),
                           enemy_side_matrix=np.array([[False, True], [True, False]]))


def test_fights_record_credits_the_attacker_and_the_defence_that_held() -> None:
    """An attack that carries counts for the attacking side and against the defender's; one
    repulsed counts the other way; an undecided fight counts for nobody."""
    from types import SimpleNamespace

    from xuefeng.engine.ai import AIParams, record_fights

    c = _two_sides()
    s = SimpleNamespace(fights_won=np.zeros((3, 2)), fights_lost=np.zeros((3, 2)))
    # unit 0 of side 0 defends; unit 1 of side 1 defends
    att_won = np.array([[True, False], [False, False], [False, False]])
    decided = np.array([[True, False], [True, False], [False, False]])
    record_fights(c, s, AIParams(), att_won, decided, 6.0)
    assert s.fights_won.tolist() == [[0, 1], [1, 0], [0, 0]]
    assert s.fights_lost.tolist() == [[1, 0], [0, 1], [0, 0]]


@pytest.mark.parametrize("dt", [3.0, 6.0, 12.0])
def test_fights_record_fades_the_same_whatever_the_step(dt: float) -> None:
    from types import SimpleNamespace

    from xuefeng.engine.ai import AIParams, record_fights

    p = AIParams()
    s = SimpleNamespace(fights_won=np.array([[4.0, 0.0]]), fights_lost=np.array([[0.0, 2.0]]))
    none = np.zeros((1, 2), bool)
    for _ in range(int(48 / dt)):
        record_fights(_two_sides(), s, p, none, none, dt)
    assert s.fights_won[0, 0] == pytest.approx(4.0 * np.exp(-48 / p.stall_hours))


def test_an_offensive_winning_its_fights_is_not_called_off() -> None:
    """The attackers' state says call it off (no supply); it is called off only once it is no
    longer winning more fights than it loses (kernels.doctrine_halt's `stalled`)."""
    from xuefeng.engine import kernels
    from xuefeng.engine.ai import HALT_DOCTRINE, AIParams
    from xuefeng.engine.postures import ATTACK

    p = AIParams()
    doctrine = [np.full(2, float(getattr(p, n))) for n in HALT_DOCTRINE]
    R, U = 1, 2
    ones = np.ones((R, U))
    res = {}
    for stalled in (False, True):
        side_retreat = np.zeros((R, 2), bool)
        out = kernels.doctrine_halt(
            ones, ones, np.ones((R, U), bool), np.zeros((R, U), bool), np.full((R, U), ATTACK),
            np.ones((R, U), bool), np.ones((R, U), bool), ones, np.zeros((R, U)), ones, ones,
            np.zeros((R, U), bool), np.zeros((R, U), bool), ones * 1000, np.full(U, 1000.0), np.array([0, 1]), 2,
            np.ones((R, 2), bool), side_retreat, np.full((R, 2), np.inf), np.full((R, 2), stalled), -1, *doctrine)
        res[stalled] = out[2][0].tolist()
    assert res[False] == [False, False]
    assert res[True] == [True, True]


@pytest.mark.parametrize("step", [3.0, 6.0, 12.0])
def test_threat_clock_takes_as_long_whatever_the_step(step: float) -> None:
    """A force that stays D hours in the threat radius, arriving at a random moment of a step, is
    seen to have stayed H hours with a probability that does not depend on the step length:
    about P(D >= H)."""
    from xuefeng.engine.core import threat_clock

    rng = np.random.default_rng(1)
    n = 20000
    H = 24.0
    D = rng.uniform(0, 48, n)  # true stay
    start = rng.uniform(0, step, n)  # arrival, after the last step's end
    hours = np.zeros(n)
    hit = np.zeros(n, bool)
    for k in range(1, int(60 / step) + 2):
        t = k * step
        inside = (t >= start) & (t <= start + D)
        hours = threat_clock(hours, inside, step, rng.uniform(size=n))
        hit |= hours >= H
    assert hit.mean() == pytest.approx((D >= H).mean(), abs=0.02)


def test_threat_clock_is_not_reset_by_a_brief_interruption() -> None:
    from xuefeng.engine.core import threat_clock

    h = threat_clock(np.array([18.0]), np.array([False]), 6.0, np.array([0.5]))
    assert h[0] == 12.0
    assert threat_clock(h, np.array([True]), 6.0, np.array([0.5]))[0] == 18.0
    assert threat_clock(np.array([0.0]), np.array([True]), 6.0, np.array([0.25]))[0] == 7.5


def test_a_winner_follows_the_beaten_defender_to_where_it_stops() -> None:
    """CDB90's advance is the winner's: the beaten defender falls back n cells and the cell its
    winners reach is the last of its path before that (its own cell when it falls back one)."""
    from xuefeng.engine.combat import CombatParams, retreat_cells
    from xuefeng.engine.compile import compile_scenario

    c = compile_scenario(_small_campaign())
    start = np.array([int(c.start_cell[2])] * 3)  # the blue defender's cell
    ax = np.full(3, c.x_km[c.start_cell[0]])
    ay = np.full(3, c.y_km[c.start_cell[0]])
    end, before = retreat_cells(c, CombatParams(), start, np.full(3, int(c.side[2])), ax, ay, np.array([1, 2, 4]))
    assert before[0] == start[0]
    for k in (1, 2):
        assert end[k] != start[k]
        assert c.adj[before[k], end[k]] and before[k] != end[k]


def test_an_attacker_engages_the_enemy_barring_its_way_with_all_its_men() -> None:
    """Two enemies touch an attacker: the one lowest on its cost-to-go field (ahead on its road)
    is the defender of one engagement with all the attacker's men; the other, beside it, is in
    contact but in no engagement."""
    from engine_scenarios import FixedEngagement
    from xuefeng.engine import combat
    from xuefeng.engine.compile import compile_scenario
    from xuefeng.engine.postures import ATTACK, HASTY
    from xuefeng.engine.state import initial_state

    d = base()
    d["units"] = [unit("red1", "red", 27.5, 110.3), unit("blue1", "blue", 27.5, 110.6),
                  unit("blue2", "blue", 27.5, 110.6)]
    d["plans"] = [plan("red", phase("go", ["red1"], "attack", "east"))]
    c = compile_scenario(build(d))
    s = initial_state(c, 1)
    red = int(c.start_cell[0])
    f = int(c.place_field[c.place_ids.index("east")])
    ctg = c.ctg[c.mode[0], f]
    nb = [int(n) for n in c.nbr[red] if n != red]
    ahead, beside = min(nb, key=lambda n: ctg[n]), max(nb, key=lambda n: ctg[n])
    s.cell[0] = [red, beside, ahead]  # blue2 (index 2) bars the way, blue1 stands beside
    s.posture[0] = [ATTACK, HASTY, HASTY]
    s.field[0, 0] = f
    alive = np.ones((1, 3), bool)
    u = np.full((1, 3, 5), 0.5)
    cr = combat.resolve(c, s, combat.CombatParams(), FixedEngagement(), np.zeros((1, 2)), np.zeros((1, 2)),
                        alive, u, 6.0, (24.0, 0.0))
    assert cr.defender[0].tolist() == [False, False, True]
    assert cr.attackers_of[0, 0].tolist() == [False, False, True]
    # the whole attack falls on blue2: its losses are those of one engagement with all red's men
    assert cr.cas[0, 1] == 0.0 and cr.cas[0, 2] > 0.0


def _one_attack(gap: float):
    """red1 attacking blue1 on the road, compiled, with its state and resolve's inputs."""
    from xuefeng.engine import combat
    from xuefeng.engine.compile import compile_scenario
    from xuefeng.engine.postures import ATTACK, HASTY
    from xuefeng.engine.state import initial_state

    d = base()
    d["units"] = [unit("red1", "red", 27.5, 110.3, men=20000), unit("blue1", "blue", 27.5, 110.6)]
    d["plans"] = [plan("red", phase("go", ["red1"], "attack", "east"))]
    c = compile_scenario(build(d))
    s = initial_state(c, 1)
    red = int(c.start_cell[0])
    f = int(c.place_field[c.place_ids.index("east")])
    ahead = min((int(n) for n in c.nbr[red] if n != red), key=lambda n: c.ctg[c.mode[0], f][n])
    s.cell[0] = [red, ahead]
    s.posture[0] = [ATTACK, HASTY]
    s.field[0, 0] = f
    p = combat.CombatParams(battle_gap_hours=gap)
    model = EngagementModel.default()

    def step(decide: bool, attack: bool = True):
        s.posture[0, 0] = ATTACK if attack else HASTY
        u = np.full((1, 2, 5), 0.5)
        u[..., 0] = 1e-6 if decide else 1.0 - 1e-6  # the engagement ends (attacker wins) or goes on
        return combat.resolve(c, s, p, model, np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 2), bool), u,
                              6.0, model.duration_law(1920))

    return s, step


def test_a_defender_attacked_again_within_the_gap_fights_on_in_the_same_battle() -> None:
    """A decided engagement pressed again at once continues the battle: its losses follow C(h)
    of the battle's age (the fitted C is concave, so a continuing battle's six hours cost less
    than a fresh battle's first six), while with no gap every decision starts a fresh battle. A
    pause longer than the gap ends the battle."""
    s, step = _one_attack(24.0)
    first = step(decide=True)
    assert first.decided[0, 1] and s.eng_hours[0, 1] == 6.0
    again = step(decide=False)
    assert s.eng_hours[0, 1] == 12.0
    assert again.cas[0, 1] < first.cas[0, 1]
    s0, step0 = _one_attack(0.0)
    fresh = step0(decide=True)
    assert s0.eng_hours[0, 1] == 0.0
    assert step0(decide=False).cas[0, 1] == pytest.approx(fresh.cas[0, 1])
    for _ in range(3):  # 18 h without an attack: the battle is paused, and keeps its age
        step(decide=False, attack=False)
    assert s.eng_hours[0, 1] == 12.0
    for _ in range(2):  # 30 h: over
        step(decide=False, attack=False)
    assert s.eng_hours[0, 1] == 0.0
    assert step(decide=False).cas[0, 1] == pytest.approx(fresh.cas[0, 1])


def _surprise_attack(surprise: float):
    """red1 attacking blue1, which stands in its start cell, with red's opening surprise."""
    from xuefeng.engine import combat
    from xuefeng.engine.compile import EngineConfig, SideConfig, compile_scenario
    from xuefeng.engine.postures import ATTACK, HASTY
    from xuefeng.engine.state import initial_state

    d = base()
    d["units"] = [unit("red1", "red", 27.5, 110.3, men=20000), unit("blue1", "blue", 27.5, 110.6)]
    d["plans"] = [plan("red", phase("go", ["red1"], "attack", "east"))]
    c = compile_scenario(build(d), config=EngineConfig(sides={"red": SideConfig(opening_surprise=surprise)}))
    s = initial_state(c, 1)
    blue = int(c.start_cell[1])
    s.cell[0, 0] = next(int(n) for n in c.nbr[blue] if n != blue)
    s.posture[0] = [ATTACK, HASTY]
    s.field[0, 0] = int(c.place_field[c.place_ids.index("east")])
    p = combat.CombatParams()
    model = EngagementModel.default()

    def step(attack: bool = True):
        s.posture[0, 0] = ATTACK if attack else HASTY
        u = np.full((1, 2, 5), 0.5)
        u[..., 0] = 1.0 - 1e-6  # the fight goes on
        return combat.resolve(c, s, p, model, np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 2), bool), u,
                              6.0, model.duration_law(1944))

    return c, s, step


def test_an_opening_surprise_catches_a_defender_in_its_first_battle_only() -> None:
    """A side's opening surprise raises its attack on a defender still in its start position in
    its first battle (the defender loses more, the attacker less), for as long as that battle
    goes on; once it has ended, a new attack meets a warned defender; a unit that has left its
    start cell is not surprised."""
    _, _, plain = _surprise_attack(0.0)
    _, s, caught = _surprise_attack(1.0)
    a, b = plain(), caught()
    assert s.surprised[0, 1]
    assert b.cas[0, 1] > a.cas[0, 1] and b.cas[0, 0] < a.cas[0, 0]
    assert caught().cas[0, 1] > plain().cas[0, 1]  # the same battle goes on: still surprised
    for _ in range(5):  # 30 h without an attack: the first battle is over
        caught(attack=False)
        plain(attack=False)
    assert not s.surprised[0, 1]
    assert caught().cas[0, 1] == pytest.approx(plain().cas[0, 1])
    c, s2, moved = _surprise_attack(1.0)
    red = int(s2.cell[0, 0])
    s2.cell[0, 1] = next(int(n) for n in c.nbr[red] if n not in (red, c.start_cell[1]))
    assert moved().cas[0, 1] > 0  # attacked next to red, out of its start cell
    assert not s2.surprised[0, 1]
