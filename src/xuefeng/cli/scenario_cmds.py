"""Scenario commands: validate, schema, scenario list/show, sources.

Thin: load through `xuefeng.scenario`, turn a ScenarioError into one message
and exit status 2, render with Rich. Figures come from `scenario.summary`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from xuefeng.cli.errors import fail
from xuefeng.scenario import DEFAULT_SCENARIO, Scenario, ScenarioError, list_scenarios, load_scenario
from xuefeng.scenario.schema import Provenance, Unit
from xuefeng.scenario.summary import counts, order_of_battle, subtree_strengths

MAX_LISTED_ERRORS = 10

ScenarioArg = Annotated[str, typer.Argument(
    help="Packaged scenario name, a folder with scenario.yaml, or a .yaml file.")]


def _load(source: str) -> Scenario:
    """Load or exit 2 with the error's one line."""
    try:
        return load_scenario(source)
    except ScenarioError as exc:
        fail(str(exc))


def _men(x: float) -> str:
    return f"{x:,.0f}"


def _side_name(scenario: Scenario, side_id: str) -> str:
    """The side's name as people read it (ids are for files)."""
    return next((s.name for s in scenario.meta.sides if s.id == side_id), side_id)


def _prov(p: Provenance) -> str:
    return escape(p.source + (f": {p.note}" if p.note else ""))


# --------------------------------------------------------------------------- commands


def validate(path: ScenarioArg) -> None:
    """Check a scenario; print a summary, or the errors found (exit status 2).

    Files over 20 MB (scenario or GeoJSON layer) are refused.
    """
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        lines = [str(exc)]
        lines += [f"  {e.one_line(with_more=False)}" for e in exc.others[:MAX_LISTED_ERRORS]]
        if len(exc.others) > MAX_LISTED_ERRORS:
            lines.append(f"  … {len(exc.others) - MAX_LISTED_ERRORS} more not shown")
        fail("\n".join(lines))
    from xuefeng.engine.compile import EngineSettingsError, check_engine_settings

    try:
        check_engine_settings(scenario)  # parameter overrides name the engine's parameters
    except EngineSettingsError as exc:
        fail(str(exc))
    if scenario.theater.bridges:  # each listed bridge must sit on a road crossing of the map
        from xuefeng.engine.compile import check_bridges

        try:
            check_bridges(scenario)
        except ValueError as exc:
            fail(f"{path}: {exc}")
    n_targets, n_whatifs = _check_companions(path, scenario)
    c = counts(scenario)
    side_names = {s.id: s.name for s in scenario.meta.sides}
    men = ", ".join(f"{side_names.get(side, side)} {_men(n)} men" for side, n in c["men_by_side"].items())
    typer.echo(
        f"ok: {scenario.meta.title} ({scenario.meta.name}): {_n(c['units'], 'unit')} ({men}), "
        f"{_n(c['air_groups'], 'air group')} ({_n(c['aircraft'], 'aircraft', 'aircraft')}), "
        f"{_n(c['claims'], 'claim')}, {_n(c['events'], 'event')}, {_n(c['plans'], 'plan')}; "
        f"map: {_n(c['towns'], 'town')}, {_n(c['airfields'], 'airfield')}, {_n(c['roads'], 'road')}, "
        f"{_n(c['rivers'], 'river')}, "
        + (f"{_n(c['bridges'], 'bridge')}, " if c["bridges"] else "")
        + f"{_n(c['terrain_regions'], 'terrain region')}"
        + (f"; {_n(n_targets, 'history target')}" if n_targets is not None else "")
        + (f"; {_n(n_whatifs, 'what-if')}" if n_whatifs is not None else ""))


def _check_companions(path: str, scenario: Scenario) -> tuple[int | None, int | None]:
    """Check the folder's history_targets.yaml and whatifs.yaml as `history`/`whatif` would read them.

    Otherwise a typo there passes `validate` and surfaces only after a long ensemble.
    Returns the number of targets and of what-ifs (None where the file is absent).
    """
    from xuefeng.analysis.targets import TargetsError, check_against, find_targets_file, load_targets
    from xuefeng.analysis.whatif import (OverrideError, Setup, apply_whatif, find_whatifs_file, load_whatifs,
                                         preflight)

    n_targets = n_whatifs = None
    targets_file = find_targets_file(path)
    if targets_file is not None:
        try:
            targets = load_targets(targets_file)
            check_against(targets, scenario)
        except TargetsError as exc:
            msg = str(exc)
            fail(msg if msg.startswith(str(targets_file)) else f"{targets_file}: {msg}")
        n_targets = len(targets.targets)
    whatifs_file = find_whatifs_file(path)
    if whatifs_file is not None:
        try:
            whatifs = load_whatifs(path)
            baseline = Setup.baseline(scenario)
            for name, w in whatifs.items():
                preflight(apply_whatif(baseline, w), f"what-if '{name}'")
        except OverrideError as exc:
            msg = str(exc)
            fail(msg if msg.startswith(str(whatifs_file)) else f"{whatifs_file}: {msg}")
        n_whatifs = len(whatifs)
    return n_targets, n_whatifs


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def schema() -> None:
    """Print the JSON Schema of the scenario format (GeoJSON layers merged)."""
    typer.echo(json.dumps(Scenario.model_json_schema(), indent=2))


def scenario_list() -> None:
    """List the packaged scenarios."""
    found = list_scenarios()
    if not found:
        typer.echo("no packaged scenarios installed")
        return
    table = Table(title="Packaged scenarios")
    table.add_column("Name", style="bold")
    table.add_column("Title")
    for name, title in found:
        table.add_row(escape(name) + (" (default)" if name == DEFAULT_SCENARIO else ""), escape(title))
    Console().print(table)


def scenario_show(
    name: Annotated[str, typer.Argument(help="Packaged scenario name, folder or .yaml file.")] = DEFAULT_SCENARIO,
    as_json: Annotated[bool, typer.Option("--json", help="Print units, air groups and claims as JSON.")] = False,
    notes: Annotated[bool, typer.Option("--notes", help="Also print each unit's notes (assumptions, ambiguities).")] = False,
) -> None:
    """Show the order of battle: units with strengths and sources, side totals, air groups."""
    scenario = _load(name)
    if as_json:
        typer.echo(json.dumps(order_of_battle(scenario), indent=2, ensure_ascii=False))
        return
    console = Console()
    console.print(f"[bold]{escape(scenario.meta.title)}[/] ({escape(scenario.meta.name)}), "
                  f"{scenario.meta.start:%Y-%m-%d} – {scenario.meta.end:%Y-%m-%d}")
    for tree in _oob_trees(scenario, with_notes=notes):
        console.print(tree)
    if scenario.air_groups:
        console.print(_air_table(scenario))


def scenario_new(
    folder: Annotated[str, typer.Argument(metavar="NAME", help="Folder to create (must not exist, or be empty).")],
    source: Annotated[str, typer.Option("--from", metavar="SCENARIO",
                                        help="Packaged scenario to copy.")] = DEFAULT_SCENARIO,
) -> None:
    """Start a scenario of your own: an editable copy of a packaged one, ready to validate and run."""
    import shutil
    from pathlib import Path

    from xuefeng.scenario.registry import scenario_dir

    target = Path(folder)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        fail(f"{folder}: already exists and is not an empty folder; give a new folder name "
             f"(e.g. xuefeng scenario new my-scenario)")
    try:
        origin = scenario_dir(source)
    except ScenarioError as exc:
        fail(f"--from {source}: {exc}")
    try:
        shutil.copytree(origin, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    except OSError as exc:
        fail(f"{folder}: cannot write the scenario there ({exc.strerror or exc})")
    files = sorted(p.name for p in target.iterdir())
    typer.echo(f"wrote {folder}/ ({', '.join(files)}), a copy of '{source}'; edit it, then "
               f"`xuefeng validate {folder}` and `xuefeng run {folder}`")


def sources(name: ScenarioArg = DEFAULT_SCENARIO) -> None:
    """Show every source's figures (the claims the simulation is compared with)."""
    console = Console()
    console.print(_claims_table(_load(name)))


# --------------------------------------------------------------------------- rendering


def _oob_trees(scenario: Scenario, with_notes: bool = False) -> list[Tree]:
    """One Rich tree per side: units under their parents, with own and subtree strength."""
    totals = subtree_strengths(scenario)
    children: dict[str | None, list[Unit]] = defaultdict(list)
    for u in scenario.units:
        children[u.parent].append(u)
    trees = []
    for side in scenario.meta.sides:
        n = sum(1 for u in scenario.units if u.side == side.id)
        tree = Tree(f"[bold]{escape(side.name)}[/] ({escape(side.id)}): "
                    f"{_men(scenario.side_strength(side.id))} men in {n} units")
        stack = [(tree, u) for u in reversed(children[None]) if u.side == side.id]
        while stack:
            branch, u = stack.pop()
            node = branch.add(_unit_label(u, totals[u.id]))
            for note in u.notes if with_notes else ():
                node.add(f"[italic yellow]note:[/] {escape(note)}")
            stack.extend((node, c) for c in reversed(children[u.id]))
        trees.append(tree)
    return trees


def _unit_label(u: Unit, total: float) -> str:
    bits = [f"[bold]{escape(u.name)}[/] [dim]{escape(u.id)}[/]", u.echelon.value.replace("_", " ")]
    if u.commander:
        bits.append(escape(u.commander))
    bits.append(f"{_men(u.strength.total)} own / {_men(total)} total")
    if u.arrival is not None:
        bits.append(f"arrives {u.arrival:%Y-%m-%d} by {u.arrival_mode.value}")
    if not u.committed:
        bits.append("uncommitted")
    bits.append(f"[dim]source: {_prov(u.provenance)}[/]")
    return " · ".join(bits)


def _air_table(scenario: Scenario) -> Table:
    table = Table(title="Air groups")
    for col in ("Id", "Name", "Side", "Aircraft", "Base", "Missions", "Source"):
        table.add_column(col, justify="right" if col == "Aircraft" else "left")
    for g in scenario.air_groups:
        table.add_row(escape(g.id), escape(g.name), escape(_side_name(scenario, g.side)), str(g.aircraft), escape(g.base or "—"),
                      ", ".join(m.value for m in g.missions), _prov(g.provenance))
    total = sum(g.aircraft for g in scenario.air_groups)
    table.add_section()
    table.add_row("", "total", "", str(total), "", "", "")
    return table


def _claims_table(scenario: Scenario) -> Table:
    """Claims grouped by side, then source: the figures each source gives."""
    table = Table(title=f"Claims in {escape(scenario.meta.title)}")
    for col in ("Side", "Source", "Category", "Figure", "Note"):
        table.add_column(col, justify="right" if col == "Figure" else "left")
    claims = sorted(scenario.claims, key=lambda c: (c.side or "~civilians", c.source))
    prev: tuple[str | None, str] | None = None
    for c in claims:
        group = (c.side, c.source)
        if prev is not None and group != prev:
            table.add_section()
        note = c.note
        if c.provenance.note and c.provenance.note not in note:
            note = f"{note} ({c.provenance.note})" if note else c.provenance.note
        table.add_row(escape(_side_name(scenario, c.side) if c.side else "civilians") if group != prev else "",
                      escape(c.source) if group != prev else "",
                      c.category.value.replace("_", " "), f"{c.figure:,.0f}", escape(note))
        prev = group
    return table


# --------------------------------------------------------------------------- wiring


def register(app: typer.Typer) -> None:
    """Add the scenario commands to the `xuefeng` app."""
    app.command()(validate)
    app.command()(schema)
    app.command()(sources)
    group = typer.Typer(help="Packaged scenarios and their order of battle.", no_args_is_help=True)
    group.command("list")(scenario_list)
    group.command("show")(scenario_show)
    group.command("new")(scenario_new)
    app.add_typer(group, name="scenario")
