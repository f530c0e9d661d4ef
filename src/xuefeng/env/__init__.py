"""Xuefeng as a multi-agent environment (PettingZoo `ParallelEnv`, one agent per side).

`CampaignEnv(scenario)` runs one replication of a scenario; each agent (a side) gives, every
`hours_per_action` hours, an order to each of its units: a posture and an objective (a named
place), or "keep" (the unit's last order, at first the scenario's plan). Doctrine still acts on
every unit (halts, call-off, breakpoints: engine/ai.py). An agent that always answers "keep"
plays the scenario's own plan, so two such agents give exactly `xuefeng run`'s campaign.
`SideEnv` is a single-agent Gymnasium view: one side learns, the other plays its plan.
`VectorCampaignEnv(scenario, n)` steps n replications at once.

The contract (spaces, dtypes, fog of war, rewards, the end) is in `docs/environment.md`.
"""

from __future__ import annotations

from xuefeng.env.campaign import CampaignEnv, EnvSettings, SideEnv, VectorCampaignEnv

__all__ = ["CampaignEnv", "EnvSettings", "SideEnv", "VectorCampaignEnv"]
