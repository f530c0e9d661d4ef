"""The notebook API: Xuefeng in a few calls, re-exported at the package's top level.

    import xuefeng as xf
    sc = xf.load_scenario("west-hunan-1945")                 # a packaged name or a folder
    v = xf.change(sc, {"units.116th-division.strength.infantry": 20000,
                       "params.medical.base_incidence_per_day": 0})
    v = xf.remove(v, "air_groups", id="usaaf-14th-air-force")
    xf.save_scenario(v, "my-variant/")                        # YAML + GeoJSON; `xuefeng validate` accepts it
    r = xf.run(v, replications=20, seed=1)
    r.to_dataframe("outcome"); r.to_dataframe("ledger"); r.to_dataframe("events"); r.time_series()
    big = xf.load_results("runs/big")                         # a run folder or a whole ensemble folder

Why a facade: the parts it joins (scenario loading, the what-if overrides, ensembles, results
files) each have their own module and vocabulary; a notebook user needs one place and plain
pandas/xarray objects. Nothing here adds a mechanism: a variant is made with the what-if
operations of `xuefeng.analysis.whatif` (engine parameters checked by
`EngineParams.with_overrides`), runs go through `xuefeng.analysis.ensemble.run_ensemble`, files
through `xuefeng.results.io`.

A variant is always a complete `Scenario`: changes of engine parameters (`params.*`) and side
settings (`sides.*`) are written into its `engine_settings` (the scenario's `engine.yaml`), so
the variant runs, saves and loads back as one object. See docs/python-api.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from xuefeng.analysis.whatif import OverrideError, WhatIf
from xuefeng.results.io import ResultsFileError
from xuefeng.results.model import Results
from xuefeng.scenario import Scenario, ScenarioError, list_scenarios, load_scenario

__all__ = [
    "OverrideError", "Results", "ResultsFileError", "Scenario", "ScenarioError", "WhatIf",
    "apply_whatif", "change", "compare", "iter_chunks", "list_scenarios", "load_results",
    "load_scenario", "parameters", "remove", "run", "save_scenario", "update", "whatifs",
]

#: Files `save_scenario` writes (companions only when asked for and still valid).
SCENARIO_FILE = "scenario.yaml"
MAP_FILE = "map.geojson"
ENGINE_FILE = "engine.yaml"
TARGETS_FILE = "history_targets.yaml"
WHATIFS_FILE = "whatifs.yaml"
_WRITTEN = (SCENARIO_FILE, MAP_FILE, ENGINE_FILE, TARGETS_FILE, WHATIFS_FILE)


def _scenario(source: Scenario | str | os.PathLike[str]) -> Scenario:
    return source if isinstance(source, Scenario) else load_scenario(source)


# --------------------------------------------------------------------------- variants


def _setup(scenario: Scenario) -> Any:
    from xuefeng.analysis.whatif import Setup

    return Setup.baseline(scenario)


def _validated(data: dict[str, Any], what: str) -> Scenario:
    from xuefeng.analysis.whatif import _validate

    return _validate(data, what)


def _json_value(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _set_one(scenario: Scenario, path: str, value: Any) -> Scenario:
    """One `PATH=VALUE` override (the `--set` syntax), folded into the scenario.

    Engine parameters and side settings are applied and checked by the what-if mechanism
    (`apply_set`, which calls `EngineParams.with_overrides`); the checked value is then written
    into the scenario's engine settings, so the variant carries it."""
    from xuefeng.analysis.whatif import apply_set

    changed = apply_set(_setup(scenario), path, value)
    head, *rest = path.split(".")
    if head not in ("params", "sides"):
        return changed.scenario
    data = scenario.model_dump(mode="json")
    settings = data.setdefault("engine_settings", {})
    if head == "params":
        sub, name = rest
        checked = getattr(getattr(changed.params, sub), name)
        settings.setdefault("params", {}).setdefault(sub, {})[name] = _json_value(checked)
    else:
        sid, name = rest
        targets = [s.id for s in scenario.meta.sides] if sid == "*" else [sid]
        for s in targets:
            entry = settings.setdefault("sides", {}).setdefault(s, {})
            entry[name] = getattr(changed.config.sides[s], name)
    return _validated(data, f"{path}={value!r}")


def change(scenario: Scenario, changes: Mapping[str, Any]) -> Scenario:
    """A copy of `scenario` with `{path: value}` overrides applied, in order.

    Paths are those of `xuefeng whatif --set`: a scenario field with list items entered by id
    (`units.116th-division.strength.infantry`, `air_groups.usaaf-14th-air-force.aircraft`,
    `meta.name`), an engine parameter (`params.medical.base_incidence_per_day`) or a side
    setting (`sides.japan.march_mode`, `sides.*.guerrilla_intensity`). A bad path or value
    raises `OverrideError` naming it and listing the valid keys."""
    out = scenario
    for path, value in changes.items():
        out = _set_one(out, str(path), value)
    return out


def _where(where: Mapping[str, Any] | None, fields: Mapping[str, Any], what: str) -> dict[str, Any]:
    match = {**(where or {}), **fields}
    if not match:
        raise OverrideError(f"{what}: give the fields an item must match, e.g. id='...' "
                            "(an empty match would take every item)")
    return match


def remove(scenario: Scenario, collection: str, where: Mapping[str, Any] | None = None,
           **fields: Any) -> Scenario:
    """A copy of `scenario` without the items of a list that match every given field.

    `remove(sc, "air_groups", id="usaaf-14th-air-force")`, `remove(sc, "events", kind="airlift")`;
    dotted fields go in `where` (`where={"strength.armor": 0}`), nested lists by a dotted name
    (`"logistics.depots"`). No match raises `OverrideError`."""
    from xuefeng.analysis.whatif import apply_change

    match = _where(where, fields, f"remove {collection}")
    return apply_change(_setup(scenario), {"remove": collection, "where": match},
                        f"remove {collection} where {match}").scenario


def update(scenario: Scenario, collection: str, where: Mapping[str, Any] | None = None, *,
           values: Mapping[str, Any] | None = None, scale: Mapping[str, float] | None = None,
           **fields: Any) -> Scenario:
    """A copy of `scenario` whose matching list items get `values` set and `scale` factors
    applied (the `update` change of whatifs.yaml), e.g. every Japanese unit's infantry ×1.25:
    `update(sc, "units", side="japan", scale={"strength.infantry": 1.25})`."""
    from xuefeng.analysis.whatif import apply_change

    match = _where(where, fields, f"update {collection}")
    ch = {"update": collection, "where": match, "set": dict(values or {}), "scale": dict(scale or {})}
    return apply_change(_setup(scenario), ch, f"update {collection} where {match}").scenario


def whatifs(source: str | os.PathLike[str]) -> dict[str, WhatIf]:
    """The named what-ifs of a scenario (its whatifs.yaml), by name; empty if it has none."""
    from xuefeng.analysis.whatif import load_whatifs

    return load_whatifs(source)


def apply_whatif(scenario: Scenario, whatif: WhatIf | str, source: str | os.PathLike[str] | None = None) -> Scenario:
    """A copy of `scenario` with a named what-if applied (a `WhatIf`, or a name looked up in
    the what-ifs of `source`, by default the packaged scenario of the scenario's own name)."""
    from xuefeng.analysis.whatif import apply_change

    if isinstance(whatif, str):
        known = whatifs(source if source is not None else scenario.meta.name)
        if whatif not in known:
            raise OverrideError(f"unknown what-if '{whatif}' (known: {', '.join(known) or 'none'})")
        whatif = known[whatif]
    out = scenario
    for i, ch in enumerate(whatif.changes):
        where = f"what-if '{whatif.name}' change {i + 1}"
        if isinstance(ch, dict) and "set" in ch and not ({"update", "remove"} & set(ch)):
            if not isinstance(ch["set"] or {}, dict):
                raise OverrideError(f"{where}: 'set' must be a mapping of path: value")
            out = change(out, ch["set"] or {})
        else:
            out = apply_change(_setup(out), ch, where).scenario
    return out


def parameters(scenario: Scenario | None = None) -> pd.DataFrame:
    """Every engine parameter (sub_model, name, value, doc): the names `change` takes as
    `params.<sub_model>.<name>`; values are the scenario's where one is given."""
    from xuefeng.engine import parameter_table

    params = _setup(scenario).params if scenario is not None else None
    return pd.DataFrame(parameter_table(params), columns=["sub_model", "name", "value", "doc"])


# --------------------------------------------------------------------------- writing a scenario


def _layer_names() -> dict[str, str]:
    """Theater list -> GeoJSON layer name (the inverse of xuefeng.scenario.geojson.LAYERS)."""
    from xuefeng.scenario.geojson import LAYERS

    return {target: layer for layer, (target, _) in LAYERS.items()}


def _feature(layer: str, item: dict[str, Any]) -> dict[str, Any]:
    props = {"layer": layer}
    geometry: dict[str, Any]
    rest = dict(item)
    if "location" in rest:
        loc = rest.pop("location")
        geometry = {"type": "Point", "coordinates": [loc["lon"], loc["lat"]]}
    elif "polygon" in rest:
        geometry = {"type": "Polygon", "coordinates": [rest.pop("polygon")]}
    else:
        geometry = {"type": "LineString", "coordinates": rest.pop("coordinates")}
    props.update(rest)
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _month_keys(d: dict[str, Any]) -> None:
    """JSON dumps make month keys text; write them back as numbers, as a person would."""
    for key in ("rain_probability_by_month", "disease_season_by_month"):
        months = (d.get("climate") or {}).get(key)
        if isinstance(months, dict):
            d["climate"][key] = {int(k): v for k, v in months.items()}


def _yaml(obj: Any) -> str:
    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)


def _scenario_files(scenario: Scenario) -> dict[str, str]:
    """scenario.yaml, map.geojson and engine.yaml of a scenario, as text.

    Fields at their defaults are left out (they load back the same); map features go to
    map.geojson, one feature a line; engine settings to engine.yaml, as the loader expects."""
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    settings = data.pop("engine_settings", None)
    theater = data.setdefault("theater", {})
    features = []
    for target, layer in _layer_names().items():
        for item in theater.pop(target, None) or []:
            features.append(_feature(layer, item))
    files: dict[str, str] = {}
    if features:
        theater["layers"] = [MAP_FILE]
        lines = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
        files[MAP_FILE] = '{\n"type": "FeatureCollection",\n"features": [\n' + lines + "\n]\n}\n"
    else:
        theater.pop("layers", None)
    head = f"# Scenario '{scenario.meta.name}', written by xuefeng.save_scenario. Format: docs/scenario-format.md.\n"
    files[SCENARIO_FILE] = head + _yaml(data)
    if settings:
        _month_keys(settings)
        files[ENGINE_FILE] = "# Engine settings of this scenario (docs/scenario-format.md, \"Engine settings\").\n" \
            + _yaml(settings)
    return files


def _companions(scenario: Scenario, source: str | os.PathLike[str]) -> dict[str, str]:
    """The history targets and what-ifs of `source` that still hold for `scenario`.

    The targets file is copied whole if every target's units, sides and places exist in the
    variant; what-ifs that no longer apply (one that changes an air group the variant removed)
    are left out with a warning, the others kept as written."""
    from xuefeng.analysis.targets import TargetsError, check_against, find_targets_file, load_targets
    from xuefeng.analysis.whatif import Setup, apply_whatif as apply_named, find_whatifs_file, load_whatifs, \
        preflight
    from xuefeng.scenario.loader import read_yaml_file

    out: dict[str, str] = {}
    f = find_targets_file(source)
    if f is not None:
        try:
            check_against(load_targets(f), scenario)
            out[TARGETS_FILE] = f.read_text(encoding="utf-8")
        except TargetsError as e:
            warnings.warn(f"{TARGETS_FILE} of '{source}' left out: it does not fit the variant ({e})",
                          stacklevel=3)
    f = find_whatifs_file(source)
    if f is not None:
        base = Setup.baseline(scenario)
        dropped: dict[str, str] = {}
        for name, w in load_whatifs(source).items():
            try:
                preflight(apply_named(base, w), f"what-if '{name}'")
            except OverrideError as e:
                dropped[name] = str(e)
        if not dropped:
            out[WHATIFS_FILE] = f.read_text(encoding="utf-8")
        else:
            raw, _ = read_yaml_file(f)
            kept = {k: v for k, v in raw["whatifs"].items() if str(k) not in dropped}
            if kept:
                out[WHATIFS_FILE] = (f"# What-ifs of '{source}' that apply to this variant "
                                     f"(left out: {', '.join(dropped)}).\n") + _yaml({"whatifs": kept})
            warnings.warn(f"{WHATIFS_FILE}: what-if(s) left out, they do not apply to the variant: "
                          + "; ".join(dropped.values()), stacklevel=3)
    return out


def save_scenario(scenario: Scenario, folder: str | os.PathLike[str], *,
                  companions_from: str | os.PathLike[str] | None = None, overwrite: bool = False) -> Path:
    """Write `scenario` as a scenario folder (scenario.yaml, map.geojson, engine.yaml) that
    `xuefeng validate` accepts and `load_scenario` reads back equal. Returns the folder.

    `companions_from`: a scenario (packaged name or folder) whose history_targets.yaml and
    whatifs.yaml are copied where they still fit the variant (see `_companions`). The folder
    must be new or empty unless `overwrite`, which replaces the five scenario files there and
    removes those of them this save does not write (other files stay). Files are written into
    a temporary folder beside it and moved into place, so an error leaves no half-written
    scenario."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target}: exists and is not a folder; give a folder path")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise FileExistsError(f"{target}: the folder is not empty; choose a new folder or pass overwrite=True")
    files = _scenario_files(scenario)
    if companions_from is not None:
        files.update(_companions(scenario, companions_from))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        load_scenario(tmp)  # what was written must load (a bug here must not leave a broken folder)
        target.mkdir(exist_ok=True)
        for name in _WRITTEN:
            if name not in files:
                (target / name).unlink(missing_ok=True)  # a stale file of an earlier save
        for name in files:
            os.replace(tmp / name, target / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# --------------------------------------------------------------------------- running


def run(scenario: Scenario | str | os.PathLike[str], replications: int = 100, seed: int = 0, *,
        keep_series: int = 1, workers: int = 1, chunk: int | None = None,
        out: str | os.PathLike[str] | None = None, resume: bool = False, until: dt.datetime | None = None,
        progress: Callable[[int, int, int], None] | None = None) -> Results:
    """Run `replications` replications of a scenario (object, packaged name or folder) with
    `seed`; the same seed gives bit-identical results whatever `workers` or `chunk`.

    `keep_series`: how many replications (the first) keep per-step time series and engagement
    events. `workers` > 1: local processes. `out`: also save it as an ensemble folder (chunks
    written as they finish; `resume=True` finishes an interrupted one), readable by
    `load_results` and the CLI. `progress(done_chunks, total_chunks, done_replications)`."""
    from xuefeng.analysis.ensemble import default_chunk, run_ensemble

    sc = _scenario(scenario)
    n = int(replications)
    if n < 1:
        raise ValueError(f"replications={replications!r}: give a whole number >= 1")
    size = int(chunk) if chunk is not None else default_chunk(n, workers)
    return run_ensemble(sc, n, int(seed), chunk=size, workers=int(workers), out=out, resume=resume,
                        until=until, keep_series=int(keep_series), progress=progress).results


def compare(baseline: Results, variant: Results) -> pd.DataFrame:
    """Variant minus baseline for every outcome, paired by replication (run both with the same
    seed and replications: common random numbers), with a 90% interval of the mean difference.

    Columns baseline, variant, difference, p05, p95; one row per quantity (p_victory.<side>,
    advance_km, casualties.<side>.<category>, …)."""
    from xuefeng.analysis.whatif import compare as paired

    rows = paired(baseline, variant)
    df = pd.DataFrame.from_dict(rows, orient="index",
                                columns=["baseline", "variant", "difference", "p05", "p95"])
    df.index.name = "quantity"
    return df


# --------------------------------------------------------------------------- reading saved runs


def _ensemble_chunks(folder: Path, partial: bool) -> list[Path]:
    """Chunk folders of an ensemble, in replication order; ResultsFileError if some are missing."""
    from xuefeng.analysis.ensemble import EnsembleError, read_manifest
    from xuefeng.results.io import MANIFEST as RESULTS_MANIFEST

    try:
        m = read_manifest(folder)
    except EnsembleError as e:
        raise ResultsFileError(str(e)) from None
    assert m is not None
    chunks = sorted(m.get("chunks") or [], key=lambda c: int(c["first"]))
    paths = [folder / c["path"] for c in chunks]
    missing = [p for p in paths if not (p / RESULTS_MANIFEST).is_file()]
    if missing and not partial:
        raise ResultsFileError(
            f"{folder}: the ensemble is incomplete ({len(missing)} of {len(paths)} chunks missing, first "
            f"{missing[0].name}); finish it with `xuefeng ensemble --out {folder} --resume`, or pass "
            "partial=True to read the finished chunks")
    done = [p for p in paths if p not in missing]
    if not done:
        raise ResultsFileError(f"{folder}: the ensemble has no finished chunk yet")
    return done


def iter_chunks(folder: str | os.PathLike[str], *, partial: bool = False) -> Iterator[Results]:
    """The results of a saved run or ensemble folder one chunk at a time, in replication order
    (for ensembles too large to hold at once: aggregate as you go). A run folder is one chunk."""
    from xuefeng.analysis.ensemble import MANIFEST as ENSEMBLE_MANIFEST
    from xuefeng.results import io

    path = Path(folder)
    if (path / ENSEMBLE_MANIFEST).is_file():
        for p in _ensemble_chunks(path, partial):
            yield io.load(p)
    else:
        yield io.load(path)  # a run folder, or the error that says what is wrong with it


def load_results(folder: str | os.PathLike[str], *, partial: bool = False) -> Results:
    """A saved run folder (`xuefeng run --out`) or a whole ensemble folder (`xuefeng ensemble
    --out`, any number of chunks) as one `Results`, replications in order — the same as joining
    its chunks by hand. An incomplete ensemble raises `ResultsFileError` unless `partial`."""
    from xuefeng.analysis.ensemble import join

    return join(list(iter_chunks(folder, partial=partial)))
