"""Run commands: `xuefeng run` (one run or an ensemble, compared with the
sources) and `xuefeng history` (the historical check).

Errors the user can cause (unknown scenario, bad seed or replication count,
too many replications for the memory there is) exit with status 2 and one
message; Ctrl-C exits with 130 and leaves no half-written output.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xuefeng.cli.errors import fail
from xuefeng.cli.outputs import check_folder

#: Seeds are 63-bit non-negative integers (they are stored as int64).
MAX_SEED = 2**63 - 1
DEFAULT_HISTORY_REPLICATIONS = 500
#: The most replications one command accepts (a billion: at ~25 kB each, far beyond any memory).
MAX_REPLICATIONS = 10**9

stdout = Console(highlight=False, soft_wrap=False)
stderr = Console(stderr=True, highlight=False, emoji=False)


# --------------------------------------------------------------------------- input checks


#: Outcome quantities counted in people, printed as whole numbers.
HEADCOUNTS = ("casualties", "aircrew_lost", "civilian_casualties")

#: Replications `run` makes by default: enough for the sources' figures to meet a 90% interval.
DEFAULT_RUN_REPLICATIONS = 200


def parse_seed(text: str) -> int:
    """A seed from the command line, or `fail` saying what a seed must be."""
    t = text.strip()
    try:
        value = int(t, 10)
    except ValueError:
        fail(f"--seed '{text}' is not a whole number; give an integer from 0 to 2**63-1 (e.g. --seed 42)")
    if value < 0:
        fail(f"--seed {value} is negative; give an integer from 0 to 2**63-1")
    if value > MAX_SEED:
        fail(f"--seed {value} is too large; give an integer from 0 to 2**63-1 ({MAX_SEED})")
    return value


def parse_count(text: str, option: str, maximum: int, example: str) -> int:
    """A positive whole number from the command line, at most `maximum`, or `fail` naming `option`.

    Why a maximum: a count beyond it is a typo, and refusing it here keeps a 400-digit number
    out of the float arithmetic (memory estimates, array sizes) that would overflow on it.
    """
    t = text.strip()
    digits = t[1:] if t[:1] in "+-" else t
    try:
        value = int(t, 10)
    except ValueError:
        if digits.isdigit():  # beyond Python's int-conversion limit: a number, just an absurd one
            fail(f"{option}: a {len(digits):,}-digit number is too large; give at most {maximum:,}")
        fail(f"{option} '{text}' is not a whole number; give a positive integer (e.g. {example})")
    if value <= 0:
        fail(f"{option} {value}: give a positive integer (1 or more)")
    if value > maximum:
        shown = f"{value:,}" if len(digits) <= 30 else f"a {len(digits):,}-digit number"
        fail(f"{option}: {shown} is too large; give at most {maximum:,}")
    return value


def parse_replications(text: str, option: str = "--replications") -> int:
    """A replication count: positive and at most MAX_REPLICATIONS (then `check_memory` decides)."""
    return parse_count(text, option, MAX_REPLICATIONS, "-n 100")


def available_memory_bytes() -> int | None:
    """Memory this process may still use: MemAvailable, capped by a cgroup
    limit if one is set; None when neither can be read."""
    avail: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            room = int(limit) - int(used)
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    return avail


#: Fallback estimate's assumptions: state fields per unit, bytes of events
#: per replication and step, per-step series fields per unit, and a factor
#: for temporaries while stepping.
_STATE_FIELDS, _EVENT_BYTES_PER_STEP, _SERIES_FIELDS, _HEADROOM = 24, 200, 10, 2.0


def estimate_bytes(scenario: Any, replications: int, keep_series: int) -> int:
    """Memory a run needs: the engine's own estimate when it offers one
    (`xuefeng.engine.estimate_bytes`), otherwise units × steps × fields × 8
    bytes as the design notes reckon it."""
    try:
        from xuefeng import engine

        est = getattr(engine, "estimate_bytes", None)
    except ImportError:
        est = None
    if est is not None:
        try:
            return int(est(scenario, replications, keep_series))
        except (OverflowError, ValueError, MemoryError):  # numbers beyond the engine's integer types
            pass
    from xuefeng.results.model import CATEGORIES

    units = len(scenario.units)
    hours = (scenario.meta.end - scenario.meta.start).total_seconds() / 3600
    steps = math.ceil(hours / scenario.meta.time_step_hours) + 1
    per_rep = (units * (_STATE_FIELDS + len(CATEGORIES) + 1) * 8 + units * units
               + steps * _EVENT_BYTES_PER_STEP)
    series = min(replications, keep_series) * steps * units * _SERIES_FIELDS * 8
    return int(_HEADROOM * (replications * per_rep + series))


def _gb(n: float) -> str:
    """Bytes in words (decimal units)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:.0f} bytes"


def check_memory(scenario: Any, replications: int, keep_series: int) -> None:
    need = estimate_bytes(scenario, replications, keep_series)
    avail = available_memory_bytes()
    if avail is not None and need > avail:
        fail(f"--replications {replications} would need about {_gb(need)} of memory "
             f"({_gb(need / replications)} per replication) but only {_gb(avail)} is available; "
             f"run fewer replications (at most about {max(1, int(replications * avail / need)):,})")


def _load(scenario_ref: str):
    """The scenario, checked as the engine will use it (engine settings included); exit 2 if bad."""
    from xuefeng.engine.compile import EngineSettingsError, check_bridges, check_engine_settings
    from xuefeng.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(scenario_ref)
        check_engine_settings(scenario)
    except (ScenarioError, EngineSettingsError) as e:
        fail(str(e))
    if scenario.theater.bridges:
        try:
            check_bridges(scenario)
        except ValueError as e:
            fail(f"{scenario_ref}: {e}")
    return scenario


def _targets(scenario_ref: str, scenario, required: bool):
    from xuefeng.analysis.targets import TargetsError, check_against, find_targets_file, load_targets

    f = find_targets_file(scenario_ref)
    if f is None:
        if required:
            fail(f"scenario '{scenario.meta.name}' has no history targets: write a history_targets.yaml "
                 "beside its scenario file (see `xuefeng.analysis.targets`)")
        return None
    try:
        targets = load_targets(f)
        check_against(targets, scenario)
    except TargetsError as e:
        fail(str(e))
    return targets


# --------------------------------------------------------------------------- running


class _Progress:
    """A Rich progress bar fed by the engine's callback, which may report
    `(done, total)` or a fraction in [0, 1]."""

    def __init__(self, enabled: bool, label: str) -> None:
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                 TimeRemainingColumn(), console=stderr, transient=True,
                                 disable=not enabled)
        self.task = self.progress.add_task(label, total=1.0)

    def __enter__(self) -> Callable[..., None]:
        self.progress.__enter__()
        return self.update

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, done: float, total: float | None = None, *_: Any, **__: Any) -> None:
        frac = float(done) / float(total) if total else float(done)
        self.progress.update(self.task, completed=min(1.0, max(0.0, frac)))


def _simulate(scenario, replications: int, seed: int, keep_series: int, progress, setup=None):
    """Run the engine (a seam the tests replace); `setup`: the what-ifs' and --set's params and
    config (xuefeng.analysis.whatif.Setup), else the scenario's own."""
    try:
        from xuefeng.engine import simulate
    except ImportError:
        stderr.print("[bold red]error:[/] the engine (xuefeng.engine.simulate) is not available in this "
                      "installation")
        raise typer.Exit(code=1) from None
    if setup is not None:
        return simulate(setup.scenario, replications=replications, seed=seed, keep_series=keep_series,
                        progress=progress, params=setup.params, config=setup.config)
    return simulate(scenario, replications=replications, seed=seed, keep_series=keep_series,
                    progress=progress)


def _run_engine(scenario, replications: int, seed: int, keep_series: int, show_progress: bool, setup=None):
    from xuefeng.scenario import ScenarioError

    label = f"{scenario.meta.name}: {replications:,} replication{'s' if replications != 1 else ''}"
    try:
        with _Progress(show_progress, label) as cb:
            if setup is not None:
                return _simulate(scenario, replications, seed, keep_series, cb, setup=setup)
            return _simulate(scenario, replications, seed, keep_series, cb)
    except ScenarioError as e:  # the scenario loads but the engine cannot run it as written
        fail(str(e))


def _interrupted() -> typer.Exit:
    stderr.print("interrupted; no output written")
    return typer.Exit(code=130)


# --------------------------------------------------------------------------- printing


def _fmt(x: float | None, whole: bool = True) -> str:
    """A figure as printed; `whole`: a count of people (a median of 8.5 men prints as 8)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if not whole and abs(x) < 10 and x != int(x):
        return f"{x:.1f}"
    return f"{x:,.0f}"


def _stat(d: dict[str, float] | None, n: int, whole: bool = True) -> tuple[str, str]:
    if d is None:
        return ("—", "")
    if n == 1:
        return (_fmt(d["median"], whole), "")
    return (_fmt(d["median"], whole), f"{_fmt(d['p05'], whole)} – {_fmt(d['p95'], whole)}")


def _unit_name(scenario, unit_id: str) -> str:
    try:
        return scenario.unit(unit_id).name
    except KeyError:
        return unit_id


def _print_run(summary: dict[str, Any], scenario, rows) -> None:
    n = summary["replications"]
    names = {s.id: s.name for s in scenario.meta.sides}
    stdout.print(f"[bold]{escape(scenario.meta.title)}[/] — {n:,} replication{'s' if n != 1 else ''}, "
                 f"seed {summary['seed']}")
    out = Table(title="Outcome", show_header=True)
    out.add_column("")
    out.add_column("median" if n > 1 else "value", justify="right")
    if n > 1:
        out.add_column("90% interval", justify="right")

    def row(*cells: str) -> None:
        out.add_row(*cells[: 3 if n > 1 else 2])

    if n == 1:
        won = [s for s, p in summary["p_victory"].items() if p >= 1.0]
        row("winner", names.get(won[0], won[0]) if won else "no decision")
        row("objective lost", "yes" if summary["p_objective_lost"] >= 1.0 else "no")
    else:
        for s, p in summary["p_victory"].items():
            lo, hi = summary["p_victory_interval"][s]
            row(f"P({names.get(s, s)} victory)", f"{p:.1%}", f"{lo:.1%} – {hi:.1%}")
        row("P(objective lost)", f"{summary['p_objective_lost']:.1%}", "")
    row("furthest advance (km)", *_stat(summary["advance_km"], n, whole=False))
    e = summary["end_date"]
    row("campaign end", summary["end_date_median"] or "—",
        f"{(e['p05'] or 'never')[:10]} – {(e['p95'] or 'never')[:10]}")
    row("offensive over (back at start line)", summary["offensive_end_date_median"] or "never",
        f"in {summary['p_offensive_ended']:.0%} of replications")
    stdout.print(out)

    cas = Table(title="Casualties (simulated)")
    cas.add_column("side")
    cas.add_column("figure")
    cas.add_column("median" if n > 1 else "men", justify="right")
    if n > 1:
        cas.add_column("90% interval", justify="right")
    for s, cats in summary["casualties"].items():
        for c, d in {**cats, **summary["casualty_totals"][s]}.items():
            cas.add_row(names.get(s, s), c.replace("_", " "), *_stat(d, n)[: 2 if n > 1 else 1])
        cas.add_row(names.get(s, s), "aircrew lost", *_stat(summary["aircrew_lost"][s], n)[: 2 if n > 1 else 1])
    cas.add_row("civilians", "casualties", *_stat(summary["civilian_casualties"], n)[: 2 if n > 1 else 1])
    stdout.print(cas)

    if rows:
        cmp_ = Table(title="Sources beside the simulation")
        for col, just in (("source", "left"), ("about", "left"), ("figure", "left"), ("claimed", "right"),
                          ("simulated", "right"), ("90% interval" if n > 1 else "", "right"),
                          ("inside?" if n > 1 else "", "left")):
            cmp_.add_column(col, justify=just)  # type: ignore[arg-type]
        for r in rows:
            about = _unit_name(scenario, r.unit) if r.unit else (names.get(r.side, r.side) if r.side
                                                                  else "civilians")
            if r.simulated is None:
                sim, iv, inside = "—", "", "n/a"
            else:
                sim, iv = _stat(r.simulated.as_dict(), n)
                inside = ("yes" if r.within_interval else "no") if n > 1 else ""
            cmp_.add_row(escape(r.source), escape(about), r.category.replace("_", " "), _fmt(r.figure),
                         sim, iv, inside)
        stdout.print(cmp_)


# --------------------------------------------------------------------------- command bodies


def _print_digest(scen, results) -> None:
    """The first replication's events, digested (results.digest), one line each."""
    from xuefeng.results.digest import digest

    items = digest(scen, results.events)
    stdout.print(f"[bold]Events[/] of replication {int(results.replication_ids[0])} "
                 f"({len(items)} lines: engagements by day and defender; historical events marked)")
    for it in items:
        mark = " (historical)" if it.source == "historical" else ""
        stdout.print(f"{it.time:%Y-%m-%d %H:%M}  {escape(it.kind.replace('_', ' '))}: {escape(it.text)}{mark}",
                     highlight=False)


def overrides(scenario_ref: str, scen, whatifs: list[str] | None, sets: list[str] | None):
    """(scenario, setup) with the named what-ifs and --set overrides applied (the one override
    mechanism every command uses); setup is None when there are none."""
    if not whatifs and not sets:
        return scen, None
    from xuefeng.cli.ensemble_cmds import _setup_for

    setup = _setup_for(scenario_ref, scen, list(whatifs or []), list(sets or []))
    return setup.scenario, setup


def _run(scenario: str, seed: str, replications: str, out: Path | None, json_output: bool,
         events: bool = False) -> None:
    seed_v = parse_seed(seed)
    n = parse_replications(replications)
    scen = _load(scenario)
    targets = _targets(scenario, scen, required=False)
    keep_series = 1 if (out is not None or events) else 0
    check_memory(scen, n, keep_series)
    if out is not None:
        check_folder(out)

    from xuefeng.analysis.summary import AliasError, comparison_table, json_safe, summarise

    results = _run_engine(scen, n, seed_v, keep_series, show_progress=not json_output)
    try:
        summary = json_safe(summarise(results, scen, targets.summary_aliases if targets else None))
    except AliasError as e:
        fail(f"history_targets.yaml of '{scen.meta.name}': {e}")
    if out is not None:
        from xuefeng.results.io import ResultsFileError, save

        try:
            save(results, out, summary=summary)
        except (OSError, ResultsFileError) as e:
            fail(f"--out {out}: cannot write the results ({getattr(e, 'strerror', None) or e}); "
                 "nothing was written there")
    try:
        if json_output:
            if events:
                from xuefeng.results.digest import digest

                summary = {**summary, "events": [i.as_dict() for i in digest(scen, results.events)]}
            print(json.dumps(summary, indent=2))
            return
        _print_run(summary, scen, comparison_table(results, scen))
        if events:
            _print_digest(scen, results)
        if out is not None:
            stdout.print(f"saved to {escape(str(out))}")
    except KeyboardInterrupt:
        if out is None:
            raise
        stderr.print(f"interrupted; the results were saved in full to {escape(str(out))}")
        raise typer.Exit(code=130) from None


def _history(scenario: str, replications: str, seed: str, json_output: bool,
             whatifs: list[str] | None = None, sets: list[str] | None = None) -> None:
    seed_v = parse_seed(seed)
    n = parse_replications(replications)
    scen, setup = overrides(scenario, _load(scenario), whatifs, sets)
    targets = _targets(scenario, scen, required=True)
    check_memory(scen, n, 0)

    from xuefeng.analysis.history import check_history, format_value
    from xuefeng.analysis.targets import TargetsError

    results = _run_engine(scen, n, seed_v, 0, show_progress=not json_output, setup=setup)
    try:
        verdicts = check_history(results, scen, targets)
    except TargetsError as e:
        fail(str(e))
    ok = all(v.holds for v in verdicts)
    if json_output:
        from xuefeng.analysis.summary import json_safe

        def val(x):
            return x.isoformat() if hasattr(x, "isoformat") else x

        print(json.dumps(json_safe({
            "scenario": scen.meta.name, "replications": n, "seed": seed_v,
            "whatifs": list(whatifs or []), "set": list(sets or []), "all_hold": ok,
            "targets": [{"name": v.name, "source": v.source, "target": v.target_text, "kind": v.kind,
                         "quantity": v.quantity, "simulated_median": val(v.simulated_median),
                         "p05": val(v.p05), "p95": val(v.p95),
                         "compared_median": val(v.compared_median), "holds": v.holds}
                        for v in verdicts]}), indent=2))
    else:
        changed = ", ".join([*(whatifs or []), *(sets or [])])
        t = Table(title=f"{escape(scen.meta.title)}{escape(f' ({changed})') if changed else ''}: history check, "
                        f"{n:,} replications, seed {seed_v}")
        t.add_column("target")
        t.add_column("source", max_width=40)
        t.add_column("simulated median", justify="right")
        t.add_column("90% interval", justify="right")
        t.add_column("holds")
        for v in verdicts:
            kind = "count" if str(v.quantity).split(".")[0] in HEADCOUNTS and v.value_kind != "probability" \
                else v.value_kind
            med = format_value(v.simulated_median, kind)
            if v.compared_median is not None:
                med += f" vs {format_value(v.compared_median, kind)}"
            iv = f"{format_value(v.p05, kind)} – {format_value(v.p95, kind)}"
            t.add_row(escape(v.target_text), escape(v.source), med, iv,
                      "[green]yes[/]" if v.holds else "[bold red]no[/]")
        stdout.print(t)
        held = sum(v.holds for v in verdicts)
        stdout.print(f"{held} of {len(verdicts)} targets hold")
    raise typer.Exit(code=0 if ok else 1)


# --------------------------------------------------------------------------- commands


def register(app: typer.Typer) -> None:
    from xuefeng.scenario.registry import DEFAULT_SCENARIO

    @app.command()
    def run(
        scenario: str = typer.Argument(DEFAULT_SCENARIO, help="Scenario name, folder or .yaml file."),
        seed: str = typer.Option("0", "--seed", "-s", metavar="SEED", help="Random seed (0 to 2**63-1)."),
        replications: str = typer.Option(str(DEFAULT_RUN_REPLICATIONS), "--replications", "-n", metavar="N",
                                         help="Number of replications (1: one campaign's values, no intervals)."),
        out: Path | None = typer.Option(None, "--out", "-o", metavar="DIR",
                                        help="Save the run into this folder."),
        json_output: bool = typer.Option(False, "--json", help="Print only the summary as JSON."),
        events: bool = typer.Option(False, "--events", help="Also print the first replication's events, digested "
                                                            "(engagements by day and place, naming both sides)."),
    ) -> None:
        """Run a scenario and compare it with every source's figures."""
        try:
            _run(scenario, seed, replications, out, json_output, events)
        except KeyboardInterrupt:
            raise _interrupted() from None

    @app.command()
    def history(
        scenario: str = typer.Argument(DEFAULT_SCENARIO, help="Scenario name, folder or .yaml file."),
        replications: str = typer.Option(str(DEFAULT_HISTORY_REPLICATIONS), "--replications", "-n",
                                         metavar="N", help="Number of replications."),
        seed: str = typer.Option("0", "--seed", "-s", metavar="SEED", help="Random seed (0 to 2**63-1)."),
        json_output: bool = typer.Option(False, "--json", help="Print only the verdicts as JSON."),
        whatif: list[str] = typer.Option([], "--whatif", metavar="NAME",
                                         help="Apply a named what-if of the scenario (repeatable)."),
        set_: list[str] = typer.Option([], "--set", metavar="PATH=VALUE",
                                       help="Override a scenario field, params.<sub>.<field>, sides.<side>.<field> "
                                            "or sides.<side>.doctrine.<parameter>."),
    ) -> None:
        """Check an ensemble against what the sources say happened (with --whatif/--set: whether
        they still hold with a change).

        Exit status 0 if every target holds, 1 if any fails, 2 for bad input."""
        try:
            _history(scenario, replications, seed, json_output, list(whatif), list(set_))
        except KeyboardInterrupt:
            raise _interrupted() from None
