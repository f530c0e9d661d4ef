"""The campaign engine (DESIGN.md §2 "Engine"): compiled state arrays advanced
N replications at a time, one module per phase / sub-model.

    from xuefeng.engine import simulate
    results = simulate(scenario, replications=100, seed=1)

Parameters: `EngineParams` bundles one frozen dataclass per sub-model
(movement.MovementModelParams, combat.CombatParams, air.AirParams,
supply.SupplyParams, medical.MedicalParams, command.CommandParams,
guerrillas.GuerrillaParams, civilians.CivilianParams, ai.AIParams); a
scenario's `engine.yaml` may override them and set per-side settings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np

from xuefeng.engine.compile import Compiled, EngineConfig, EngineParams, SideConfig, compile_scenario
from xuefeng.engine.core import Simulation
from xuefeng.results.io import concat
from xuefeng.results.model import CATEGORIES, Results

__all__ = ["simulate", "estimate_bytes", "batch_size", "compile_scenario", "Compiled", "EngineParams", "EngineConfig",
           "SideConfig", "Simulation", "parameter_table"]

#: Replications stepped together in one batch (bounds memory of the (R,U,U) masks). Measured on
#: West Hunan, 2,000 replications in one process: 129/s with 256, 158/s with 512, 171/s with
#: 1,000 and 165/s with 2,000 (per-step overhead against cache-sized arrays).
BATCH = 1024
#: Most bytes the per-step unit-pair arrays of one batch may take (contact mask and attack
#: shares, about 16 bytes per unit pair and replication): scenarios with many units step
#: fewer replications at a time (`batch_size`).
PAIR_BYTES = 256 * 2**20


def batch_size(units: int) -> int:
    """Replications stepped together for a scenario with this many manoeuvre units: BATCH,
    or fewer where the (R,U,U) arrays would pass PAIR_BYTES (never below 64)."""
    fit = PAIR_BYTES // max(16 * units * units, 1)
    return int(min(BATCH, max(64, fit)))


def simulate(scenario: Any, replications: int, seed: int, keep_series: int = 1,
             progress: Callable[[int, int], None] | None = None, until: dt.datetime | None = None,
             *, params: EngineParams | None = None, config: EngineConfig | None = None,
             engagement: Any = None, first_replication: int = 0, hexmap: Any = None) -> Results:
    """Run `replications` replications of `scenario` with `seed`.

    Replication i (global id first_replication + i) is bit-identical whatever the
    batch size. `keep_series`: how many replications (the first ones) keep full
    per-step time series and engagement events. `progress(done, total)` is called
    after each step with steps done and the step count. `until` stops earlier
    than the scenario's end.
    """
    if replications < 1:
        raise ValueError("replications must be >= 1")
    c = compile_scenario(scenario, hexmap=hexmap, params=params, config=config, until=until)
    rids = np.arange(first_replication, first_replication + replications, dtype=np.int64)
    parts: list[Results] = []
    B = batch_size(c.n_units)
    for b0 in range(0, replications, B):
        ids = rids[b0:b0 + B]
        keep = max(0, min(keep_series - b0, len(ids)))
        sim = Simulation(c, ids, seed, keep_series=keep, engagement=engagement)
        if progress is not None and replications > B:
            total = c.n_steps * ((replications + B - 1) // B)
            done0 = c.n_steps * (b0 // B)
            sim.run(lambda d, n: progress(done0 + d, total))
        else:
            sim.run(progress)
        parts.append(sim.results(scenario.meta.name))
    return parts[0] if len(parts) == 1 else concat(parts)


def estimate_bytes(scenario: Any, replications: int, keep_series: int) -> int:
    """Rough upper bound of the memory a run needs (bytes): state and ledger for a batch,
    per-replication outcome, the kept series and events."""
    units = sum(1 for u in scenario.units if u.committed and (u.location is not None or u.arrival is not None)
                and u.echelon.value in ("division", "brigade", "regiment", "battalion", "group"))
    steps = int((scenario.meta.end - scenario.meta.start).total_seconds() // (3600 * scenario.meta.time_step_hours)) + 1
    batch = min(replications, batch_size(units))
    # state arrays, twice (stepped rows and the batch-wide copy), and the unit-pair arrays
    state = 2 * batch * units * (40 * 8) + batch * units * units * 16 * 2
    ledger = replications * units * len(CATEGORIES) * 8
    outcome = replications * (units + 8) * 8
    series = min(keep_series, replications) * steps * units * 7 * 8
    events = replications * 200 * 120 + min(keep_series, replications) * steps * units * 120
    return int(state + ledger + outcome + series + events)


def parameter_table(params: EngineParams | None = None) -> list[dict[str, Any]]:
    """Every engine parameter: sub-model, name, value, its range (the values an override may
    take) and its documentation (meaning, unit, source or 'assumption: reason'), read from the
    docstrings under each dataclass field."""
    import ast

    from xuefeng.engine.compile import parameter_range
    import dataclasses
    import inspect

    p = params or EngineParams()
    rows: list[dict[str, Any]] = []
    for f in dataclasses.fields(p):
        sub = getattr(p, f.name)
        cls = type(sub)
        tree = ast.parse(inspect.getsource(cls))
        docs: dict[str, str] = {}
        body = tree.body[0].body  # type: ignore[attr-defined]
        for a, b in zip(body, body[1:]):
            if isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name) and isinstance(b, ast.Expr) \
                    and isinstance(b.value, ast.Constant) and isinstance(b.value.value, str):
                docs[a.target.id] = " ".join(b.value.value.split())
        for g in dataclasses.fields(sub):
            rows.append({"sub_model": f.name, "name": g.name, "value": getattr(sub, g.name),
                         "range": parameter_range(f.name, g.name), "doc": docs.get(g.name, "")})
    return rows
