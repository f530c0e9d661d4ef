"""Plain-data views of a scenario for people and tools (CLI tables, `--json`, web pages).

Kept apart from the CLI so the web layer and notebooks show the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from xuefeng.scenario.schema import Provenance, Scenario, Unit


def _num(x: float) -> float | int:
    """12000.0 -> 12000: whole numbers print as whole numbers."""
    return int(x) if float(x).is_integer() else x


def _prov(p: Provenance) -> dict[str, str | None]:
    return {"source": p.source, "note": p.note}


def subtree_strengths(scenario: Scenario) -> dict[str, float]:
    """Men in each unit and all its subordinates (one pass, no recursion limit)."""
    children: dict[str | None, list[Unit]] = defaultdict(list)
    for u in scenario.units:
        children[u.parent].append(u)
    total: dict[str, float] = {}
    # post-order over an explicit stack; the schema guarantees a tree
    for root in children[None]:
        stack: list[tuple[Unit, bool]] = [(root, False)]
        while stack:
            unit, done = stack.pop()
            if done:
                total[unit.id] = unit.strength.total + sum(total[c.id] for c in children[unit.id])
            else:
                stack.append((unit, True))
                stack.extend((c, False) for c in children[unit.id])
    return total


def order_of_battle(scenario: Scenario) -> dict[str, list[dict[str, Any]]]:
    """Units, air groups and claims as JSON-ready dicts (the `scenario show --json` format)."""
    totals = subtree_strengths(scenario)
    units = [{
        "id": u.id,
        "name": u.name,
        "side": u.side,
        "echelon": u.echelon.value,
        "parent": u.parent,
        "commander": u.commander,
        "strength": _num(u.strength.total),
        "strength_by_arm": {k: _num(v) for k, v in u.strength.model_dump().items()},
        "total_strength": _num(totals[u.id]),
        "provenance": _prov(u.provenance),
    } for u in scenario.units]
    air = [{
        "id": g.id,
        "name": g.name,
        "side": g.side,
        "aircraft": g.aircraft,
        "base": g.base,
        "provenance": _prov(g.provenance),
    } for g in scenario.air_groups]
    claims = [{
        "id": c.id,
        "figure": _num(c.figure),
        "category": c.category.value,
        "side": c.side,
        "source": c.source,
        "unit": c.unit,
        "note": c.note,
        "provenance": _prov(c.provenance),
    } for c in scenario.claims]
    return {"units": units, "air_groups": air, "claims": claims}


def counts(scenario: Scenario) -> dict[str, Any]:
    """What a scenario holds, in numbers (for `validate`'s summary)."""
    th = scenario.theater
    return {
        "units": len(scenario.units),
        "men_by_side": {s.id: _num(scenario.side_strength(s.id)) for s in scenario.meta.sides},
        "air_groups": len(scenario.air_groups),
        "aircraft": sum(g.aircraft for g in scenario.air_groups),
        "claims": len(scenario.claims),
        "events": len(scenario.events),
        "plans": len(scenario.plans),
        "towns": len(th.towns),
        "airfields": len(th.airfields),
        "roads": len(th.roads),
        "rivers": len(th.rivers),
        "bridges": len(th.bridges),
        "terrain_regions": len(th.terrain),
    }
