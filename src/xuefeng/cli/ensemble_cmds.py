"""Ensemble commands: `xuefeng ensemble` (chunked, parallel, resumable runs),
`xuefeng whatif` (variants against the baseline with common random numbers)
and `xuefeng sensitivity` (Sobol indices of the engine parameters).

Input checks, scenario loading, the memory check, the summary and its
printing are `run_cmds`' own helpers, so `ensemble --json` prints the very
object `run --json` does. Errors the user can cause exit with status 2;
Ctrl-C exits with 130 (an ensemble with --out keeps every finished chunk and
says how to resume).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from xuefeng.cli import run_cmds
from xuefeng.cli.errors import fail
from xuefeng.cli.outputs import atomic_file, check_file, check_folder
from xuefeng.cli.run_cmds import MAX_REPLICATIONS, parse_count, parse_replications, parse_seed, stderr, stdout


#: The largest --workers, --chunk or Saltelli base accepted (far beyond any machine or memory).
MAX_COUNT = 10**6


def _positive(text: str | None, option: str, default: int, maximum: int = MAX_COUNT) -> int:
    if text is None:
        return default
    return parse_count(text, option, maximum, f"{option} 4")


class _ChunkProgress:
    """A Rich progress bar over chunks (or parameter sets) with the replication rate and ETA."""

    def __init__(self, enabled: bool, unit: str = "chunks") -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn(unit), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                 TextColumn("ETA"), TimeRemainingColumn(), console=stderr, transient=True,
                                 disable=not enabled)
        self.tasks: dict[str, Any] = {}
        self.t0: dict[str, float] = {}
        self.r0: dict[str, int] = {}

    def __enter__(self) -> _ChunkProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, label: str, done: int, total: int, reps: int | None = None) -> None:
        if label not in self.tasks:
            self.tasks[label] = self.progress.add_task(label, total=total, rate="")
            self.t0[label], self.r0[label] = time.monotonic(), reps or 0
        dt_ = time.monotonic() - self.t0[label]
        rate = ""
        if reps is not None and dt_ > 0 and reps > self.r0[label]:
            rate = f"{(reps - self.r0[label]) / dt_:,.1f} rep/s"
        self.progress.update(self.tasks[label], completed=done, total=total, rate=rate)


def _setup_for(scenario_ref: str, scen: Any, whatif_names: list[str], sets: list[str]):
    """The scenario/params/config with named what-ifs and --set overrides applied."""
    from xuefeng.analysis.whatif import (OverrideError, Setup, apply_whatif, load_whatifs, preflight,
                                         whatif_from_sets)

    setup = Setup.baseline(scen)
    try:
        known = load_whatifs(scenario_ref) if whatif_names else {}
        for name in whatif_names:
            if name not in known:
                fail(f"--whatif {name}: unknown what-if for scenario '{scen.meta.name}' "
                     f"(known: {', '.join(known) or 'none; the scenario has no whatifs.yaml'})")
            setup = apply_whatif(setup, known[name])
        if sets:
            setup = apply_whatif(setup, whatif_from_sets(sets))
        if whatif_names or sets:
            preflight(setup, "--whatif/--set")
    except OverrideError as e:
        fail(str(e))
    return setup


def default_workers() -> int:
    """One local worker process per CPU core this process may run on (affinity, cgroups' cpusets)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def checked_scheduler(address: str | None) -> str | None:
    """`--scheduler`, parsed and probed before any work (a clean exit 2, never a traceback or a hang)."""
    if address is None:
        return None
    from xuefeng.analysis.ensemble import EnsembleError, check_scheduler_address, probe_scheduler

    try:
        checked = check_scheduler_address(address)
        probe_scheduler(checked)
    except EnsembleError as e:
        fail(str(e))
    return checked


def local_workers(text: str | None, scheduler: str | None, force: bool) -> int:
    """`--workers`, capped by the usable cores unless `--force-workers`.

    Why: each worker is a process with its own copy of the compiled scenario; 48 of them on
    2 cores only add memory (GBs) and switching, not speed.
    """
    if scheduler:
        return _positive(text, "--workers", 1)
    cores = default_workers()
    k = _positive(text, "--workers", cores)
    if k > cores and not force:
        stderr.print(f"note: --workers {k}: only {cores} usable CPU core{'s' if cores > 1 else ''}; "
                     f"using {cores} (add --force-workers to start {k})")
        return cores
    return k


# --------------------------------------------------------------------------- ensemble


def _ensemble(scenario: str, replications: str | None, workers: str | None, scheduler: str | None,
              out: Path | None, resume: bool, chunk: str | None, seed: str | None, json_output: bool,
              whatifs: list[str], sets: list[str], force_workers: bool = False, verify: Path | None = None) -> None:
    from xuefeng.analysis.ensemble import EnsembleError, default_chunk, manifest_request, run_ensemble

    if verify is not None:
        given = [name for name, v in (("--out", out), ("--resume", resume), ("-n", replications), ("--chunk", chunk),
                                      ("--seed", seed), ("--workers", workers), ("--scheduler", scheduler),
                                      ("--whatif", whatifs), ("--set", sets)) if v]
        if given:
            fail(f"--verify checks a folder and runs nothing; give it without {', '.join(given)}")
        _verify(verify, json_output)
        return
    if resume and out is None:
        fail("--resume needs --out DIR: the folder of the ensemble to finish")
    if scheduler and workers is not None:
        fail("--workers and --scheduler: give one (a Dask cluster has its own workers)")
    scheduler = checked_scheduler(scheduler)
    prev = None
    if resume:
        try:
            prev = manifest_request(out)  # type: ignore[arg-type]
        except EnsembleError as e:
            fail(str(e))
        if prev is None:
            fail(f"--resume: {out} holds no ensemble (no manifest.json); run without --resume to start one")
    if out is not None:
        check_folder(out)
    seed_v = parse_seed(seed) if seed is not None else (int(prev["seed"]) if prev else 0)
    if replications is not None:
        n = parse_replications(replications)
    elif prev:
        n = int(prev["replications"])
    else:
        fail("give the number of replications with -n N (e.g. -n 1000)")
    k = local_workers(workers, scheduler, force_workers)
    c = _positive(chunk, "--chunk", int(prev["chunk"]) if prev else default_chunk(n, k), MAX_REPLICATIONS)
    if prev and not whatifs and not sets:
        ov = prev.get("overrides") or {}
        whatifs, sets = list(ov.get("whatifs", [])), list(ov.get("set", []))
    scen = run_cmds._load(scenario)
    targets = run_cmds._targets(scenario, scen, required=False)
    run_cmds.check_memory(scen, n, 1)
    setup = _setup_for(scenario, scen, whatifs, sets)
    overrides = {"whatifs": whatifs, "set": sets} if (whatifs or sets) else {}

    from xuefeng.analysis.summary import AliasError, comparison_table, json_safe, summarise
    from xuefeng.scenario import ScenarioError

    label = f"{scen.meta.name}: {n:,} replications in chunks of {c:,}"
    aliases = targets.summary_aliases if targets else None

    def summary_of(res: Any) -> dict[str, Any]:
        return json_safe(summarise(res, setup.scenario, aliases))

    try:
        with _ChunkProgress(not json_output) as bar:
            run = run_ensemble(setup.scenario, n, seed_v, chunk=c, workers=k, scheduler=scheduler, out=out,
                               resume=resume, params=setup.params, config=setup.config, overrides=overrides,
                               keep_series=1, progress=lambda d, t, r: bar.update(label, d, t, r),
                               summary=summary_of,
                               notify=lambda text: stderr.print(f"note: {escape(text)}", soft_wrap=True))
    except EnsembleError as e:
        fail(str(e))
    except ScenarioError as e:
        fail(str(e))
    except AliasError as e:
        fail(f"history_targets.yaml of '{scen.meta.name}': {e}")
    except KeyboardInterrupt:
        if out is None:
            raise run_cmds._interrupted() from None
        stderr.print(f"interrupted; every finished chunk is saved in {escape(str(out))}; finish the ensemble "
                     f"with: xuefeng ensemble {escape(scenario)} --out {escape(str(out))} --resume")
        raise typer.Exit(code=130) from None
    results, summary = run.results, run.summary
    if json_output:
        print(json.dumps(summary, indent=2))
        return
    run_cmds._print_run(summary, setup.scenario, comparison_table(results, setup.scenario))
    if out is not None:
        again = f"; {len(run.damaged)} of those run now were damaged" if run.damaged else ""
        stdout.print(f"{run.chunks_total} chunk(s) in {escape(str(out))} ({run.chunks_run} run now, "
                     f"{run.chunks_reused} from before{again})")


def _verify(folder: Path, json_output: bool) -> None:
    """`ensemble --verify DIR`: exit 0 if every finished file matches the manifest, 1 naming each
    damaged one, 2 if the folder holds no ensemble or its manifest cannot be trusted."""
    from xuefeng.analysis.ensemble import EnsembleError, verify_folder

    try:
        check = verify_folder(folder)
    except EnsembleError as e:
        fail(str(e))
    if json_output:
        print(json.dumps({"folder": str(folder), "intact": check.intact, "complete": check.complete,
                          "chunks": check.chunks_total, "chunks_done": check.chunks_done,
                          "damaged": [{"path": p, "problem": w} for p, w in check.problems]}, indent=2))
    else:  # plain print: one line per file, never wrapped or read as markup (paths are data)
        for path, what in check.problems:
            print(f"damaged: {folder / path}: {what}")
        state = "complete" if check.complete else \
            f"incomplete: {check.chunks_done} of {check.chunks_total} chunks finished"
        if check.intact:
            print(f"{folder}: intact ({state}; every finished file matches the manifest)")
        else:
            print(f"{folder}: {len(check.problems)} damaged file(s) ({state}); "
                  f"--resume --out {folder} runs the damaged chunks again")
    if not check.intact:
        raise typer.Exit(code=1)


# --------------------------------------------------------------------------- whatif


def _split_whatif_args(args: list[str]) -> tuple[str, list[str]]:
    """[SCENARIO] NAME... : the first word is the scenario if it names one."""
    from xuefeng.scenario import ScenarioError
    from xuefeng.scenario.loader import resolve_scenario_file
    from xuefeng.scenario.registry import DEFAULT_SCENARIO

    if args:
        try:
            resolve_scenario_file(args[0])
            return args[0], args[1:]
        except ScenarioError:
            pass
    return DEFAULT_SCENARIO, args


def _fmt_value(key: str, x: float | None, signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    if key.startswith("p_"):
        return f"{x:+.1%}" if signed else f"{x:.1%}"
    if key.split(".")[0] in run_cmds.HEADCOUNTS:  # men and aircrew are whole people
        return f"{x:+,.0f}" if signed else f"{x:,.0f}"
    if abs(x) < 10:
        return f"{x:+.2f}" if signed else f"{x:.2f}"
    return f"{x:+,.0f}" if signed else f"{x:,.0f}"


def _label(key: str, names: dict[str, str]) -> str:
    parts = key.split(".")
    if parts[0] == "p_victory":
        return f"P({names.get(parts[1], parts[1])} victory)"
    if parts[0] == "p_objective_lost":
        return "P(objective lost)"
    if parts[0] == "end_day":
        return "campaign end (days from start)"
    if parts[0] == "advance_km":
        return "furthest advance (km)"
    if parts[0] == "casualties":
        return f"{names.get(parts[1], parts[1])} {parts[2].replace('_', ' ')}"
    if parts[0] == "aircrew_lost":
        return f"{names.get(parts[1], parts[1])} aircrew lost"
    return key.replace("_", " ")


def _whatif(args: list[str], sets: list[str], replications: str, seed: str, json_output: bool,
            workers: str | None, scheduler: str | None, chunk: str | None, list_only: bool,
            force_workers: bool = False) -> None:
    from xuefeng.analysis.whatif import OverrideError, load_whatifs, run_whatifs, whatif_from_sets

    scenario, names = _split_whatif_args(list(args or []))
    scen = run_cmds._load(scenario)
    try:
        known = load_whatifs(scenario)
    except OverrideError as e:
        fail(str(e))
    if list_only:
        t = Table(title=f"What-ifs of {escape(scen.meta.title)}")
        t.add_column("name", no_wrap=True)
        t.add_column("what")
        t.add_column("note", max_width=70)
        for w in known.values():
            t.add_row(w.name, escape(w.title), escape(w.note))
        stdout.print(t)
        return
    seed_v = parse_seed(seed)
    n = parse_replications(replications)
    if scheduler and workers is not None:
        fail("--workers and --scheduler: give one (a Dask cluster has its own workers)")
    scheduler = checked_scheduler(scheduler)
    k = local_workers(workers, scheduler, force_workers)
    from xuefeng.analysis.ensemble import default_chunk

    c = _positive(chunk, "--chunk", default_chunk(n, k), MAX_REPLICATIONS)
    for name in names:
        if name not in known:
            fail(f"unknown what-if '{name}' for scenario '{scen.meta.name}' "
                 f"(known: {', '.join(known) or 'none; the scenario has no whatifs.yaml'}); "
                 f"if '{name}' is meant as a scenario, no such scenario was found")
    chosen = [known[x] for x in names]
    try:
        if sets:
            chosen.append(whatif_from_sets(sets))
    except OverrideError as e:
        fail(str(e))
    if not chosen:
        chosen = list(known.values())
    if not chosen:
        fail(f"scenario '{scen.meta.name}' has no named what-ifs (whatifs.yaml); give --set PATH=VALUE")
    run_cmds.check_memory(scen, n, 0)
    from xuefeng.analysis.summary import json_safe
    from xuefeng.scenario import ScenarioError

    try:
        with _ChunkProgress(not json_output) as bar:
            report = run_whatifs(scen, chosen, n, seed_v, chunk=c, workers=k, scheduler=scheduler,
                                 progress=lambda lab, d, t, r: bar.update(lab, d, t, r))
    except OverrideError as e:
        fail(str(e))
    except ScenarioError as e:
        fail(str(e))
    except KeyboardInterrupt:
        raise run_cmds._interrupted() from None
    obj = json_safe(report.as_dict())
    if json_output:
        print(json.dumps(obj, indent=2))
        return
    sides = {s.id: s.name for s in scen.meta.sides}  # names, as people read them (ids are for files)
    stdout.print(f"[bold]{escape(scen.meta.title)}[/] — what-ifs against the baseline, {n:,} replications, "
                 f"seed {seed_v} (common random numbers; 90% interval of the mean paired difference)")
    for v in obj["variants"]:
        t = Table(title=f"{escape(v['title'])} ({escape(v['name'])})", caption=escape(v["note"]) or None)
        t.add_column("outcome")
        t.add_column("baseline", justify="right")
        t.add_column("variant", justify="right")
        t.add_column("difference", justify="right")
        t.add_column("90% interval", justify="right")
        for key, d in v["outcomes"].items():
            if d["baseline"] == 0 and d["variant"] == 0:
                continue
            iv = "" if d["p05"] is None else \
                f"{_fmt_value(key, d['p05'], True)} – {_fmt_value(key, d['p95'], True)}"
            t.add_row(_label(key, sides), _fmt_value(key, d["baseline"]), _fmt_value(key, d["variant"]),
                      _fmt_value(key, d["difference"], True), iv)
        stdout.print(t)


# --------------------------------------------------------------------------- sensitivity


def _interval_too_wide(index: float, half_width: float) -> bool:
    """A Sobol index whose 95% half-width exceeds the index: indistinguishable from noise.
    Indices that are exactly 0 with 0 width (outcomes never varied) are not flagged."""
    return half_width > abs(index) and half_width > 0


def _sensitivity(scenario: str, params: list[str], base: str | None, reps: str | None, seed: str, out: Path | None,
                 json_output: bool, workers: str | None, scheduler: str | None, force_workers: bool = False) -> None:
    from xuefeng.analysis.sensitivity import (DEFAULT_BASE, DEFAULT_REPLICATIONS, SensitivityError,
                                              parse_factor, plot, run_sensitivity)
    from xuefeng.analysis.whatif import Setup

    seed_v = parse_seed(seed)
    b = _positive(base, "--base-size", DEFAULT_BASE)
    r = _positive(reps, "--replications", DEFAULT_REPLICATIONS, MAX_REPLICATIONS)
    if b < 2:
        fail("--base-size: the base sample needs at least 2 points")
    if scheduler and workers is not None:
        fail("--workers and --scheduler: give one (a Dask cluster has its own workers)")
    scheduler = checked_scheduler(scheduler)
    k = local_workers(workers, scheduler, force_workers)
    if out is not None:
        check_file(out, suffixes=(".png", ".svg", ".pdf"))
    scen = run_cmds._load(scenario)
    p0 = Setup.baseline(scen).params
    try:
        factors = [parse_factor(x, p0) for x in params] if params else None
    except SensitivityError as e:
        fail(str(e))
    from xuefeng.analysis.sensitivity import DEFAULT_FACTORS

    n_sets = b * (len(factors or DEFAULT_FACTORS) + 2)  # Saltelli, first and total order only
    if n_sets * r > MAX_REPLICATIONS:
        fail(f"-n {b:,} × --reps {r:,}: {n_sets:,} parameter sets of {r:,} replications is "
             f"{n_sets * r:,} replications, more than {MAX_REPLICATIONS:,}; give a smaller -n or --reps")
    run_cmds.check_memory(scen, r, 0)
    from xuefeng.analysis.summary import json_safe
    from xuefeng.scenario import ScenarioError

    try:
        with _ChunkProgress(not json_output, unit="parameter sets") as bar:
            res = run_sensitivity(scen, factors, base=b, replications=r, seed=seed_v, workers=k,
                                  scheduler=scheduler, progress=lambda d, t: bar.update("sensitivity", d, t, d * r))
    except SensitivityError as e:
        fail(str(e))
    except ScenarioError as e:
        fail(str(e))
    except KeyboardInterrupt:
        raise run_cmds._interrupted() from None
    if out is not None:
        with atomic_file(out) as tmp:
            plot(res, tmp)
    if json_output:
        print(json.dumps(json_safe(res.as_dict()), indent=2))
        return
    stdout.print(f"[bold]{escape(scen.meta.title)}[/] — Sobol sensitivity: {res.samples.shape[0]} parameter sets "
                 f"(base {b}) × {r} replication{'s' if r != 1 else ''}, seed {seed_v}; ranked by total index ST (± 95% confidence)")
    uncertain = 0
    for name in res.outcomes:
        t = Table(title=name.replace("_", " ") + (" (never varied: no indices)" if name in res.constant else ""))
        t.add_column("rank", justify="right")
        t.add_column("parameter", overflow="fold")
        t.add_column("range", overflow="fold")
        t.add_column("S1", justify="right")
        t.add_column("ST", justify="right")
        franges = {f.name: f for f in res.factors}
        for i, row in enumerate(res.indices[name], 1):
            f = franges[str(row["parameter"])]
            cells = []
            for key in ("S1", "ST"):
                wide = _interval_too_wide(float(row[key]), float(row[f"{key}_conf"]))
                uncertain += wide
                cells.append(f"{float(row[key]):.2f} ± {float(row[f'{key}_conf']):.2f}" + (" ?" if wide else ""))
            t.add_row(str(i), str(row["parameter"]), f"{f.low:g} – {f.high:g}", *cells)
        stdout.print(t)
    if uncertain:
        stderr.print(f"[yellow]warning[/]: {uncertain} ind{'ex has' if uncertain == 1 else 'ices have'} "
                     "a 95% interval wider than the index itself (marked ?): they do not tell the factors "
                     "apart; raise --base-size (e.g. 64) and --replications")
    if out is not None:
        stdout.print(f"plot saved to {escape(str(out))}")


# --------------------------------------------------------------------------- commands


def register(app: typer.Typer) -> None:
    from xuefeng.scenario.registry import DEFAULT_SCENARIO

    @app.command()
    def ensemble(
        scenario: str = typer.Argument(DEFAULT_SCENARIO, help="Scenario name, folder or .yaml file."),
        replications: str | None = typer.Option(None, "--replications", "-n", metavar="N",
                                                help="Number of replications (with --resume: the manifest's)."),
        workers: str | None = typer.Option(None, "--workers", "-w", metavar="K",
                                           help="Local worker processes (default: one per CPU core this process may use)."),
        scheduler: str | None = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                             help="Run on this Dask scheduler (e.g. tcp://127.0.0.1:8786)."),
        force_workers: bool = typer.Option(False, "--force-workers",
                                           help="Start --workers K processes even if K exceeds the usable CPU cores."),
        out: Path | None = typer.Option(None, "--out", "-o", metavar="DIR",
                                        help="Write chunks and a manifest into this folder as they finish."),
        resume: bool = typer.Option(False, "--resume", help="Finish the ensemble in --out after an interruption."),
        chunk: str | None = typer.Option(None, "--chunk", "-c", metavar="C",
                                         help="Replications per chunk (default: two or more chunks per worker, at most 1024)."),
        seed: str | None = typer.Option(None, "--seed", "-s", metavar="SEED",
                                        help="Random seed (0 to 2**63-1; default 0)."),
        json_output: bool = typer.Option(False, "--json", help="Print only the summary as JSON (as `run --json`)."),
        whatif: list[str] = typer.Option([], "--whatif", metavar="NAME",
                                         help="Apply a named what-if of the scenario (repeatable)."),
        set_: list[str] = typer.Option([], "--set", metavar="PATH=VALUE",
                                       help="Override a scenario field, params.<sub>.<field>, sides.<side>.<field> "
                                            "or sides.<side>.doctrine.<parameter>."),
        verify: Path | None = typer.Option(None, "--verify", metavar="DIR",
                                           help="Check an ensemble folder against its manifest's checksums and run "
                                                "nothing: exit 0 intact, 1 damaged (each file named), 2 unreadable."),
    ) -> None:
        """Run a large ensemble in chunks, across processes or a Dask cluster; resumable and verifiable."""
        try:
            _ensemble(scenario, replications, workers, scheduler, out, resume, chunk, seed, json_output,
                      list(whatif), list(set_), force_workers, verify)
        except KeyboardInterrupt:
            raise run_cmds._interrupted() from None

    @app.command(name="whatif")
    def whatif_cmd(
        args: list[str] | None = typer.Argument(None, metavar="[SCENARIO] [NAME]...",
                                                help="Scenario (optional), then what-if names "
                                                     "(default: every named what-if)."),
        set_: list[str] = typer.Option([], "--set", metavar="PATH=VALUE",
                                       help="A variant made of overrides (repeatable; all form one variant)."),
        replications: str = typer.Option("100", "--replications", "-n", metavar="N",
                                         help="Replications per variant."),
        seed: str = typer.Option("0", "--seed", "-s", metavar="SEED", help="Random seed (0 to 2**63-1)."),
        json_output: bool = typer.Option(False, "--json", help="Print only the differences as JSON."),
        workers: str | None = typer.Option(None, "--workers", "-w", metavar="K",
                                             help="Local worker processes (default: one per CPU core)."),
        scheduler: str | None = typer.Option(None, "--scheduler", metavar="ADDRESS", help="Dask scheduler."),
        force_workers: bool = typer.Option(False, "--force-workers",
                                           help="Start --workers K processes even if K exceeds the usable CPU cores."),
        chunk: str | None = typer.Option(None, "--chunk", "-c", metavar="C", help="Replications per chunk."),
        list_only: bool = typer.Option(False, "--list", help="List the scenario's named what-ifs and exit."),
    ) -> None:
        """Compare what-if variants with the baseline (same seed and replications: common random numbers)."""
        try:
            _whatif(list(args or []), list(set_), replications, seed, json_output, workers, scheduler, chunk,
                    list_only, force_workers)
        except KeyboardInterrupt:
            raise run_cmds._interrupted() from None

    @app.command()
    def sensitivity(
        scenario: str = typer.Argument(DEFAULT_SCENARIO, help="Scenario name, folder or .yaml file."),
        params: list[str] = typer.Option([], "--params", "-p", metavar="NAME[=LOW:HIGH]",
                                         help="Engine parameter sub_model.field to vary (repeatable; default: "
                                              "a curated list, ±50%)."),
        base: str | None = typer.Option(None, "--base-size", "--base", "-b", metavar="B",
                                        help="Saltelli base sample size (a power of 2; default 8)."),
        reps: str | None = typer.Option(None, "--replications", "-n", "--reps", "-r", metavar="N",
                                        help="Replications per parameter set (default 2)."),
        seed: str = typer.Option("0", "--seed", "-s", metavar="SEED", help="Random seed (0 to 2**63-1)."),
        out: Path | None = typer.Option(None, "--out", "-o", metavar="PLOT", help="Save a bar plot (.png/.svg/.pdf)."),
        json_output: bool = typer.Option(False, "--json", help="Print only the indices as JSON."),
        workers: str | None = typer.Option(None, "--workers", "-w", metavar="K",
                                             help="Local worker processes (default: one per CPU core)."),
        scheduler: str | None = typer.Option(None, "--scheduler", metavar="ADDRESS", help="Dask scheduler."),
        force_workers: bool = typer.Option(False, "--force-workers",
                                           help="Start --workers K processes even if K exceeds the usable CPU cores."),
    ) -> None:
        """Sobol sensitivity of the main outcomes to the engine parameters: which factors decided it."""
        try:
            _sensitivity(scenario, list(params), base, reps, seed, out, json_output,
                         workers, scheduler, force_workers)
        except KeyboardInterrupt:
            raise run_cmds._interrupted() from None
