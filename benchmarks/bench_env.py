"""The campaign environment (xuefeng.env): environment steps per second, and the baseline
policies' win rates against the scenario's plan on one side each.

    python benchmarks/bench_env.py [--episodes 50] [--scenario west-hunan-1945]

First the vector environment's rate (N replications per step, every action 'keep'), then
the policies. Policies: `plan` (every unit keeps its order: the scenario's own plan and doctrine) and
`random` (each decision, every unit gets a uniformly drawn action: keep, a posture and a place),
`search` (xuefeng.env.baselines.RolloutSearch: weekly, 16 rollouts per candidate order).
The other side always plays its plan. Episodes use seeds 0..E-1 (common random numbers).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from xuefeng.env import CampaignEnv, VectorCampaignEnv
from xuefeng.env.baselines import RolloutSearch, plan_policy, random_policy


def run(env: CampaignEnv, side: str, policy: str, seed: int) -> tuple[int, int]:
    """(winner index, env steps) of one episode."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    pol = {"plan": plan_policy, "random": random_policy, "search": RolloutSearch()}[policy]
    steps = 0
    while env.agents:
        acts = {a: np.zeros(env.action_space(a).shape, np.int64) for a in env.agents}
        acts[side] = pol(env, side, rng)
        env.step(acts)
        steps += 1
    return int(env.sim.results().outcome.winner[0]), steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--scenario", default="west-hunan-1945")
    ap.add_argument("--policies", default="plan,random,search")
    ap.add_argument("--vector", type=int, default=1000, help="replications of the vector environment (0: skip)")
    a = ap.parse_args()
    if a.vector:
        venv = VectorCampaignEnv(a.scenario, n=a.vector)
        venv.reset(seed=0)
        t0 = time.perf_counter()
        steps = 0
        while venv.agents:
            venv.step({ag: np.zeros((a.vector,) + venv.action_space(ag).shape, np.int64) for ag in venv.agents})
            steps += 1
        dt = time.perf_counter() - t0
        print(f"vector env, N = {a.vector}: {steps} steps in {dt:.1f} s: {steps / dt:.2f} batch steps/s, "
              f"{steps * a.vector / dt:.0f} replication-steps/s")
        # the engine alone, the same replications, side by side
        from xuefeng.engine import Simulation

        sim = Simulation(venv.c, np.arange(a.vector), 0, keep_series=0)
        t0 = time.perf_counter()
        sim.run()
        de = time.perf_counter() - t0
        print(f"engine alone, N = {a.vector}: the same campaign in {de:.1f} s "
              f"(the environment's observations and rewards cost {dt / de - 1:.0%} more)")
    env = CampaignEnv(a.scenario)
    print(f"{a.scenario}: agents {env.possible_agents}, decisions every {env.settings.hours_per_action} h, "
          f"{a.episodes} episodes per row")
    print(f"{'side played':12s} {'policy':8s} {'wins':>6s} {'env steps/s':>12s}")
    for side in env.possible_agents:
        k = env.possible_agents.index(side)
        for policy in a.policies.split(","):
            t0 = time.perf_counter()
            res = [run(env, side, policy, s) for s in range(a.episodes)]
            dt = time.perf_counter() - t0
            wins = np.mean([w == k for w, _ in res])
            print(f"{side:12s} {policy:8s} {wins:6.2f} {sum(n for _, n in res) / dt:12.1f}")


if __name__ == "__main__":
    main()
