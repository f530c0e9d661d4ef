"""The campaign environment: PettingZoo's and Gymnasium's API checks, the scenario's plan
reproduced exactly by 'keep' actions, orders that change the campaign, fog of war."""

from __future__ import annotations

import numpy as np
import pytest

from engine_scenarios import base, build, phase, plan, unit
from xuefeng.engine import simulate
from xuefeng.engine.compile import POSTURE_NAMES
from xuefeng.env import CampaignEnv, EnvSettings, SideEnv


def small():
    d = base()
    d["meta"]["end"] = "1950-05-11T00:00:00"
    d["units"] = [unit("r1", "red", 27.5, 110.1), unit("r2", "red", 27.6, 110.15),
                  unit("b1", "blue", 27.5, 110.9, men=6000)]
    d["plans"] = [plan("red", phase("go", ["r1", "r2"], "attack", "east")),
                  plan("blue", phase("hold", ["b1"], "prepared_defence", "east"))]
    d["victory"] = [{"id": "v", "kind": "hold_objective", "side": "blue", "objective": "east",
                     "by": "1950-05-11T00:00:00", "provenance": {"source": "assumption", "note": "t"}}]
    return build(d)


def test_pettingzoo_parallel_api() -> None:
    from pettingzoo.test import parallel_api_test

    parallel_api_test(CampaignEnv(small()), num_cycles=20)


def test_gymnasium_env_checker_on_one_side() -> None:
    from gymnasium.utils.env_checker import check_env

    check_env(SideEnv(small(), side="red"), skip_render_check=True)


def keep_all(env):
    return {a: np.zeros(env.action_space(a).shape, np.int64) for a in env.agents}


def play(env, policy, seed=0):
    obs, _ = env.reset(seed=seed)
    total = {a: 0.0 for a in env.possible_agents}
    while env.agents:
        obs, rew, term, trunc, info = env.step(policy(env))
        for a, r in rew.items():
            total[a] += r
    return total


def test_keep_actions_reproduce_the_scenario_bit_for_bit() -> None:
    sc = small()
    env = CampaignEnv(sc, EnvSettings(hours_per_action=6))
    play(env, keep_all, seed=3)
    ref = simulate(sc, 1, 3, keep_series=0)
    res = env.sim.results()
    assert np.array_equal(res.ledger, ref.ledger)
    assert np.array_equal(res.outcome.winner, ref.outcome.winner)
    assert res.outcome.advance_km[0] == ref.outcome.advance_km[0]


def test_orders_change_the_campaign() -> None:
    sc = small()
    env = CampaignEnv(sc)
    west = env.c.place_ids.index("west")
    hold = 1 + POSTURE_NAMES.index("hasty_defence")

    def stay_home(e):
        a = keep_all(e)
        if "red" in a:
            a["red"][:, 0] = hold
            a["red"][:, 1] = 1 + west
        return a

    play(env, stay_home)
    stayed = env.sim.results().outcome.advance_km[0]
    play(env, keep_all)
    attacked = env.sim.results().outcome.advance_km[0]
    assert stayed < attacked


def test_fog_of_war_hides_distant_enemies() -> None:
    env = CampaignEnv(small(), EnvSettings(detection_km=5.0, air_recon_km=0.0))
    obs, _ = env.reset(seed=0)
    assert obs["red"]["enemy"][:, 0].sum() == 0  # blue is 80 km away
    assert not obs["red"]["enemy"][:, 1:].any()  # nothing of an unseen unit leaks
    near = CampaignEnv(small(), EnvSettings(detection_km=500.0))
    obs, _ = near.reset(seed=0)
    assert obs["red"]["enemy"][0, 0] == 1.0


def test_render_gives_an_image() -> None:
    env = CampaignEnv(small(), render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8


def test_bad_orders_are_refused() -> None:
    env = CampaignEnv(small())
    env.reset(seed=0)
    with pytest.raises(ValueError, match="unknown agent"):
        env.step({"green": np.zeros(2)})
    with pytest.raises(ValueError, match="posture values"):
        env.sim.give_orders(posture=np.full((1, 3), 99))


def test_west_hunan_plans_as_policies_reproduce_the_run() -> None:
    """Both sides answering 'keep' every day: the campaign `xuefeng run` gives, bit for bit."""
    from xuefeng.scenario import load_scenario

    sc = load_scenario("west-hunan-1945")
    env = CampaignEnv(sc)
    play(env, keep_all, seed=0)
    ref = simulate(sc, 1, 0, keep_series=0)
    res = env.sim.results()
    assert np.array_equal(res.ledger, ref.ledger)
    assert np.array_equal(res.civilian_casualties, ref.civilian_casualties)
    assert res.outcome.end_time[0] == ref.outcome.end_time[0]


def test_the_documented_example_runs_as_written(capsys) -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "environment.md").read_text()
    code = re.findall(r"```python\n(.*?)```", doc, re.S)[0]
    exec(compile(code, "docs/environment.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "[0]"  # the plan: China holds Zhijiang (seed 0)


def test_vector_env_matches_single_replications() -> None:
    """Replication i of the vector env is replication i of the engine: with 'keep' actions its
    ledger equals simulate's, whatever the batch."""
    from xuefeng.env import VectorCampaignEnv

    sc = small()
    venv = VectorCampaignEnv(sc, n=4)
    obs, _ = venv.reset(seed=5)
    assert obs["red"]["own"].shape == (4,) + venv.observation_space("red")["own"].shape
    total = np.zeros(4)
    while venv.agents:
        acts = {a: np.zeros((4,) + venv.action_space(a).shape, np.int64) for a in venv.agents}
        obs, rew, term, trunc, info = venv.step(acts)
        total += rew["red"]
    ref = simulate(sc, 4, 5, keep_series=0)
    assert np.array_equal(venv.sim.results().ledger, ref.ledger)
    assert np.isfinite(total).all()


def test_rollout_search_plays_an_episode_and_picks_candidates() -> None:
    from xuefeng.env.baselines import RolloutSearch, candidate_orders, fork

    env = CampaignEnv(small())
    env.reset(seed=0)
    assert set(candidate_orders(env, "red")) == {"plan", "attack-objective", "hold"}
    f = fork(env.sim, 3, 7)
    assert f.s.cell.shape[0] == 3 and np.array_equal(f.s.cell[0], env.sim.s.cell[0])
    search = RolloutSearch(rollouts=4, every_days=3)
    rng = np.random.default_rng(0)
    while env.agents:
        env.step({"red": search(env, "red", rng), "blue": np.zeros(env.action_space("blue").shape, np.int64)})
    assert search.choices and set(search.choices) <= {"plan", "attack-objective", "hold"}


def test_one_agent_per_formation_headquarters() -> None:
    from pettingzoo.test import parallel_api_test
    from xuefeng.scenario import load_scenario

    parallel_api_test(CampaignEnv(small(), agents="hq"), num_cycles=10)
    sc = load_scenario("west-hunan-1945")
    env = CampaignEnv(sc, agents="hq")
    parents = {u.id: u.parent for u in sc.units}
    assert len(env.possible_agents) > 2
    # every unit on the map is commanded by exactly one agent: its parent formation
    members = sorted(i for a in env.possible_agents for i in env._units[a])
    assert members == list(range(env.c.n_units))
    for a in env.possible_agents:
        assert all((parents.get(env.c.unit_ids[i]) or env.c.unit_ids[i]) == a for i in env._units[a])
    play(env, keep_all, seed=0)
    ref = simulate(sc, 1, 0, keep_series=0)
    assert np.array_equal(env.sim.results().ledger, ref.ledger)
