"""Baseline policies for `CampaignEnv` (docs/environment.md): the scenario's plan, random
orders, and a small search — Monte Carlo rollouts of a few candidate orders on the batched
engine from the current state."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xuefeng.engine import Simulation
from xuefeng.engine.compile import POSTURE_NAMES

Policy = Callable[["CampaignEnv", str, np.random.Generator], np.ndarray]  # noqa: F821


def plan_policy(env, side: str, rng: np.random.Generator) -> np.ndarray:
    """Every unit keeps its order: the scenario's plan and doctrine."""
    return np.zeros(env.action_space(side).shape, np.int64)


def random_policy(env, side: str, rng: np.random.Generator) -> np.ndarray:
    """Every unit gets a uniformly drawn action (keep, a posture, a place)."""
    return rng.integers(0, env.action_space(side).nvec)


def candidate_orders(env, side: str) -> dict[str, np.ndarray]:
    """The search's candidates for a side: keep the plan; every unit attacks the victory
    objective; every unit holds where it stands (hasty defence)."""
    n = len(env._units[side])
    keep = np.zeros((n, 2), np.int64)
    out = {"plan": keep}
    c = env.c
    if c.victory_cell >= 0:
        # the place at the victory objective's cell
        cells = c.field_cells[c.place_field]
        at = np.nonzero(cells == c.victory_cell)[0]
        if at.size:
            att = np.tile([1 + POSTURE_NAMES.index("attack"), 1 + int(at[0])], (n, 1))
            out["attack-objective"] = att
    out["hold"] = np.tile([1 + POSTURE_NAMES.index("hasty_defence"), 0], (n, 1))
    return out


def fork(sim: Simulation, m: int, seed: int) -> Simulation:
    """m copies of replication 0 of `sim` from its current state, each with its own random
    stream (seed, ids 0..m-1): the rollouts of a search."""
    f = Simulation(sim.c, np.arange(m), seed, keep_series=0, engagement=sim.model)
    src = sim.s
    for k, v in vars(src).items():
        if isinstance(v, np.ndarray):
            setattr(f._s, k, np.repeat(v[:1], m, axis=0))
    f._s.t = src.t
    return f


class RolloutSearch:
    """Each `every_days` days, score every candidate order for the side by `rollouts`
    replications run from the current state to the end (the other sides keep their plans), and
    give the one with the best mean reward (victory ± 1 and the loss balance, as the env's
    rewards); in between, keep it."""

    def __init__(self, rollouts: int = 16, every_days: int = 7, seed: int = 12345) -> None:
        self.rollouts, self.every_days, self.seed = rollouts, every_days, seed
        self._next = 0
        self.choices: list[str] = []

    def __call__(self, env, side: str, rng: np.random.Generator) -> np.ndarray:
        s = env.sim.s
        day = s.t * env.c.step_hours / 24.0
        if day < self._next:
            return np.zeros(env.action_space(side).shape, np.int64)
        self._next = day + self.every_days
        k = env.possible_agents.index(side)
        best, best_v = "plan", -np.inf
        for name, act in candidate_orders(env, side).items():
            f = fork(env.sim, self.rollouts, self.seed + int(s.t))
            post = np.full((self.rollouts, env.c.n_units), -1, np.int64)
            obj = np.full((self.rollouts, env.c.n_units), -1, np.int64)
            post[:, env._units[side]] = act[:, 0] - 1
            obj[:, env._units[side]] = act[:, 1] - 1
            f.give_orders(post, obj)
            f.run()
            res = f.results()
            lost = (f.s.delivered - f.s.men()) @ env.c.side_onehot
            bal = (lost[:, np.arange(env.c.n_sides) != k].sum(1) - lost[:, k]) / max(env._men_all, 1.0)
            win = np.where(res.outcome.winner == k, 1.0, np.where(res.outcome.winner >= 0, -1.0, 0.0))
            v = float(np.mean(env.settings.victory_reward * win + env.settings.loss_weight * bal))
            if v > best_v:
                best, best_v = name, v
        self.choices.append(best)
        return candidate_orders(env, side)[best]
