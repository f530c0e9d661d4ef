"""The campaign environment: observations with fog of war, orders as actions, rewards from
the victory condition and losses (docs/environment.md)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from xuefeng.engine import Simulation, compile_scenario
from xuefeng.engine.compile import POSTURE_NAMES
from xuefeng.engine.orders import KEEP

#: Features of each own unit in an observation (docs/environment.md).
OWN_FEATURES = ("present", "x", "y", "strength", "supply", "fed", "morale", "fatigue", "posture", "broken")
#: Features of each enemy unit; all zero unless it is seen.
ENEMY_FEATURES = ("seen", "x", "y", "strength")


@dataclass(frozen=True)
class EnvSettings:
    """The environment's documented settings."""

    hours_per_action: int = 24
    """Campaign hours between two decisions (a whole number of the scenario's steps)."""
    detection_km: float = 20.0
    """An enemy unit within this distance of one of a side's live units is seen (assumption:
    patrols and contact within about a day's march of the front)."""
    air_recon_km: float = 30.0
    """Extra detection range for a side whose air presence today exceeds 0.5 (assumption:
    reconnaissance by day)."""
    loss_weight: float = 1.0
    """Reward per step: loss_weight * (enemy men lost - own men lost) / all men at the start."""
    victory_reward: float = 1.0
    """Reward at the end: +victory_reward to the winner, - to the loser, 0 for no decision."""


class CampaignEnv(ParallelEnv):
    """One replication of a scenario as a PettingZoo parallel environment (agents: side ids)."""

    metadata = {"name": "xuefeng_campaign_v0", "render_modes": ["rgb_array"], "is_parallelizable": True}

    def __init__(self, scenario: Any = "west-hunan-1945", settings: EnvSettings | None = None,
                 render_mode: str | None = None, replication: int = 0, agents: str = "side",
                 **engine: Any) -> None:
        if isinstance(scenario, str):
            from xuefeng.scenario import load_scenario

            scenario = load_scenario(scenario)
        self.scenario = scenario
        self.settings = settings or EnvSettings()
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.replication = int(replication)
        self.c = compile_scenario(scenario, **engine)
        c = self.c
        if self.settings.hours_per_action % c.step_hours:
            raise ValueError(f"hours_per_action must be a multiple of the scenario's {c.step_hours} h step")
        self.steps_per_action = self.settings.hours_per_action // c.step_hours
        if agents == "side":
            groups = {a: (k, np.nonzero(c.side == k)[0]) for k, a in enumerate(c.side_ids)}
        elif agents == "hq":
            # one agent per formation headquarters: the units on the map grouped by the
            # formation that commands them (their parent in the order of battle)
            parent = {u.id: u.parent for u in scenario.units}
            groups = {}
            for i, uid in enumerate(c.unit_ids):
                hq = parent.get(uid) or uid
                k, members = groups.get(hq, (int(c.side[i]), []))
                groups[hq] = (k, [*members, i])
            groups = {a: (k, np.array(m, np.int64)) for a, (k, m) in groups.items()}
        else:
            raise ValueError(f"agents must be 'side' or 'hq', got {agents!r}")
        self.agent_level = agents
        self.possible_agents = list(groups)
        self.agents: list[str] = []
        self._agent_side = {a: k for a, (k, _) in groups.items()}
        self._units = {a: m for a, (_, m) in groups.items()}
        self._enemy = {a: np.nonzero(c.side != k)[0] for a, (k, _) in groups.items()}
        self._side_units = [np.nonzero(c.side == k)[0] for k in range(c.n_sides)]
        self._x0, self._x1 = float(c.x_km.min()), float(c.x_km.max())
        self._y0, self._y1 = float(c.y_km.min()), float(c.y_km.max())
        self._men_all = float(c.men0.sum())
        self.sim: Simulation | None = None
        self._seed = 0

    # ------------------------------------------------------------------ spaces
    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent: str) -> spaces.Space:
        n_own, n_en = len(self._units[agent]), len(self._enemy[agent])
        return spaces.Dict({
            "own": spaces.Box(0.0, 10.0, (n_own, len(OWN_FEATURES)), np.float32),
            "enemy": spaces.Box(0.0, 10.0, (n_en, len(ENEMY_FEATURES)), np.float32),
            "time": spaces.Box(0.0, 1.0, (1,), np.float32),
        })

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent: str) -> spaces.Space:
        """Per own unit: [posture + 1 (0 = keep), objective place + 1 (0 = keep)]."""
        n = len(self._units[agent])
        return spaces.MultiDiscrete(np.tile([len(POSTURE_NAMES) + 1, len(self.c.place_ids) + 1], (n, 1)))

    # ------------------------------------------------------------------ API
    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._seed = int(seed)
        self.sim = Simulation(self.c, np.array([self.replication]), self._seed, keep_series=0)
        self.agents = list(self.possible_agents)
        self._last_lost = self._lost()
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]) -> tuple[dict, dict, dict, dict, dict]:
        sim, c = self.sim, self.c
        if sim is None:
            raise RuntimeError("call reset() before step()")
        posture = np.full((1, c.n_units), KEEP, np.int64)
        objective = np.full((1, c.n_units), KEEP, np.int64)
        for agent, act in actions.items():
            if agent not in self._units:
                raise ValueError(f"unknown agent {agent!r}; agents: {self.possible_agents}")
            a = np.asarray(act, np.int64).reshape(len(self._units[agent]), 2)
            posture[0, self._units[agent]] = a[:, 0] - 1
            objective[0, self._units[agent]] = a[:, 1] - 1
        sim.give_orders(posture, objective)
        for _ in range(self.steps_per_action):
            sim.step()
        lost = self._lost()
        d = lost - self._last_lost
        self._last_lost = lost
        w = self.settings.loss_weight / max(self._men_all, 1.0)
        rewards = {a: float(w * (d[0, self._enemy_sides(a)].sum() - d[0, self._agent_side[a]]))
                   for a in self.possible_agents}
        over = bool(sim.s.done.all() or sim.s.t >= c.n_steps)
        if over:
            winner = int(sim.results().outcome.winner[0])
            for a in self.possible_agents:
                if winner >= 0:
                    rewards[a] += self.settings.victory_reward * (1.0 if self._agent_side[a] == winner else -1.0)
        obs = self._observations()
        terms = {a: over for a in self.agents}
        truncs = {a: False for a in self.agents}
        infos = {a: {} for a in self.agents}
        if over:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def render(self) -> np.ndarray | None:
        """The map as an RGB array: each side's live units, sized by strength."""
        if self.render_mode != "rgb_array" or self.sim is None:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        c, s = self.c, self.sim.s
        fig, ax = plt.subplots(figsize=(5, 5), dpi=64)
        men = s.men()[0]
        for k, a in enumerate(c.side_ids):
            u = self._side_units[k]
            live = s.present[0, u] & (men[u] > 0)
            ax.scatter(c.x_km[s.cell[0, u[live]]], c.y_km[s.cell[0, u[live]]], s=np.sqrt(men[u[live]]) / 3, label=a)
        ax.set_xlim(self._x0, self._x1); ax.set_ylim(self._y0, self._y1); ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=7); ax.set_title(str(c.step_times[min(s.t, c.n_steps)])[:13])
        fig.canvas.draw()
        img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        plt.close(fig)
        return img

    def close(self) -> None:
        self.sim = None

    # ------------------------------------------------------------------ observations
    def _enemy_sides(self, agent: str) -> np.ndarray:
        k = self._agent_side[agent]
        return np.array([j for j in range(self.c.n_sides) if j != k])

    def _lost(self) -> np.ndarray:
        """Men lost so far per replication and side, (R,S) (every loss the ledger books)."""
        s, c = self.sim.s, self.c
        return (s.delivered - s.men()) @ c.side_onehot

    def _observations(self) -> dict[str, dict[str, np.ndarray]]:
        return {a: {k: v[0] for k, v in self._observe(a).items()} for a in self.possible_agents}

    def _observe(self, agent: str) -> dict[str, np.ndarray]:
        """The agent's observation in every replication of the batch (leading axis R)."""
        c, s, st = self.c, self.sim.s, self.settings
        men = s.men()
        alive = s.present & (men > 0)
        xs, ys = c.x_km[s.cell], c.y_km[s.cell]
        x = (xs - self._x0) / max(self._x1 - self._x0, 1e-9)
        y = (ys - self._y0) / max(self._y1 - self._y0, 1e-9)
        strength = np.clip(men / np.maximum(c.men0, 1.0), 0.0, 10.0)
        own = self._units[agent]
        feats = np.stack([alive[:, own], x[:, own], y[:, own], strength[:, own], s.supply[:, own], s.fed[:, own],
                          s.morale[:, own], s.fatigue[:, own], s.posture[:, own] / (len(POSTURE_NAMES) - 1),
                          s.broken[:, own]], axis=-1).astype(np.float32)
        feats[..., 1:] *= alive[:, own, None]
        en = self._enemy[agent]
        rng = st.detection_km + (st.air_recon_km if st.air_recon_km and self._presence(agent) > 0.5 else 0.0)
        mine = self._side_units[self._agent_side[agent]]  # a side's units share what they see
        if mine.size and en.size:
            d = np.hypot(xs[:, en, None] - xs[:, None, mine], ys[:, en, None] - ys[:, None, mine])
            d = np.where(alive[:, None, mine], d, np.inf)
            seen = alive[:, en] & (d.min(-1) <= rng)
        else:
            seen = np.zeros((men.shape[0], en.size), bool)
        ef = np.stack([seen, x[:, en], y[:, en], strength[:, en]], axis=-1).astype(np.float32)
        ef[..., 1:] *= seen[..., None]
        t = np.full((men.shape[0], 1), min(s.t / max(c.n_steps, 1), 1.0), np.float32)
        return {"own": np.clip(feats, 0.0, 10.0), "enemy": np.clip(ef, 0.0, 10.0), "time": t}

    def _presence(self, agent: str) -> float:
        """The side's air presence today (a rough view: its aircraft's share of a day's
        presence sorties), for reconnaissance."""
        c, s = self.c, self.sim.s
        k = self._agent_side[agent]
        g = c.group_side == k
        if not g.any():
            return 0.0
        sorties = float((s.aircraft[:, g] * c.group_rate[g]).sum(1).mean())
        return 1.0 - float(np.exp(-sorties / self.c.params.air.presence_sorties_per_day))


class VectorCampaignEnv(CampaignEnv):
    """N replications of a scenario stepped at once (the batched engine), for training speed:
    the same spaces per replication as `CampaignEnv`, with a leading axis N on actions,
    observations, rewards and ends. Replications are 0..N-1 of the seed given to `reset`; one
    that has ended stays frozen (its observation no longer changes, its rewards are 0) until
    every replication has ended. Not a PettingZoo environment: its batch axis is its own."""

    def __init__(self, scenario: Any = "west-hunan-1945", n: int = 1000, settings: EnvSettings | None = None,
                 **engine: Any) -> None:
        super().__init__(scenario, settings, **engine)
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n = int(n)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._seed = int(seed)
        self.sim = Simulation(self.c, np.arange(self.n), self._seed, keep_series=0)
        self.agents = list(self.possible_agents)
        self._last_lost = self._lost()
        self._won = np.zeros(self.n, bool)
        return {a: self._observe(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]) -> tuple[dict, dict, dict, dict, dict]:
        """actions: agent -> (N, n_units, 2). Returns observations (agent -> fields (N, ...)),
        rewards (agent -> (N,)), terminations (agent -> (N,) bool), truncations, infos."""
        sim, c = self.sim, self.c
        if sim is None:
            raise RuntimeError("call reset() before step()")
        posture = np.full((self.n, c.n_units), KEEP, np.int64)
        objective = np.full((self.n, c.n_units), KEEP, np.int64)
        for agent, act in actions.items():
            if agent not in self._units:
                raise ValueError(f"unknown agent {agent!r}; agents: {self.possible_agents}")
            a = np.asarray(act, np.int64).reshape(self.n, len(self._units[agent]), 2)
            posture[:, self._units[agent]] = a[..., 0] - 1
            objective[:, self._units[agent]] = a[..., 1] - 1
        done_before = sim.s.done.copy() | (sim.s.t >= c.n_steps)
        sim.give_orders(posture, objective)
        for _ in range(self.steps_per_action):
            sim.step()
        lost = self._lost()
        d = np.where(done_before[:, None], 0.0, lost - self._last_lost)
        self._last_lost = lost
        w = self.settings.loss_weight / max(self._men_all, 1.0)
        done = sim.s.done | (sim.s.t >= c.n_steps)
        ended_now = done & ~done_before
        rewards = {}
        winner = None
        if ended_now.any():
            winner = sim.results().outcome.winner
        for a in self.possible_agents:
            k = self._agent_side[a]
            r = w * (d[:, self._enemy_sides(a)].sum(1) - d[:, k])
            if winner is not None:
                r = r + np.where(ended_now & (winner >= 0),
                                 self.settings.victory_reward * np.where(winner == k, 1.0, -1.0), 0.0)
            rewards[a] = r
        obs = {a: self._observe(a) for a in self.possible_agents}
        terms = {a: done.copy() for a in self.possible_agents}
        truncs = {a: np.zeros(self.n, bool) for a in self.possible_agents}
        if done.all():
            self.agents = []
        return obs, rewards, terms, truncs, {a: {} for a in self.possible_agents}


class SideEnv(gymnasium.Env):
    """One side of a `CampaignEnv` as a single-agent Gymnasium environment; every other side
    plays the scenario's plan (its action is always "keep")."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, scenario: Any = "west-hunan-1945", side: str | None = None,
                 settings: EnvSettings | None = None, render_mode: str | None = None, **engine: Any) -> None:
        self.env = CampaignEnv(scenario, settings, render_mode=render_mode, **engine)
        self.side = side or self.env.possible_agents[0]
        if self.side not in self.env.possible_agents:
            raise ValueError(f"side {self.side!r} is not in the scenario; sides: {self.env.possible_agents}")
        self.render_mode = render_mode
        self.observation_space = self.env.observation_space(self.side)
        self.action_space = self.env.action_space(self.side)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, infos = self.env.reset(seed=seed, options=options)
        return obs[self.side], infos[self.side]

    def step(self, action):
        acts = {a: np.zeros(self.env.action_space(a).shape, np.int64) for a in self.env.possible_agents}
        acts[self.side] = action
        obs, rew, term, trunc, info = self.env.step(acts)
        return obs[self.side], rew[self.side], term[self.side], trunc[self.side], info[self.side]

    def render(self):
        return self.env.render()
