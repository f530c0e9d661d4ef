"""Saving, loading and concatenating `Results` (DESIGN.md §2 output files).

A saved run is a folder:

    results.json       manifest: scenario, seed, sides, units, start, step …
                       (written last: a folder without it is incomplete)
    ledger.parquet     casualty ledger, one row per replication × unit,
                       one column per category
    outcome.parquet    one row per replication (with called_off_time and
                       objective_lost.<id> for further objectives): replication, winner,
                       winner_side, objective_lost, advance_km, end_time,
                       offensive_end_time, civilian_casualties,
                       aircrew_lost.<side>
    arrivals.parquet   replication, unit, arrival_time
    side_totals.parquet per-replication summary: one row per replication ×
                       side, one column per category (for users; `load`
                       recomputes it from the ledger)
    events.parquet     the event log
    series.nc          per-step unit time series (NetCDF; only if kept)
    summary.json       the summary object, when the caller gives one

Saving is atomic: everything is written into a hidden temporary folder beside
the target and moved into place with `os.replace` only once complete, so an
interruption (Ctrl-C, a crash, a full disk) leaves either the previous
contents or the new ones, never a half-written file. Into an existing folder
the files are moved one by one, the old manifest removed first and the new
one moved last, so a folder interrupted in that short step reads as
incomplete rather than as a mix of two runs.

NetCDF is written with `h5netcdf` when installed, otherwise with SciPy's
NetCDF3 writer (no extra dependency). NetCDF3 has no 64-bit integers, so
integer variables are stored as 32-bit where they fit and otherwise as two
32-bit halves, their dtype kept in an attribute; `load` restores them exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xuefeng.results.model import CATEGORIES, Outcome, Results

FORMAT = "xuefeng-results"
VERSION = 1
MANIFEST = "results.json"
FILES = ("ledger.parquet", "outcome.parquet", "arrivals.parquet", "side_totals.parquet",
         "events.parquet", "series.nc", "summary.json")


class ResultsFileError(ValueError):
    """A results folder that is missing, incomplete or of another format."""


# --------------------------------------------------------------------------- NetCDF encoding

_DTYPE_ATTR = "xuefeng_dtype"
_SPLIT_ATTR = "xuefeng_split_int64"
_I32 = np.iinfo(np.int32)


def _netcdf_engine() -> str:
    try:
        import h5netcdf  # noqa: F401
    except ImportError:
        return "scipy"
    return "h5netcdf"


def _encode_series(ds: xr.Dataset) -> tuple[xr.Dataset, dict[str, dict[str, Any]]]:
    """A copy of `ds` that NetCDF3 can hold, and the encoding to write it with;
    the caller's dataset is left untouched."""
    ds = ds.copy(deep=False)
    encoding: dict[str, dict[str, Any]] = {}

    def put(name: str, var: xr.Variable) -> None:
        nonlocal ds
        ds = ds.assign_coords({name: var}) if name in ds.coords else ds.assign({name: var})

    for name in list(ds.variables):
        var = ds.variables[name]
        kind = var.dtype.kind
        attrs = {**var.attrs, _DTYPE_ATTR: str(var.dtype)}
        if kind == "M":
            encoding[name] = {"units": "seconds since 1970-01-01", "dtype": "float64"}
            attrs.pop("units", None)
            new = var.copy(deep=False)
            new.attrs = attrs
            put(name, new)
        elif kind in "iu" and var.dtype not in (np.int8, np.int16, np.int32):
            vals = var.values
            fits = vals.size == 0 or (vals.min() >= _I32.min and vals.max() <= _I32.max)
            if fits:
                put(name, xr.Variable(var.dims, vals.astype(np.int32), attrs))
            elif name in ds.coords:
                raise ValueError(f"series coordinate '{name}' has integers beyond 32 bits")
            else:
                u = vals.astype(np.int64).view(np.uint64)
                hi = (u >> np.uint64(32)).astype(np.uint32).view(np.int32)
                lo = (u & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32)
                ds = ds.drop_vars(name)
                ds[name + "__hi"] = (var.dims, hi, {**attrs, _SPLIT_ATTR: name})
                ds[name + "__lo"] = (var.dims, lo, {_SPLIT_ATTR: name})
    return ds, encoding


def _decode_series(ds: xr.Dataset) -> xr.Dataset:
    for name in list(ds.variables):
        if name not in ds.variables:
            continue
        var = ds[name]
        split = var.attrs.get(_SPLIT_ATTR)
        if split and name.endswith("__hi"):
            lo = ds[split + "__lo"]
            u = (var.values.view(np.uint32).astype(np.uint64) << np.uint64(32)) | lo.values.view(
                np.uint32).astype(np.uint64)
            attrs = {k: v for k, v in var.attrs.items() if k not in (_SPLIT_ATTR, _DTYPE_ATTR)}
            dtype = np.dtype(var.attrs[_DTYPE_ATTR])
            ds = ds.drop_vars([name, split + "__lo"])
            ds[split] = (var.dims, u.view(np.int64).astype(dtype), attrs)
        elif _DTYPE_ATTR in var.attrs:
            dtype = np.dtype(var.attrs[_DTYPE_ATTR])
            attrs = {k: v for k, v in var.attrs.items() if k != _DTYPE_ATTR}
            if name in ds.coords:
                ds = ds.assign_coords({name: (var.dims, var.values.astype(dtype), attrs)})
            else:
                ds[name] = (var.dims, var.values.astype(dtype), attrs)
    return ds


# --------------------------------------------------------------------------- tables


def _ledger_frame(r: Results) -> pd.DataFrame:
    n, u = r.replications, len(r.unit_ids)
    df = pd.DataFrame({
        "replication": np.repeat(np.asarray(r.replication_ids, dtype=np.int64), u),
        "unit": np.tile(np.asarray(r.unit_ids, dtype=object), n),
    })
    flat = np.asarray(r.ledger, dtype=float).reshape(n * u, len(CATEGORIES))
    for j, c in enumerate(CATEGORIES):
        df[c] = flat[:, j]
    return df


def _side_totals_frame(r: Results) -> pd.DataFrame:
    n, s = r.replications, len(r.sides)
    df = pd.DataFrame({
        "replication": np.repeat(np.asarray(r.replication_ids, dtype=np.int64), s),
        "side": np.tile(np.asarray(r.sides, dtype=object), n),
    })
    flat = r.side_ledger().reshape(n * s, len(CATEGORIES))
    for j, c in enumerate(CATEGORIES):
        df[c] = flat[:, j]
    return df


def _outcome_frame(r: Results) -> pd.DataFrame:
    o = r.outcome
    winner = np.asarray(o.winner, dtype=np.int64)
    df = pd.DataFrame({
        "replication": np.asarray(r.replication_ids, dtype=np.int64),
        "winner": winner,
        "winner_side": [r.sides[w] if w >= 0 else None for w in winner],
        "objective_lost": np.asarray(o.objective_lost, dtype=bool),
        "advance_km": np.asarray(o.advance_km, dtype=float),
        "end_time": np.asarray(o.end_time).astype("datetime64[s]"),
        "offensive_end_time": np.asarray(o.offensive_end_time).astype("datetime64[s]"),
        "civilian_casualties": np.asarray(r.civilian_casualties, dtype=float),
    })
    air = np.asarray(r.aircrew_lost, dtype=float)
    for i, s in enumerate(r.sides):
        df[f"aircrew_lost.{s}"] = air[:, i]
    if o.called_off_time is not None:
        df["called_off_time"] = np.asarray(o.called_off_time).astype("datetime64[s]")
    for oid, lost in o.objectives_lost.items():
        df[f"objective_lost.{oid}"] = np.asarray(lost, dtype=bool)
    for oid, back in o.objectives_relieved.items():
        df[f"objective_relieved.{oid}"] = np.asarray(back, dtype=bool)
    if o.daily_men is not None and o.daily_casualties is not None:
        for i, sd in enumerate(r.sides):
            for d in range(o.daily_men.shape[1]):
                df[f"daily.{d}.men.{sd}"] = o.daily_men[:, d, i]
                df[f"daily.{d}.casualties.{sd}"] = o.daily_casualties[:, d, i]
    return df


def _daily(out: pd.DataFrame, sides: tuple[str, ...], what: str) -> np.ndarray | None:
    """(R, day, side) from the outcome table's daily.<day>.<what>.<side> columns (None if absent)."""
    days = sorted({int(c.split(".")[1]) for c in out.columns if c.startswith("daily.") and f".{what}." in c})
    if not days:
        return None
    return np.stack([np.stack([out[f"daily.{d}.{what}.{sd}"].to_numpy(dtype=float) for sd in sides], axis=1)
                     for d in days], axis=1)


def _arrivals_frame(r: Results) -> pd.DataFrame:
    n, u = r.replications, len(r.unit_ids)
    return pd.DataFrame({
        "replication": np.repeat(np.asarray(r.replication_ids, dtype=np.int64), u),
        "unit": np.tile(np.asarray(r.unit_ids, dtype=object), n),
        "arrival_time": np.asarray(r.outcome.arrival_time).astype("datetime64[s]").reshape(n * u),
    })


def _restore_lists(df: pd.DataFrame) -> pd.DataFrame:
    """Parquet reads list columns back as numpy arrays; give back lists."""
    for c in df.columns:
        if df[c].dtype == object and len(df) and any(isinstance(v, np.ndarray) for v in df[c]):
            df[c] = [v.tolist() if isinstance(v, np.ndarray) else v for v in df[c]]
    return df


# --------------------------------------------------------------------------- save


def _manifest(r: Results, has_series: bool, has_summary: bool) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "scenario": r.scenario,
        "seed": int(r.seed),
        "sides": list(r.sides),
        "unit_ids": list(r.unit_ids),
        "unit_names": list(r.unit_names),
        "unit_sides": [int(s) for s in np.asarray(r.unit_sides)],
        "start": r.start.isoformat(),
        "step_hours": int(r.step_hours),
        "categories": list(CATEGORIES),
        "replications": r.replications,
        "series": has_series,
        "summary": has_summary,
        "event_datetime_columns": {c: str(t) for c, t in r.events.dtypes.items() if t.kind == "M"},
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _write_all(r: Results, folder: Path, summary: dict[str, Any] | None) -> None:
    _ledger_frame(r).to_parquet(folder / "ledger.parquet", index=False)
    _outcome_frame(r).to_parquet(folder / "outcome.parquet", index=False)
    _arrivals_frame(r).to_parquet(folder / "arrivals.parquet", index=False)
    _side_totals_frame(r).to_parquet(folder / "side_totals.parquet", index=False)
    r.events.to_parquet(folder / "events.parquet", index=False)
    if r.series is not None:
        ds, enc = _encode_series(r.series)
        ds.to_netcdf(folder / "series.nc", engine=_netcdf_engine(), encoding=enc)
    if summary is not None:
        (folder / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n",
                                             encoding="utf-8")
    manifest = _manifest(r, r.series is not None, summary is not None)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(results: Results, folder: str | Path, summary: dict[str, Any] | None = None) -> Path:
    """Write `results` (and an optional summary object) into `folder`,
    atomically (see the module docstring). Returns the folder."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise ResultsFileError(f"{target} exists and is not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the result should not be
        _write_all(results, tmp, summary)
        if not target.exists():
            os.replace(tmp, target)
            return target
        # Into an existing folder: mark it incomplete, move files, manifest last.
        (target / MANIFEST).unlink(missing_ok=True)
        for name in FILES:
            if not (tmp / name).exists():
                (target / name).unlink(missing_ok=True)  # a stale file of an earlier run
        for name in FILES:
            if (tmp / name).exists():
                os.replace(tmp / name, target / name)
        os.replace(tmp / MANIFEST, target / MANIFEST)
        return target
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- load


def load(folder: str | Path) -> Results:
    """Read a folder written by `save`."""
    folder = Path(folder)
    mpath = folder / MANIFEST
    if not folder.is_dir():
        raise ResultsFileError(f"{folder}: no such results folder")
    if not mpath.is_file():
        raise ResultsFileError(f"{folder}: no {MANIFEST}; not a results folder, or its writing was "
                               "interrupted")
    try:
        m = json.loads(mpath.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ResultsFileError(f"{mpath}: not valid JSON ({e})") from None
    if m.get("format") != FORMAT or m.get("version") != VERSION:
        raise ResultsFileError(f"{mpath}: not a {FORMAT} v{VERSION} manifest")
    cats = tuple(m["categories"])
    if cats != CATEGORIES:
        raise ResultsFileError(f"{mpath}: ledger categories {cats} differ from this version's {CATEGORIES}")
    sides, unit_ids = tuple(m["sides"]), tuple(m["unit_ids"])
    n, u = int(m["replications"]), len(unit_ids)

    out = pd.read_parquet(folder / "outcome.parquet")
    rep_ids = out["replication"].to_numpy(dtype=np.int64)
    led = pd.read_parquet(folder / "ledger.parquet")
    ledger = led[list(CATEGORIES)].to_numpy(dtype=float).reshape(n, u, len(CATEGORIES))
    arr = pd.read_parquet(folder / "arrivals.parquet")
    arrival = arr["arrival_time"].to_numpy().astype("datetime64[s]").reshape(n, u)
    events = _restore_lists(pd.read_parquet(folder / "events.parquet"))
    for c, t in m.get("event_datetime_columns", {}).items():
        if c in events.columns:
            events[c] = events[c].astype(t)
    series = None
    if m.get("series"):
        with xr.open_dataset(folder / "series.nc", engine=_netcdf_engine()) as ds:
            series = _decode_series(ds.load())

    outcome = Outcome(
        winner=out["winner"].to_numpy(dtype=np.int64),
        objective_lost=out["objective_lost"].to_numpy(dtype=bool),
        advance_km=out["advance_km"].to_numpy(dtype=float),
        end_time=out["end_time"].to_numpy().astype("datetime64[s]"),
        offensive_end_time=out["offensive_end_time"].to_numpy().astype("datetime64[s]"),
        arrival_time=arrival,
        called_off_time=(out["called_off_time"].to_numpy().astype("datetime64[s]")
                         if "called_off_time" in out.columns else None),
        objectives_lost={c.split(".", 1)[1]: out[c].to_numpy(dtype=bool) for c in out.columns
                         if c.startswith("objective_lost.")},
        objectives_relieved={c.split(".", 1)[1]: out[c].to_numpy(dtype=bool) for c in out.columns
                             if c.startswith("objective_relieved.")},
        daily_men=_daily(out, sides, "men"), daily_casualties=_daily(out, sides, "casualties"),
    )
    return Results(
        scenario=m["scenario"], seed=int(m["seed"]), sides=sides, unit_ids=unit_ids,
        unit_names=tuple(m["unit_names"]), unit_sides=np.asarray(m["unit_sides"], dtype=np.int64),
        start=dt.datetime.fromisoformat(m["start"]), step_hours=int(m["step_hours"]),
        replication_ids=rep_ids, ledger=ledger,
        civilian_casualties=out["civilian_casualties"].to_numpy(dtype=float),
        aircrew_lost=np.stack([out[f"aircrew_lost.{s}"].to_numpy(dtype=float) for s in sides], axis=1)
        if n else np.zeros((0, len(sides))),
        outcome=outcome, events=events, series=series,
    )


def load_summary(folder: str | Path) -> dict[str, Any] | None:
    f = Path(folder) / "summary.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else None


# --------------------------------------------------------------------------- concat


def concat(parts: Sequence[Results]) -> Results:
    """Join chunks of one ensemble (same scenario, seed, sides, units, start and
    step) into one `Results`, keeping each replication's global id. Raises
    ValueError for chunks of different runs or repeated replication ids."""
    if not parts:
        raise ValueError("concat needs at least one Results")
    first = parts[0]
    for p in parts[1:]:
        for attr in ("scenario", "seed", "sides", "unit_ids", "start", "step_hours"):
            if getattr(p, attr) != getattr(first, attr):
                raise ValueError(f"cannot concatenate runs with different {attr}: "
                                 f"{getattr(first, attr)!r} vs {getattr(p, attr)!r}")
        if not np.array_equal(np.asarray(p.unit_sides), np.asarray(first.unit_sides)):
            raise ValueError("cannot concatenate runs with different unit sides")
    ids = np.concatenate([np.asarray(p.replication_ids, dtype=np.int64) for p in parts])
    if np.unique(ids).size != ids.size:
        raise ValueError("cannot concatenate: replication ids repeat across the parts")

    def cat(get) -> np.ndarray:
        return np.concatenate([np.asarray(get(p)) for p in parts], axis=0)

    outcome = Outcome(
        winner=cat(lambda p: p.outcome.winner),
        objective_lost=cat(lambda p: p.outcome.objective_lost),
        advance_km=cat(lambda p: p.outcome.advance_km),
        end_time=cat(lambda p: p.outcome.end_time),
        offensive_end_time=cat(lambda p: p.outcome.offensive_end_time),
        arrival_time=cat(lambda p: p.outcome.arrival_time),
        called_off_time=(cat(lambda p: p.outcome.called_off_time)
                         if all(p.outcome.called_off_time is not None for p in parts) else None),
        objectives_lost={k: cat(lambda p, k=k: p.outcome.objectives_lost[k]) for k in first.outcome.objectives_lost
                         if all(k in p.outcome.objectives_lost for p in parts)},
        objectives_relieved={k: cat(lambda p, k=k: p.outcome.objectives_relieved[k])
                             for k in first.outcome.objectives_relieved
                             if all(k in p.outcome.objectives_relieved for p in parts)},
        daily_men=(cat(lambda p: p.outcome.daily_men)
                   if all(p.outcome.daily_men is not None for p in parts) else None),
        daily_casualties=(cat(lambda p: p.outcome.daily_casualties)
                          if all(p.outcome.daily_casualties is not None for p in parts) else None),
    )
    frames = [p.events for p in parts if p.events is not None and len(p.events.columns)]
    events = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    with_series = [p.series for p in parts if p.series is not None]
    series = xr.concat(with_series, dim="replication") if with_series else None
    return Results(
        scenario=first.scenario, seed=first.seed, sides=first.sides, unit_ids=first.unit_ids,
        unit_names=first.unit_names, unit_sides=np.asarray(first.unit_sides), start=first.start,
        step_hours=first.step_hours, replication_ids=ids, ledger=cat(lambda p: p.ledger),
        civilian_casualties=cat(lambda p: p.civilian_casualties),
        aircrew_lost=cat(lambda p: p.aircrew_lost), outcome=outcome, events=events, series=series,
    )
