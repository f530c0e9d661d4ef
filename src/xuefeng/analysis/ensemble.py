"""Ensembles in chunks, across local processes or a Dask cluster, resumable
(DESIGN.md §2 "Scale-out").

An ensemble of N replications is cut into chunks of C consecutive global
replication ids (chunk k holds ids k*C … min(N, (k+1)*C) - 1). Each chunk is
one call of `xuefeng.engine.simulate(..., first_replication=k*C)`, so a
replication is bit-identical whatever C, the number of workers or the backend
(the engine seeds replication i from (seed, i) alone).

Backends: in this process (`workers=1`), a local process pool
(`workers=K`), or a Dask cluster (`scheduler="tcp://host:port"`, through
`dask.distributed.Client`). Workers only compute; this process writes.

With an output folder, every finished chunk is saved at once with
`xuefeng.results.io.save` (atomic) into `DIR/chunks/chunk-000123/`, and
`DIR/manifest.json` (written atomically) records the scenario, seed, N, C,
the what-if overrides, each chunk's status and the size and SHA-256 of every
file of every finished chunk (and of `summary.json`), and carries a SHA-256
of its own content. `resume=True` refuses a manifest that is unreadable or
does not match its own checksum, checks that it matches the request
(`ManifestMismatch` names the field otherwise), keeps every finished chunk
whose files match their records and runs the others again (a damaged chunk
is reported through `notify`), and rebuilds `summary.json` from the chunks,
so an interrupted or damaged ensemble resumes to exactly the result of an
uninterrupted run. `verify_folder` checks a folder without running anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.util
import ipaddress
import json
import os
import re
import shutil
import socket
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xuefeng.results.model import Results

MANIFEST = "manifest.json"
CHUNKS = "chunks"
FORMAT = "xuefeng-ensemble"
VERSION = 2
SUMMARY = "summary.json"
DEFAULT_CHUNK = 100
#: Largest chunk `default_chunk` picks: the engine's batch (engine.BATCH), beyond which a chunk
#: runs no faster per replication and only holds more results in memory before they are saved.
MAX_AUTO_CHUNK = 1024
#: Seconds to wait for a Dask scheduler to answer (the TCP probe, the client's handshake, the first worker).
CONNECT_TIMEOUT_S = 10.0
#: Address schemes of a Dask scheduler this package can reach (inproc:// lives inside one process only).
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
_ADDRESS_FORM = "write it as tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)"


def check_scheduler_address(address: str) -> str:
    """The Dask scheduler address, normalised (`scheme://host:port`), or EnsembleError saying how to write it.

    Why: `dask.distributed.Client` given a malformed address raises assorted exceptions (TypeError
    for ucx:// without UCX, ValueError for a bad IPv6 literal) and, once created, may hang 40 s in its
    finaliser; checking the text first gives one clear message and never starts a client.
    """
    text = address.strip()
    bad = f"--scheduler {address!r}"
    if not text:
        raise EnsembleError(f"{bad}: empty address; {_ADDRESS_FORM}")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text  # Dask reads HOST:PORT as tcp://HOST:PORT
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        raise EnsembleError(f"{bad}: an http address is the Dask dashboard's, not the scheduler's; "
                            "give the scheduler's, e.g. tcp://HOST:8786")
    if scheme == "inproc":
        raise EnsembleError(f"{bad}: inproc:// addresses exist only inside one process; {_ADDRESS_FORM}")
    if scheme not in SCHEDULER_SCHEMES:
        raise EnsembleError(f"{bad}: unknown address scheme '{scheme}' (known: "
                            f"{', '.join(s + '://' for s in SCHEDULER_SCHEMES)}); {_ADDRESS_FORM}")
    try:
        parts = urllib.parse.urlsplit(f"//{rest}")
        host, port = parts.hostname, parts.port
    except ValueError as e:  # '[::1' (unclosed bracket), a port that is not a number or out of range
        hint = " (an IPv6 host goes in brackets: tcp://[::1]:8786)" if "[" in rest or rest.count(":") > 1 else ""
        raise EnsembleError(f"{bad}: not a valid HOST:PORT ({e}); {_ADDRESS_FORM}{hint}") from None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise EnsembleError(f"{bad}: only HOST:PORT may follow '{scheme}://'; {_ADDRESS_FORM}")
    if not host or port is None:
        raise EnsembleError(f"{bad}: needs a host and a port; {_ADDRESS_FORM}")
    if not 1 <= port <= 65535:
        raise EnsembleError(f"{bad}: port {port} is outside 1..65535")
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    if not is_ip and not _HOSTNAME.match(host):
        raise EnsembleError(f"{bad}: '{host}' is not a host name or IP address; {_ADDRESS_FORM}")
    if scheme == "ucx" and not any(importlib.util.find_spec(m) for m in ("ucp", "distributed_ucxx")):
        raise EnsembleError(f"{bad}: ucx:// needs the UCX communication backend, which is not installed; "
                            "use tcp://")
    if scheme in ("tls", "wss") and not dask_tls_configured():
        raise EnsembleError(f"{bad}: {scheme}:// needs TLS certificates in the Dask configuration "
                            "(distributed.comm.tls.ca-file, .client.cert, .client.key); none are set")
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def dask_tls_configured() -> bool:
    """Whether Dask's configuration names a CA file for TLS connections."""
    try:
        import dask.config
    except ImportError:  # pragma: no cover - dependency of the package
        return False
    return bool(dask.config.get("distributed.comm.tls.ca-file", None))


def probe_scheduler(address: str, timeout: float | None = None) -> None:
    """EnsembleError unless something accepts a TCP connection at a checked address, within `timeout`.

    Cheap and bounded: a refused or unreachable address fails in at most `timeout` seconds, before a
    Dask client (with its retries and its slow finaliser) exists.
    """
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    scheme, _, rest = address.partition("://")
    if scheme == "ucx":
        return  # not a TCP endpoint; the client reports what it finds
    parts = urllib.parse.urlsplit(f"//{rest}")
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            pass
    except socket.gaierror as e:
        raise EnsembleError(f"--scheduler {address}: cannot resolve host '{parts.hostname}' ({e.strerror})") from None
    except TimeoutError:
        raise EnsembleError(f"--scheduler {address}: no answer within {timeout:g} s; is `dask scheduler` "
                            "running there and reachable?") from None
    except OSError as e:
        raise EnsembleError(f"--scheduler {address}: cannot connect ({e.strerror or e}); is `dask scheduler` "
                            "running there?") from None


def default_chunk(replications: int, workers: int) -> int:
    """Chunk size when none is given: at least two chunks per worker (so workers finish
    together), as large as that allows up to MAX_AUTO_CHUNK (the engine steps a batch of
    replications together: it runs about twice as fast per replication with 500 per batch as
    with 100, and faster still up to a thousand), and not below DEFAULT_CHUNK unless the ensemble itself is smaller."""
    per = -(-int(replications) // (2 * max(int(workers), 1)))
    return max(1, min(MAX_AUTO_CHUNK, max(per, min(DEFAULT_CHUNK, int(replications)))))


class EnsembleError(ValueError):
    """A request the user can fix (bad output folder, unreadable manifest …)."""


class ManifestMismatch(EnsembleError):
    """`--resume` with arguments that differ from the manifest's; `.field` names the one."""

    def __init__(self, message: str, field_name: str) -> None:
        super().__init__(message)
        self.field = field_name


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    """One call of the engine: replications first … first+count-1 of `seed`,
    with these parameters and settings (None: the scenario's defaults)."""

    key: Any
    seed: int
    first: int
    count: int
    keep_series: int = 0
    params: Any = None
    config: Any = None
    until: dt.datetime | None = None


def run_job(job: Job, scenario: Any) -> Results:
    """Run one job (in a worker process, a Dask worker or here)."""
    from xuefeng.engine import simulate

    return simulate(scenario, job.count, job.seed, keep_series=job.keep_series, until=job.until,
                    params=job.params, config=job.config, first_replication=job.first)


def _run_job_keyed(job: Job, scenario: Any) -> tuple[Any, Results]:
    return job.key, run_job(job, scenario)


#: glibc malloc settings for a Dask worker (see _run_dask_job): keep freed memory up to this
#: much at the top of the heap, and serve blocks below this size from the heap, not mmap.
MALLOC_TRIM_THRESHOLD = 256 * 2**20
MALLOC_MMAP_THRESHOLD = 32 * 2**20
_malloc_tuned = False


def _tune_malloc() -> None:
    """Undo, in this process, the MALLOC_TRIM_THRESHOLD_=65536 that Dask's nanny gives its
    workers by default: with it glibc hands every freed NumPy temporary of more than 64 KB back
    to the system and faults it in again on the next step, and the engine runs at half speed
    (measured: 1,000 West Hunan replications 5.9 s in a plain process, 11.4 s in a Dask worker,
    6.3 s in the worker with these settings). Only glibc's mallopt is called; elsewhere nothing."""
    global _malloc_tuned
    if _malloc_tuned:
        return
    _malloc_tuned = True
    try:
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        if not name:
            return
        mallopt = ctypes.CDLL(name).mallopt
        mallopt(-1, MALLOC_TRIM_THRESHOLD)  # M_TRIM_THRESHOLD
        mallopt(-3, MALLOC_MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl without mallopt)
        pass


def _run_dask_job(job: Job, scenario: Any) -> tuple[Any, Results]:
    _tune_malloc()
    return _run_job_keyed(job, scenario)


_WORKER_SCENARIO: Any = None


def _init_worker(scenario: Any, parent_pid: int | None = None) -> None:
    global _WORKER_SCENARIO
    if parent_pid is not None:
        from xuefeng.analysis.lifeline import tie_to_parent

        tie_to_parent(parent_pid)  # no orphaned workers if the command is killed
    _WORKER_SCENARIO = scenario


def _run_in_worker(job: Job) -> tuple[Any, Results]:
    return job.key, run_job(job, _WORKER_SCENARIO)


def iter_jobs(scenario: Any, jobs: Sequence[Job], workers: int = 1,
              scheduler: str | None = None) -> Iterator[tuple[Any, Results]]:
    """Run `jobs` and yield (key, Results) as each finishes (any order).

    workers <= 1 and no scheduler: one after another in this process;
    workers > 1: a local process pool of that size; scheduler: a Dask cluster.
    Closing the generator (or an exception in the consumer) cancels what has
    not started."""
    if not jobs:
        return
    if scheduler:
        yield from _iter_dask(scenario, jobs, scheduler)
    elif workers <= 1:
        for job in jobs:
            yield _run_job_keyed(job, scenario)
    else:
        yield from _iter_pool(scenario, jobs, workers)


def _iter_pool(scenario: Any, jobs: Sequence[Job], workers: int) -> Iterator[tuple[Any, Results]]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # fork where there is one: workers start at once and need no `if __name__ == "__main__"` guard
    # in the caller's script; they only run the engine (no Rich, no Dask) so no inherited lock bites
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    ex = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx,
                             initializer=_init_worker, initargs=(scenario, os.getpid()))
    try:
        pending = {ex.submit(_run_in_worker, j) for j in jobs}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


def _iter_dask(scenario: Any, jobs: Sequence[Job], address: str) -> Iterator[tuple[Any, Results]]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as e:  # pragma: no cover - dependency of the package
        raise EnsembleError("--scheduler needs dask.distributed (pip install 'dask[distributed]')") from e
    address = check_scheduler_address(address)
    probe_scheduler(address)
    try:
        client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
    except Exception as e:  # noqa: BLE001 - Dask raises assorted types for one cause: no scheduler there
        raise EnsembleError(f"--scheduler {address}: cannot connect to a Dask scheduler there ({e})") from None
    futures: list[Any] = []
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise EnsembleError(f"--scheduler {address}: the scheduler has no workers (waited "
                                f"{CONNECT_TIMEOUT_S:g} s); start some with `dask worker {address}`") from None
        scen = client.scatter(scenario, broadcast=True)
        futures = [client.submit(_run_dask_job, j, scen, pure=False) for j in jobs]
        for fut in as_completed(futures, loop=client.loop):
            yield fut.result()
    finally:
        for fut in futures:
            fut.cancel()
        client.close()


# --------------------------------------------------------------------------- chunks and manifest


def chunk_ranges(n: int, chunk: int) -> list[tuple[int, int]]:
    """(first, count) of each chunk of an n-replication ensemble."""
    if n < 1 or chunk < 1:
        raise ValueError("replications and chunk size must be >= 1")
    return [(a, min(chunk, n - a)) for a in range(0, n, chunk)]


def chunk_dir(index: int) -> str:
    return f"{CHUNKS}/chunk-{index:06d}"


def scenario_digest(scenario: Any) -> str:
    """A hash of the scenario's content (a changed scenario must not resume an old run)."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()[:16]


@dataclass
class EnsembleSpec:
    """What defines an ensemble's results (everything `--resume` checks)."""

    scenario: str
    digest: str
    seed: int
    replications: int
    chunk: int
    overrides: dict[str, Any] = field(default_factory=dict)
    until: str | None = None
    keep_series: int = 1

    def compare(self, other: dict[str, Any]) -> None:
        """Raise ManifestMismatch naming the first field that differs from a manifest's."""
        names = {"scenario": "scenario", "digest": "scenario content", "seed": "--seed",
                 "replications": "--replications", "chunk": "--chunk", "overrides": "what-if overrides",
                 "until": "until", "keep_series": "kept series"}
        for k, label in names.items():
            mine, theirs = getattr(self, k), other.get(k)
            if k == "overrides":
                mine, theirs = json.loads(json.dumps(mine)), theirs or {}
            if mine != theirs:
                what = "changed since" if k == "digest" else f"is {json.dumps(theirs)} there, not {json.dumps(mine)}"
                raise ManifestMismatch(
                    f"the ensemble in this folder was run with different {label}: {label} {what}"
                    + ("" if k == "digest" else "; give the same arguments to resume it, or another --out"),
                    label)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON into a temporary file beside `path`, fsync it and move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, allow_nan=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _canonical_digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
                          .encode()).hexdigest()


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically with a SHA-256 of its own content (any later edit shows)."""
    manifest.pop("sha256", None)
    manifest["sha256"] = _canonical_digest(manifest)
    write_json_atomic(folder / MANIFEST, manifest)


def file_record(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of one file, as the manifest records it."""
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return {"size": path.stat().st_size, "sha256": digest}


def chunk_files(chunk: Path) -> dict[str, dict[str, Any]]:
    """The record of every file in a chunk folder just saved."""
    return {p.name: file_record(p) for p in sorted(chunk.iterdir())}


def _record_problems(path: Path, rel: str, rec: dict[str, Any]) -> list[tuple[str, str]]:
    if path.is_symlink() or not path.exists():
        return [(rel, "missing" if not path.is_symlink() else "a link, not the file written")]
    if not path.is_file():
        return [(rel, "not a regular file")]
    size = path.stat().st_size
    if size != rec["size"]:
        return [(rel, f"{size:,} bytes, {rec['size']:,} recorded (truncated, emptied or replaced)")]
    if file_record(path)["sha256"] != rec["sha256"]:
        return [(rel, "content differs from the recorded SHA-256 (garbled or replaced)")]
    return []


def chunk_problems(folder: Path, record: dict[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with a finished chunk's files: (path in the folder, problem); [] if intact."""
    rel = record["path"]
    base = folder / rel
    if base.is_symlink() or not base.is_dir():
        return [(rel, "missing" if not (base.exists() or base.is_symlink()) else "not a folder")]
    files = record.get("files") or {}
    if not files:
        return [(rel, "no file records in the manifest")]
    problems = [p for name in sorted(files) for p in _record_problems(base / name, f"{rel}/{name}", files[name])]
    problems += [(f"{rel}/{p.name}", "not a file of this chunk") for p in sorted(base.iterdir())
                 if p.name not in files]
    return problems


class _FileRecord(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class _ChunkRecord(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    index: int = Field(ge=0)
    first: int = Field(ge=0)
    count: int = Field(ge=1)
    path: str
    status: Literal["done", "pending"]
    files: dict[str, _FileRecord] | None = None


class _Manifest(BaseModel):
    """The manifest's schema: checked after its checksum, so a forged one fails cleanly too."""

    model_config = ConfigDict(strict=True, extra="forbid")
    format: Literal["xuefeng-ensemble"]
    version: int
    created: str
    updated: str
    scenario: str
    digest: str
    seed: int = Field(ge=0)
    replications: int = Field(ge=1)
    chunk: int = Field(ge=1)
    overrides: dict[str, Any]
    until: str | None
    keep_series: int = Field(ge=0)
    chunks: list[_ChunkRecord]
    complete: bool
    summary_file: _FileRecord | None = None
    sha256: str


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of an ensemble folder (None if there is none), or EnsembleError if it is
    unreadable, of another version, or differs from its own checksum (edited or damaged)."""
    f = Path(folder) / MANIFEST
    if not (f.exists() or f.is_symlink()):
        return None
    if not f.is_file():
        raise EnsembleError(f"{f}: not a file; the ensemble manifest cannot be read")
    try:
        m = json.loads(f.read_text(encoding="utf-8"))
    except RecursionError:
        raise EnsembleError(f"{f}: damaged (JSON nested too deeply); cannot read the ensemble manifest") from None
    except (ValueError, OSError) as e:  # JSONDecodeError, UnicodeDecodeError, the int-conversion limit
        raise EnsembleError(f"{f}: damaged; cannot read the ensemble manifest ({e})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise EnsembleError(f"{f}: not a {FORMAT} manifest")
    if m.get("version") == 1:
        raise EnsembleError(f"{f}: written by an older xuefeng that recorded no checksums, so its chunks "
                            "cannot be verified; run the ensemble again into a new folder")
    if m.get("version") != VERSION:
        raise EnsembleError(f"{f}: manifest version {m.get('version')} (this version reads {VERSION})")
    body = {k: v for k, v in m.items() if k != "sha256"}
    try:
        same = m.get("sha256") == _canonical_digest(body)
    except ValueError:  # NaN or Infinity somewhere: not what write_manifest wrote
        same = False
    if not same:
        raise EnsembleError(f"{f}: damaged or edited (its content does not match its SHA-256), so nothing in "
                            "this folder can be trusted; run the ensemble again into a new folder")
    try:
        _Manifest.model_validate(m)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise EnsembleError(f"{f}: damaged ({where}: {err['msg']}); run the ensemble again into a "
                            "new folder") from None
    return m


def _remove(path: Path) -> None:
    """Remove a file, a link or a folder (a damaged chunk, a stale summary) before it is rebuilt."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    elif path.exists():  # a pipe, a socket: nothing of ours
        path.unlink()


@dataclass
class FolderCheck:
    """What `verify_folder` found: each damaged file (path in the folder, problem)."""

    folder: Path
    chunks_total: int
    chunks_done: int
    complete: bool
    problems: list[tuple[str, str]]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_folder(folder: str | Path) -> FolderCheck:
    """Check every finished chunk's files, and summary.json, against the manifest; run nothing.
    EnsembleError if the folder holds no ensemble or its manifest cannot be trusted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EnsembleError(f"--verify {folder}: no such folder")
    m = read_manifest(folder)
    if m is None:
        raise EnsembleError(f"--verify {folder}: holds no ensemble ({MANIFEST} missing)")
    problems: list[tuple[str, str]] = []
    done = [c for c in m["chunks"] if c["status"] == "done"]
    for c in done:
        problems += chunk_problems(folder, c)
    if m.get("summary_file"):
        problems += _record_problems(folder / SUMMARY, SUMMARY, m["summary_file"])
    return FolderCheck(folder=folder, chunks_total=len(m["chunks"]), chunks_done=len(done),
                       complete=bool(m["complete"]), problems=problems)


@dataclass
class EnsembleRun:
    """The outcome of `run_ensemble`: the joined results and what was done."""

    results: Results
    chunks_total: int
    chunks_run: int
    chunks_reused: int
    folder: Path | None = None
    #: the summary object (when `summary` was given; also written to DIR/summary.json)
    summary: dict[str, Any] | None = None
    #: finished chunks of an earlier run that failed their check and were run again: index -> problems
    damaged: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


def _sort_events(r: Results) -> Results:
    """Events ordered by replication (stable), so the joined log is the same whatever the chunking."""
    ev = r.events
    if ev is None or not len(ev) or "replication" not in ev.columns:
        return r
    ev = ev.iloc[np.argsort(ev["replication"].to_numpy(), kind="stable")].reset_index(drop=True)
    return dataclasses.replace(r, events=ev)


def join(parts: Sequence[Results]) -> Results:
    """Concatenate chunk results in replication order (`results.io.concat`), events by replication."""
    from xuefeng.results.io import concat

    parts = sorted(parts, key=lambda p: int(np.min(p.replication_ids)) if p.replications else 0)
    return _sort_events(concat(parts) if len(parts) > 1 else parts[0])


def run_ensemble(scenario: Any, replications: int, seed: int, *, chunk: int = DEFAULT_CHUNK,
                 workers: int = 1, scheduler: str | None = None, out: str | Path | None = None,
                 resume: bool = False, params: Any = None, config: Any = None,
                 overrides: dict[str, Any] | None = None, until: dt.datetime | None = None,
                 keep_series: int = 1, progress: Callable[[int, int, int], None] | None = None,
                 summary: Callable[[Results], dict[str, Any]] | None = None,
                 notify: Callable[[str], None] | None = None) -> EnsembleRun:
    """Run (or finish) an ensemble; see the module docstring.

    `overrides` is the JSON description of the what-if changes already
    applied to `scenario`/`params`/`config` (recorded in the manifest and
    checked on resume). `keep_series`: the first replications (global ids)
    that keep full time series. `progress(done_chunks, total_chunks,
    done_replications)` is called at the start and after each chunk.
    `summary(results)`: the summary object, written to DIR/summary.json (and
    recorded) once the ensemble is complete. `notify(text)`: told of each
    finished chunk that failed its check on resume and is run again."""
    ranges = chunk_ranges(replications, chunk)
    spec = EnsembleSpec(scenario=scenario.meta.name, digest=scenario_digest(scenario), seed=int(seed),
                        replications=int(replications), chunk=int(chunk), overrides=overrides or {},
                        until=until.isoformat() if until else None, keep_series=int(keep_series))
    folder = Path(out) if out is not None else None
    done: dict[int, Results | None] = {}
    damaged: dict[int, list[tuple[str, str]]] = {}
    manifest: dict[str, Any] | None = None
    if folder is not None:
        manifest, done, damaged = _prepare_folder(folder, spec, ranges, resume, notify)
    reused = len(done)
    todo = [Job(key=i, seed=spec.seed, first=a, count=n, keep_series=max(0, min(keep_series - a, n)),
                params=params, config=config, until=until)
            for i, (a, n) in enumerate(ranges) if i not in done]
    n_done_reps = sum(ranges[i][1] for i in done)
    if progress:
        progress(len(done), len(ranges), n_done_reps)
    gen = iter_jobs(scenario, todo, workers=workers, scheduler=scheduler)
    try:
        for key, res in gen:
            if folder is not None and manifest is not None:
                _save_chunk(folder, manifest, key, res)
                done[key] = None  # read back below, like chunks of an earlier run
            else:
                done[key] = res
            n_done_reps += ranges[key][1]
            if progress:
                progress(len(done), len(ranges), n_done_reps)
    finally:
        gen.close()
    parts: list[Results] = []
    for i in range(len(ranges)):
        r = done[i]
        parts.append(r if r is not None else _load_chunk(folder, i))  # type: ignore[arg-type]
    results = join(parts)
    obj = summary(results) if summary is not None else None
    if folder is not None and manifest is not None:
        try:
            if obj is not None:
                write_json_atomic(folder / SUMMARY, obj)
                manifest["summary_file"] = file_record(folder / SUMMARY)
            manifest["complete"] = True
            manifest["updated"] = _now()
            write_manifest(folder, manifest)
        except OSError as e:
            raise EnsembleError(f"--out {folder}: cannot write {SUMMARY} or {MANIFEST} ({e.strerror or e})") from None
    return EnsembleRun(results=results, chunks_total=len(ranges), chunks_run=len(todo), chunks_reused=reused,
                       folder=folder, summary=obj, damaged=damaged)


def _save_chunk(folder: Path, manifest: dict[str, Any], key: int, res: Results) -> None:
    """Save one chunk, record its files' sizes and hashes, and rewrite the manifest."""
    from xuefeng.results.io import save

    where = folder / chunk_dir(key)
    try:
        save(res, where)
        record = manifest["chunks"][key]
        record["files"] = chunk_files(where)
        record["status"] = "done"
        manifest["updated"] = _now()
        write_manifest(folder, manifest)
    except OSError as e:
        raise EnsembleError(f"--out {folder}: cannot write {chunk_dir(key)} ({e.strerror or e}); the chunks "
                            "finished before it are kept: free the space or fix the folder, then --resume") from None


def _load_chunk(folder: Path, index: int) -> Results:
    """A chunk read back (its files were checked, or written by this run)."""
    from xuefeng.results.io import load

    try:
        return load(folder / chunk_dir(index))
    except Exception as e:  # noqa: BLE001 - pyarrow, NetCDF and JSON readers raise assorted types
        raise EnsembleError(f"{folder / chunk_dir(index)}: cannot be read ({type(e).__name__}: {e}); it changed "
                            "while the ensemble ran? run it again with --resume") from None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _prepare_folder(folder: Path, spec: EnsembleSpec, ranges: list[tuple[int, int]], resume: bool,
                    notify: Callable[[str], None] | None = None,
                    ) -> tuple[dict[str, Any], dict[int, Results | None], dict[int, list[tuple[str, str]]]]:
    if folder.exists() and not folder.is_dir():
        raise EnsembleError(f"--out {folder}: exists and is not a folder")
    old = read_manifest(folder) if folder.is_dir() else None
    done: dict[int, Results | None] = {}
    damaged: dict[int, list[tuple[str, str]]] = {}
    records: dict[int, dict[str, Any]] = {}
    if resume:
        if old is None:
            raise EnsembleError(f"--resume: {folder} holds no ensemble ({MANIFEST} missing); "
                                "run without --resume to start one")
        spec.compare(old)
        layout = [(c["index"], c["first"], c["count"], c["path"]) for c in old["chunks"]]
        if layout != [(i, a, n, chunk_dir(i)) for i, (a, n) in enumerate(ranges)]:
            raise EnsembleError(f"{folder / MANIFEST}: its chunk list does not match its --replications and "
                                "--chunk; run the ensemble again into a new folder")
        chunks = folder / CHUNKS
        if chunks.is_symlink() or (chunks.exists() and not chunks.is_dir()):
            _remove(chunks)  # nothing in it can be one of ours
        for p in chunks.glob(".chunk-*.tmp-*"):  # leftovers of a save interrupted by a crash
            shutil.rmtree(p, ignore_errors=True)
        _remove(folder / SUMMARY)  # derived: rebuilt from the chunks once they are all there
        for i, c in enumerate(old["chunks"]):
            problems = chunk_problems(folder, c) if c["status"] == "done" else None
            if problems == []:
                done[i] = None
                records[i] = c["files"]
                continue
            if problems:
                damaged[i] = problems
                if notify:
                    shown = "; ".join(f"{path}: {what}" for path, what in problems[:3])
                    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
                    notify(f"chunk {i} failed its check and runs again: {shown}{more}")
            _remove(folder / chunk_dir(i))  # damaged, or never recorded as finished
        manifest = old
    else:
        if old is not None:
            raise EnsembleError(f"--out {folder}: already holds an ensemble; add --resume to finish it, "
                                "or choose another folder")
        if folder.is_dir() and any(folder.iterdir()):
            raise EnsembleError(f"--out {folder}: the folder is not empty; choose a new or empty folder")
        manifest = {"format": FORMAT, "version": VERSION, "created": _now(),
                    **dataclasses.asdict(spec)}
    manifest["chunks"] = [{"index": i, "first": a, "count": n, "path": chunk_dir(i),
                           "status": "done" if i in done else "pending", "files": records.get(i)}
                          for i, (a, n) in enumerate(ranges)]
    manifest["complete"] = False
    manifest["summary_file"] = None
    manifest["updated"] = _now()
    try:
        (folder / CHUNKS).mkdir(parents=True, exist_ok=True)
        write_manifest(folder, manifest)
    except OSError as e:
        raise EnsembleError(f"--out {folder}: cannot write the ensemble there ({e.strerror or e})") from None
    return manifest, done, damaged


def manifest_request(folder: str | Path) -> dict[str, Any] | None:
    """The seed, replications, chunk and overrides an existing ensemble folder was run with
    (for `--resume` without repeating them); None if the folder holds none."""
    m = read_manifest(Path(folder)) if Path(folder).is_dir() else None
    if m is None:
        return None
    return {k: m.get(k) for k in ("scenario", "seed", "replications", "chunk", "overrides", "until",
                                  "keep_series")}
