"""Metamorphic checks of the campaign model (`xuefeng check-model`).

A model that reproduces a campaign's figures can still be wrong in how it gets
there; these checks hold it to the direction of its causes. Each check runs a
variant of the scenario against the baseline with the same seed and
replication ids (common random numbers) and compares outcomes:

* no defender: the side that holds the victory objective commits no forces —
  the attacker takes the objective in at least 95% of replications;
* attacker x0.5: the attacker's forces (men, and the transport and stocks that
  supply them) halved — its furthest advance falls by at least 5 km;
* attacker x2: it advances at least 5 km further and wins at least 0.15 more
  often;
* no defender air: the defender's air groups fly no sorties and its air
  arrivals (an airlift) never come — the attacker wins at least 0.10 more often
  and advances at least 15 km further (where the defender has air power);
* step length: the campaign run with steps of 3 and 12 hours against the
  scenario's step: furthest advance within 15%, the defender's battle
  casualties within 20%, P(attacker victory) within 0.10.

The variants are built from the scenario's victory condition (who holds, who
attacks), so the checks run on any scenario that has one; nothing here knows
a campaign. The thresholds are those of the project's causal-model issue.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xuefeng.analysis.whatif import Setup, WhatIf, apply_whatif, outcome_table
from xuefeng.results.model import Results

#: Ledger categories that count as battle casualties.
BATTLE = ("killed", "wounded", "missing", "captured")
STRENGTH_FIELDS = ("strength.infantry", "strength.artillery", "strength.armor", "strength.support")


@dataclass
class Check:
    """One metamorphic check: its variant, what is compared and whether it holds."""

    name: str
    claim: str
    holds: bool | None  # None: not applicable to this scenario
    figures: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "claim": self.claim, "holds": self.holds, "figures": self.figures,
                "note": self.note}


@dataclass
class CheckReport:
    scenario: str
    replications: int
    seed: int
    checks: list[Check]

    @property
    def all_hold(self) -> bool:
        return all(c.holds is not False for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "replications": self.replications, "seed": self.seed,
                "all_hold": self.all_hold, "checks": [c.as_dict() for c in self.checks]}


def sides_of(scenario: Any) -> tuple[str, str]:
    """(defender, attacker) side ids from the scenario's first victory condition: the holder of
    the objective, and the side whose plan aims at it (else the other side)."""
    if not scenario.victory:
        raise ValueError(f"scenario '{scenario.meta.name}' has no victory condition; the model checks "
                         "need one (who holds which objective)")
    v = scenario.victory[0]
    holder = v.side
    others = [s.id for s in scenario.meta.sides if s.id != holder]
    if not others:
        raise ValueError(f"scenario '{scenario.meta.name}' has one side; the model checks need two")
    aiming = [p.side for p in getattr(scenario, "plans", []) or []
              if p.side != holder and any(getattr(ph, "objective", None) == v.objective for ph in p.phases)]
    return holder, (aiming[0] if aiming else others[0])


def _scale(scenario: Any, side: str, factor: float) -> tuple[dict[str, Any], ...]:
    """A side's forces scaled by `factor`: its units' men, and with them the transport and the
    stocks that supply them (a force comes with its trains; scaling the men alone would test
    the supply system, not the force)."""
    ch: list[dict[str, Any]] = [{"update": "units", "where": {"side": side},
                                 "scale": {f: factor for f in STRENGTH_FIELDS}}]
    if any(t.side == side for t in scenario.logistics.transport):
        ch.append({"update": "logistics.transport", "where": {"side": side},
                   "scale": {"capacity_tons_per_day": factor}})
    if any(d.side == side for d in scenario.logistics.depots):
        ch.append({"update": "logistics.depots", "where": {"side": side}, "scale": {"stock_tons": factor}})
    return tuple(ch)


def variants(scenario: Any) -> dict[str, WhatIf]:
    """The checks' variants of `scenario` (what-ifs, so they apply through the one override
    mechanism every command uses)."""
    holder, attacker = sides_of(scenario)
    out = {
        "no-defender": WhatIf("no-defender", f"{holder} commits no forces",
                              ({"update": "units", "where": {"side": holder}, "set": {"committed": False}},)),
        "attacker-x0.5": WhatIf("attacker-x0.5", f"{attacker} forces x0.5", _scale(scenario, attacker, 0.5)),
        "attacker-x2": WhatIf("attacker-x2", f"{attacker} forces x2", _scale(scenario, attacker, 2.0)),
    }
    air = [g for g in scenario.air_groups if g.side == holder]
    by_air = [u for u in scenario.units if u.side == holder and getattr(u, "arrival_mode", None) is not None
              and str(getattr(u.arrival_mode, "value", u.arrival_mode)) == "air"]
    if air or by_air:
        ch: list[dict[str, Any]] = []
        if air:
            ch.append({"update": "air_groups", "where": {"side": holder}, "set": {"aircraft": 0}})
        if by_air:
            ch.append({"update": "units", "where": {"side": holder, "arrival_mode": "air"},
                       "set": {"committed": False}})
        out["no-defender-air"] = WhatIf("no-defender-air", f"{holder}: no aircraft, no air arrivals", tuple(ch))
    step = scenario.meta.time_step_hours
    for h in (3, 12):
        if h != step:
            out[f"step-{h}h"] = WhatIf(f"step-{h}h", f"{h}-hour steps", ({"set": {"meta.time_step_hours": h}},))
    return out


def _battle(results: Results, side: str) -> np.ndarray:
    tab = outcome_table(results)
    return sum(tab[f"casualties.{side}.{c}"] for c in BATTLE)


def _figures(results: Results, attacker: str, holder: str) -> dict[str, float]:
    tab = outcome_table(results)
    return {"p_attacker_victory": float(np.mean(tab[f"p_victory.{attacker}"])),
            "advance_km": float(np.mean(tab["advance_km"])),
            "defender_battle_casualties": float(np.mean(_battle(results, holder)))}


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-9)


def evaluate(base: dict[str, float], var: dict[str, dict[str, float]], step: int) -> list[Check]:
    """The checks from the baseline's and each variant's mean figures."""
    out: list[Check] = []

    def fig(name: str) -> dict[str, float] | None:
        return var.get(name)

    v = fig("no-defender")
    if v is not None:
        out.append(Check("no-defender", "no defending forces: attacker wins >= 0.95",
                         v["p_attacker_victory"] >= 0.95, {"p_attacker_victory": v["p_attacker_victory"]}))
    v = fig("attacker-x0.5")
    if v is not None:
        d = v["advance_km"] - base["advance_km"]
        out.append(Check("attacker-x0.5", "attacker x0.5: advance >= 5 km less", d <= -5.0,
                         {"advance_km": v["advance_km"], "advance_difference_km": d}))
    v = fig("attacker-x2")
    if v is not None:
        d = v["advance_km"] - base["advance_km"]
        dp = v["p_attacker_victory"] - base["p_attacker_victory"]
        out.append(Check("attacker-x2", "attacker x2: advance >= 5 km further, wins >= 0.15 more often",
                         d >= 5.0 and dp >= 0.15,
                         {"advance_difference_km": d, "p_attacker_victory": v["p_attacker_victory"],
                          "victory_difference": dp}))
    v = fig("no-defender-air")
    if v is not None:
        d = v["advance_km"] - base["advance_km"]
        dp = v["p_attacker_victory"] - base["p_attacker_victory"]
        out.append(Check("no-defender-air", "no defender air or air arrivals: attacker wins >= 0.10 more often "
                                            "and advances >= 15 km further", d >= 15.0 and dp >= 0.10,
                         {"advance_difference_km": d, "p_attacker_victory": v["p_attacker_victory"],
                          "victory_difference": dp}))
    else:
        out.append(Check("no-defender-air", "no defender air or air arrivals", None, note="the defender has none"))
    for h in (3, 12):
        v = fig(f"step-{h}h")
        if v is None:
            continue
        ra = _rel(v["advance_km"], base["advance_km"])
        rc = _rel(v["defender_battle_casualties"], base["defender_battle_casualties"])
        dp = abs(v["p_attacker_victory"] - base["p_attacker_victory"])
        out.append(Check(f"step-{h}h", f"{h} h steps against {step} h: advance within 15%, defender battle "
                                       "casualties within 20%, P(attacker victory) within 0.10",
                         ra <= 0.15 and rc <= 0.20 and dp <= 0.10,
                         {"advance_km": v["advance_km"], "advance_rel": ra,
                          "defender_battle_casualties": v["defender_battle_casualties"], "casualties_rel": rc,
                          "victory_difference": dp}))
    return out


def check_model(scenario: Any, replications: int = 200, seed: int = 0, *, workers: int = 1,
                only: list[str] | None = None,
                progress: Callable[[str, int, int, int], None] | None = None) -> CheckReport:
    """Run the baseline and every check's variant (common random numbers) and evaluate the checks."""
    from xuefeng.analysis.ensemble import default_chunk, run_ensemble

    holder, attacker = sides_of(scenario)
    base = Setup.baseline(scenario)
    vs = variants(scenario)
    if only:
        vs = {k: v for k, v in vs.items() if k in only}
    chunk = default_chunk(replications, workers)

    def run(label: str, s: Setup) -> Results:
        cb = (lambda d, t, r: progress(label, d, t, r)) if progress else None
        return run_ensemble(s.scenario, replications, seed, chunk=chunk, workers=workers, params=s.params,
                            config=s.config, keep_series=0, progress=cb).results

    b = _figures(run("baseline", base), attacker, holder)
    figs = {name: _figures(run(name, apply_whatif(base, w)), attacker, holder) for name, w in vs.items()}
    checks = evaluate(b, figs, scenario.meta.time_step_hours)
    checks.insert(0, Check("baseline", "the scenario as written", None,
                           {k: (round(v, 4) if math.isfinite(v) else v) for k, v in b.items()}))
    return CheckReport(scenario=scenario.meta.name, replications=replications, seed=seed, checks=checks)
