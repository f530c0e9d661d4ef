"""What-ifs: scenario, parameter and side-setting overrides, run against the
baseline with common random numbers (DESIGN.md §2 "Results and analysis").

An override is a dotted path and a value:

- `params.<sub_model>.<field>`  an engine parameter (`EngineParams`), e.g.
  `params.medical.base_incidence_per_day=0`;
- `sides.<side>.<field>`        a per-side engine setting (`SideConfig`), e.g.
  `sides.japan.guerrilla_intensity=0` (`sides.*.<field>`: every side);
- `sides.<side>.doctrine.<parameter>`  the side's own value of a per-side doctrine
  parameter (ai.SIDE_DOCTRINE), e.g. `sides.germany.doctrine.bypass_ratio=1`;
- anything else                 a field of the scenario, lists entered by item
  id (or index), e.g. `units.116th-division.strength.infantry=20000`,
  `air_groups.usaaf-14th-air-force.aircraft=0`.

Values are read as YAML scalars (`0`, `1.5`, `false`, `motor`). A bad path or
value raises `OverrideError` naming it and listing the valid keys there.

Named what-ifs are data: `whatifs.yaml` beside a scenario's `scenario.yaml`:

    whatifs:
      <name>:
        title: ...
        note: ...                  # why / what it stands for
        changes:
          - set: {PATH: VALUE, ...}
          - update: <scenario list>, where: {field: value}, set: {field: value}, scale: {field: factor}
          - remove: <scenario list>, where: {field: value}

`where` matches items whose (dotted) fields equal all the given values.
Removing units takes out with them their subordinates and every place that
names them (plan phases — a phase or plan left without units goes —, claims,
events). Setting `meta.end` earlier drops what would only happen after it:
units arriving later, plan phases starting later, later events.

The baseline and every variant run the same replication ids with the same
seed (common random numbers), so a change that does nothing gives exactly
zero differences, and paired differences per replication have far smaller
spread than independent runs would.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from xuefeng.results.model import CATEGORIES, Results

WHATIFS_FILE = "whatifs.yaml"
#: z for a two-sided 90% normal interval.
Z90 = 1.6448536269514722


class OverrideError(ValueError):
    """An override path or value that does not fit the scenario, parameters or side settings."""


# --------------------------------------------------------------------------- the variant state


@dataclass(frozen=True)
class Setup:
    """What one run is made of: scenario, engine parameters, engine settings."""

    scenario: Any
    params: Any
    config: Any

    @classmethod
    def baseline(cls, scenario: Any) -> Setup:
        """The scenario with its own engine.yaml, exactly as `simulate` would compile it."""
        from xuefeng.engine.compile import EngineParams, find_engine_config

        cfg = find_engine_config(scenario)
        return cls(scenario=scenario, params=EngineParams().with_overrides(cfg.params), config=cfg)


def parse_assignment(text: str) -> tuple[str, Any]:
    """`PATH=VALUE` -> (path, value read as a YAML scalar)."""
    if "=" not in text:
        raise OverrideError(f"--set '{text}': expected PATH=VALUE (e.g. sides.japan.guerrilla_intensity=0)")
    path, raw = text.split("=", 1)
    path = path.strip()
    if not path or any(not p for p in path.split(".")):
        raise OverrideError(f"--set '{text}': empty path or path part; expected PATH=VALUE")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        value = raw  # e.g. 1945-04-31 or '!!int abc': kept as text, the target's type check judges it
    if isinstance(value, str):
        try:  # YAML 1.1 reads 1e6 as text; a number is what anyone typing it means
            value = float(value) if value.strip().lower() not in ("nan", "inf", "-inf", "infinity") else value
        except ValueError:
            pass
    return path, value


def apply_set(setup: Setup, path: str, value: Any) -> Setup:
    """Setup with one override applied (see the module docstring)."""
    parts = path.split(".")
    if parts[0] == "params":
        return dataclasses.replace(setup, params=_set_param(setup.params, parts, value, path))
    if parts[0] == "sides":
        return dataclasses.replace(setup, config=_set_side(setup, parts, value, path))
    data = setup.scenario.model_dump(mode="json")
    _set_in(data, parts, value, path)
    if parts == ["meta", "end"]:
        _drop_after_end(data, value)
    return dataclasses.replace(setup, scenario=_validate(data, f"{path}={value!r}"))


def _when(x: Any) -> Any:
    """A date of scenario data (a datetime or its ISO text) as a datetime; None if it is none."""
    import datetime as dt

    if x is None or isinstance(x, dt.datetime):
        return x
    try:
        return dt.datetime.fromisoformat(str(x))
    except ValueError:
        return None  # not a date: the schema's check names it


def happens_after(when: Any, end: Any) -> bool:
    """Whether `when` lies after `end` (naive and aware dates compared as the same clock)."""
    when, end = _when(when), _when(end)
    if when is None or end is None:
        return False
    if (when.tzinfo is None) != (end.tzinfo is None):
        end = end.replace(tzinfo=when.tzinfo)
    return when > end


def _drop_after_end(data: dict[str, Any], end: Any) -> None:
    """An earlier end: what would only happen after it does not happen."""
    _withdraw_units(data, {u.get("id") for u in data.get("units", []) if happens_after(u.get("arrival"), end)})
    for plan in data.get("plans", []):
        plan["phases"] = [ph for ph in plan.get("phases", []) if not happens_after(ph.get("start"), end)]
    data["plans"] = [p for p in data.get("plans", []) if p.get("phases")]
    data["events"] = [e for e in data.get("events", []) if not happens_after(e.get("date"), end)]


def with_subordinates(parent_of: dict[Any, Any], ids: set[Any]) -> set[Any]:
    """`ids` and every unit under them (`parent_of`: unit id -> its parent's id or None)."""
    out = set(ids)
    changed = True
    while changed:
        changed = False
        for uid, parent in parent_of.items():
            if parent in out and uid not in out:
                out.add(uid)
                changed = True
    return out


def _withdraw_units(data: dict[str, Any], gone: set[Any]) -> None:
    """Take units out of scenario data with their subordinates and every place that names them."""
    if not gone:
        return
    units = data.get("units", [])
    gone = with_subordinates({u.get("id"): u.get("parent") for u in units}, gone)
    data["units"] = [u for u in units if u.get("id") not in gone]
    for plan in data.get("plans", []):
        for ph in plan.get("phases", []):
            ph["units"] = [u for u in ph.get("units", []) if u not in gone]
        plan["phases"] = [ph for ph in plan.get("phases", []) if ph.get("units")]
    data["plans"] = [p for p in data.get("plans", []) if p.get("phases")]
    data["claims"] = [c for c in data.get("claims", []) if c.get("unit") not in gone]
    for e in data.get("events", []):
        e["units"] = [u for u in e.get("units", []) if u not in gone]


def _known(names: Sequence[str]) -> str:
    names = list(names)
    shown = ", ".join(str(n) for n in names[:200])
    return shown + (f", … ({len(names)} in all)" if len(names) > 200 else "")


def _coerce(current: Any, value: Any, path: str) -> Any:
    """A value of the current value's type (bool/int/float/str/tuple), or OverrideError."""
    def bad(expected: str) -> OverrideError:
        return OverrideError(f"{path}={value!r}: expected {expected}")

    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
        raise bad("true or false")
    if isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise bad("a whole number")
        return int(value)
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            raise bad("a number")
        return float(value)
    if isinstance(current, tuple):
        if not isinstance(value, (list, tuple)) or len(value) != len(current):
            raise bad(f"a list of {len(current)} numbers")
        return tuple(_coerce(c, v, f"{path}[{i}]") for i, (c, v) in enumerate(zip(current, value)))
    if current is None or isinstance(current, str):
        if value is None or isinstance(value, str):
            return value
        raise bad("text")
    return value


def _set_param(params: Any, parts: list[str], value: Any, path: str) -> Any:
    subs = [f.name for f in dataclasses.fields(params)]
    if len(parts) != 3:
        raise OverrideError(f"{path}: engine parameters are params.<sub_model>.<field> "
                            f"(sub-models: {_known(subs)})")
    sub, name = parts[1], parts[2]
    if sub not in subs:
        raise OverrideError(f"{path}: unknown sub-model '{sub}' (valid keys at params: {_known(subs)})")
    cur = getattr(params, sub)
    names = [f.name for f in dataclasses.fields(cur)]
    if name not in names:
        raise OverrideError(f"{path}: unknown parameter '{name}' (valid keys at params.{sub}: {_known(names)})")
    try:  # the engine's own check of an override (the one engine.yaml gets)
        return params.with_overrides({sub: {name: value}})
    except ValueError as e:
        raise OverrideError(f"{path}={value!r}: {str(e).split(': ', 2)[-1]}") from None


def _set_side(setup: Setup, parts: list[str], value: Any, path: str) -> Any:
    from xuefeng.engine.compile import MODE_NAMES, SideConfig

    sides = [s.id for s in setup.scenario.meta.sides]
    fields = [f.name for f in dataclasses.fields(SideConfig)]
    is_doctrine = len(parts) == 4 and parts[2] == "doctrine"
    if len(parts) != 3 and not is_doctrine:
        raise OverrideError(f"{path}: side settings are sides.<side>.<field> or "
                            f"sides.<side>.doctrine.<parameter> (sides: {_known(sides)}; fields: {_known(fields)})")
    sid, name = parts[1], parts[2]
    targets = sides if sid == "*" else [sid]
    if sid != "*" and sid not in sides:
        raise OverrideError(f"{path}: unknown side '{sid}' (valid keys at sides: {_known(sides)}, *)")
    if is_doctrine:
        return _set_doctrine(setup, targets, parts[3], value, path)
    if name not in fields:
        raise OverrideError(f"{path}: unknown side setting '{name}' (valid keys at sides.{sid}: {_known(fields)})")
    cfg = setup.config
    new_sides = dict(cfg.sides)
    for s in targets:
        cur = new_sides.get(s, SideConfig())
        old = getattr(cur, name)
        if name in ("march_mode", "supply_mode"):
            if not ((value is None and name == "supply_mode") or value in MODE_NAMES):
                raise OverrideError(f"{path}={value!r}: expected one of {', '.join(MODE_NAMES)}")
            v = value
        else:
            v = _coerce(old, value, path)
            if isinstance(v, float) and v < 0:
                raise OverrideError(f"{path}={value!r}: expected a value >= 0")
        new_sides[s] = dataclasses.replace(cur, **{name: v})
    return dataclasses.replace(cfg, sides=new_sides)


def _set_doctrine(setup: Setup, targets: list[str], name: str, value: Any, path: str) -> Any:
    """sides.<side>.doctrine.<name>=VALUE: the side's own value of one ai.SIDE_DOCTRINE parameter,
    checked as engine.yaml's `doctrine` is (EngineParams.with_overrides)."""
    from xuefeng.engine.ai import SIDE_DOCTRINE
    from xuefeng.engine.compile import SideConfig

    if name not in SIDE_DOCTRINE:
        raise OverrideError(f"{path}: '{name}' is not a per-side doctrine parameter "
                            f"(valid keys at doctrine: {_known(list(SIDE_DOCTRINE))})")
    cfg = setup.config
    new_sides = dict(cfg.sides)
    for s in targets:
        cur = new_sides.get(s, SideConfig())
        doc = {**(cur.doctrine or {}), name: value}
        try:
            setup.params.with_overrides({"ai": doc})
        except ValueError as e:
            raise OverrideError(f"{path}={value!r}: {str(e).split(': ', 2)[-1]}") from None
        new_sides[s] = dataclasses.replace(cur, doctrine=doc)
    return dataclasses.replace(cfg, sides=new_sides)


def _step(node: Any, key: str, where: str) -> tuple[Any, Any]:
    """(container, key) for one path part inside a dumped scenario."""
    if isinstance(node, dict):
        if key not in node:
            raise OverrideError(f"{where}: no key '{key}' (valid keys at this level: {_known(node)})")
        return node, key
    if isinstance(node, list):
        ids = [x.get("id") for x in node if isinstance(x, dict) and "id" in x]
        for i, x in enumerate(node):
            if isinstance(x, dict) and x.get("id") == key:
                return node, i
        if key.lstrip("-").isdigit() and -len(node) <= int(key) < len(node):
            return node, int(key)
        if ids:
            raise OverrideError(f"{where}: no item with id '{key}' (valid keys at this level: {_known(ids)})")
        raise OverrideError(f"{where}: '{key}' is not an index of this list of {len(node)} items")
    raise OverrideError(f"{where}: cannot go inside a {type(node).__name__} value")


def _set_in(data: Any, parts: list[str], value: Any, path: str) -> None:
    node = data
    for k, part in enumerate(parts):
        where = ".".join(parts[:k + 1]) if k else path
        cont, key = _step(node, part, f"{path} (at '{'.'.join(parts[:k + 1])}')" if k else path)
        if k == len(parts) - 1:
            cur = cont[key]
            if isinstance(cur, (dict, list)):
                inner = list(cur) if isinstance(cur, dict) else \
                    [x.get("id", i) if isinstance(x, dict) else i for i, x in enumerate(cur)]
                raise OverrideError(f"{path}: '{part}' is not a single value; give one of its keys "
                                    f"(valid keys at {where}: {_known(inner)})")
            cont[key] = value
        else:
            node = cont[key]


def _validate(data: dict[str, Any], what: str) -> Any:
    from pydantic import ValidationError

    from xuefeng.scenario.schema import Scenario

    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        msgs = "; ".join(f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()[:5])
        raise OverrideError(f"{what}: the changed scenario is not valid ({msgs})") from None
    except ValueError as e:
        raise OverrideError(f"{what}: the changed scenario is not valid ({e})") from None


# --------------------------------------------------------------------------- named what-ifs (data)


@dataclass(frozen=True)
class WhatIf:
    """A named variant from a scenario's whatifs.yaml (or built from --set)."""

    name: str
    title: str
    changes: tuple[dict[str, Any], ...]
    note: str = ""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "note": self.note, "changes": list(self.changes)}


def find_whatifs_file(scenario_ref: str | Path) -> Path | None:
    from xuefeng.scenario.loader import resolve_scenario_file

    f = resolve_scenario_file(scenario_ref).parent / WHATIFS_FILE
    return f if f.is_file() else None


def load_whatifs(scenario_ref: str | Path) -> dict[str, WhatIf]:
    """The named what-ifs beside a scenario (empty if it has no whatifs.yaml)."""
    f = find_whatifs_file(scenario_ref)
    if f is None:
        return {}
    from xuefeng.scenario.errors import ScenarioError
    from xuefeng.scenario.loader import read_yaml_file

    try:
        raw, src = read_yaml_file(f)  # the scenario's own safe reader: file:line for every problem
    except ScenarioError as e:
        raise OverrideError(str(e)) from None
    raw = raw or {}
    items = raw.get("whatifs") if isinstance(raw, dict) else None
    if not isinstance(items, dict):
        raise OverrideError(str(src.error(("whatifs",), "expected a mapping 'whatifs: {name: {title, changes}}'")))
    out = {}
    for name, d in items.items():
        if not isinstance(d, dict) or not isinstance(d.get("changes"), list):
            raise OverrideError(str(src.error(("whatifs", name), "expected title and a list 'changes'")))
        out[str(name)] = WhatIf(name=str(name), title=str(d.get("title", name)),
                                changes=tuple(d["changes"]), note=str(d.get("note", "")).strip())
    return out


def whatif_from_sets(assignments: Sequence[str], name: str = "set") -> WhatIf:
    """A variant made of --set PATH=VALUE assignments."""
    sets: dict[str, Any] = {}
    for a in assignments:
        p, v = parse_assignment(a)
        sets[p] = v
    return WhatIf(name=name, title=", ".join(assignments), changes=({"set": sets},))


def _get_dotted(item: Any, dotted: str) -> Any:
    cur = item
    for p in dotted.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return _MISSING
        cur = cur[p]
    return cur


_MISSING = object()


def _matches(item: Any, where: dict[str, Any]) -> bool:
    return isinstance(item, dict) and all(_get_dotted(item, k) == v for k, v in (where or {}).items())


def apply_change(setup: Setup, change: dict[str, Any], where_: str) -> Setup:
    """One entry of a what-if's `changes` list."""
    if not isinstance(change, dict):
        raise OverrideError(f"{where_}: expected a mapping with set, update or remove")
    if "update" in change or "remove" in change:
        coll = change.get("update", change.get("remove"))
        data = setup.scenario.model_dump(mode="json")
        # a list of the scenario, top-level (units) or nested by a dotted path (logistics.depots)
        *path, last = str(coll).split(".")
        parent: Any = data
        for key in path:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or not isinstance(parent.get(last), list):
            lists = [k for k, v in data.items() if isinstance(v, list)]
            lists += [f"{k}.{j}" for k, v in data.items() if isinstance(v, dict)
                      for j, w in v.items() if isinstance(w, list)]
            raise OverrideError(f"{where_}: '{coll}' is not a list of the scenario (valid: {_known(lists)})")
        where = change.get("where") or {}
        for key in ("where", "set", "scale"):
            if not isinstance(change.get(key) or {}, dict):
                raise OverrideError(f"{where_}: '{key}' must be a mapping of field: value")
        if any(not isinstance(k, str) for key in ("where", "set", "scale") for k in change.get(key) or {}):
            raise OverrideError(f"{where_}: field names in where/set/scale must be text")
        hit = [x for x in parent[last] if _matches(x, where)]
        if not hit:
            raise OverrideError(f"{where_}: no item of {coll} matches {where}")
        if "remove" in change and coll == "units":
            _withdraw_units(data, {x.get("id") for x in hit})
        elif "remove" in change:
            parent[last] = [x for x in parent[last] if not _matches(x, where)]
        else:
            for item in hit:
                for k, v in (change.get("set") or {}).items():
                    _set_in(item, k.split("."), v, f"{coll}.{item.get('id', '?')}.{k}")
                for k, factor in (change.get("scale") or {}).items():
                    cur = _get_dotted(item, k)
                    if cur is _MISSING or isinstance(cur, bool) or not isinstance(cur, (int, float)):
                        raise OverrideError(f"{where_}: {coll}.{item.get('id', '?')}.{k} is not a number to scale")
                    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor):
                        raise OverrideError(f"{where_}: scale factor for {k} must be a finite number (got {factor!r})")
                    new = cur * float(factor)
                    _set_in(item, k.split("."), int(round(new)) if isinstance(cur, int) else new,
                            f"{coll}.{item.get('id', '?')}.{k}")
        return dataclasses.replace(setup, scenario=_validate(data, where_))
    if "set" in change:
        if not isinstance(change["set"] or {}, dict):
            raise OverrideError(f"{where_}: 'set' must be a mapping of path: value")
        s = setup
        for p, v in (change["set"] or {}).items():
            s = apply_set(s, str(p), v)
        return s
    raise OverrideError(f"{where_}: expected one of set, update, remove (got {sorted(map(str, change))})")


def preflight(setup: Setup, what: str) -> None:
    """Compile the changed scenario once, so that a change the schema allows but the engine
    cannot run (a unit moved off the map …) is reported as the user's error, before any run."""
    from xuefeng.engine import compile_scenario

    try:
        compile_scenario(setup.scenario, params=setup.params, config=setup.config)
    except ValueError as e:
        raise OverrideError(f"{what}: the changed scenario cannot run: {e}") from None


def apply_whatif(setup: Setup, whatif: WhatIf) -> Setup:
    s = setup
    for i, ch in enumerate(whatif.changes):
        s = apply_change(s, ch, f"what-if '{whatif.name}' change {i + 1}")
    return s


# --------------------------------------------------------------------------- outcomes and differences


def outcome_table(results: Results, start: Any = None) -> dict[str, np.ndarray]:
    """Per-replication outcomes, one array each (the figures a what-if compares)."""
    o = results.outcome
    out: dict[str, np.ndarray] = {}
    w = np.asarray(o.winner)
    for i, s in enumerate(results.sides):
        out[f"p_victory.{s}"] = (w == i).astype(float)
    out["p_objective_lost"] = np.asarray(o.objective_lost, dtype=float)
    out["advance_km"] = np.asarray(o.advance_km, dtype=float)
    t0 = np.datetime64(results.start.replace(tzinfo=None), "s")
    out["end_day"] = (np.asarray(o.end_time).astype("datetime64[s]") - t0).astype(float) / 86400.0
    sl = results.side_ledger()
    for i, s in enumerate(results.sides):
        for j, c in enumerate(CATEGORIES):
            if c == "returned_to_duty":
                continue
            out[f"casualties.{s}.{c}"] = sl[:, i, j]
    out["civilian_casualties"] = np.asarray(results.civilian_casualties, dtype=float)
    air = np.asarray(results.aircrew_lost, dtype=float)
    for i, s in enumerate(results.sides):
        out[f"aircrew_lost.{s}"] = air[:, i]
    return out


def paired_difference(base: np.ndarray, var: np.ndarray) -> dict[str, float]:
    """Mean of both, mean paired difference and its 90% normal interval (mean ± 1.645 sd/√n)."""
    d = np.asarray(var, float) - np.asarray(base, float)
    n = d.size
    mean = float(d.mean()) if n else math.nan
    half = Z90 * float(d.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return {"baseline": float(np.mean(base)) if n else math.nan, "variant": float(np.mean(var)) if n else math.nan,
            "difference": mean, "p05": mean - half if n > 1 else math.nan,
            "p95": mean + half if n > 1 else math.nan}


def compare(baseline: Results, variant: Results) -> dict[str, dict[str, float]]:
    """Every outcome's paired difference variant − baseline (same replication ids required)."""
    if not np.array_equal(baseline.replication_ids, variant.replication_ids):
        raise ValueError("what-if comparison needs the same replication ids in both runs")
    b, v = outcome_table(baseline), outcome_table(variant)
    return {k: paired_difference(b[k], v[k]) for k in b if k in v}


@dataclass
class WhatIfReport:
    scenario: str
    replications: int
    seed: int
    baseline: dict[str, float]
    variants: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "replications": self.replications, "seed": self.seed,
                "interval": "90% normal interval of the mean paired difference (common random numbers)",
                "baseline": self.baseline, "variants": self.variants}


def run_whatifs(scenario: Any, whatifs: Sequence[WhatIf], replications: int, seed: int, *,
                chunk: int = 100, workers: int = 1, scheduler: str | None = None, until: Any = None,
                progress: Callable[[str, int, int, int], None] | None = None) -> WhatIfReport:
    """Run the baseline and every what-if with the same seed and replication ids; compare.

    All variants are built (and checked) before anything runs, so a bad
    override fails at once. `progress(label, done_chunks, total_chunks, done_reps)`."""
    from xuefeng.analysis.ensemble import run_ensemble

    base = Setup.baseline(scenario)
    setups = [(w, apply_whatif(base, w)) for w in whatifs]
    for w, s in setups:
        preflight(s, f"what-if '{w.name}'")

    def run(label: str, s: Setup) -> Results:
        cb = (lambda d, t, r: progress(label, d, t, r)) if progress else None
        return run_ensemble(s.scenario, replications, seed, chunk=chunk, workers=workers, scheduler=scheduler,
                            params=s.params, config=s.config, until=until, keep_series=0, progress=cb).results

    b = run("baseline", base)
    b_tab = outcome_table(b)
    report = WhatIfReport(scenario=scenario.meta.name, replications=replications, seed=seed,
                          baseline={k: float(np.mean(v)) for k, v in b_tab.items()})
    for w, s in setups:
        r = run(w.name, s)
        report.variants.append({**w.describe(), "outcomes": compare(b, r)})
    return report
