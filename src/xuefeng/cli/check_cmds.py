"""`xuefeng check-model`: the metamorphic checks of the campaign model (xuefeng.analysis.checks)."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from xuefeng.cli import run_cmds
from xuefeng.cli.errors import fail
from xuefeng.cli.run_cmds import parse_replications, parse_seed, stdout

DEFAULT_REPLICATIONS = "200"


def _check_model(scenario: str, replications: str, seed: str, json_output: bool, workers: str | None) -> None:
    from xuefeng.analysis.checks import check_model
    from xuefeng.analysis.summary import json_safe
    from xuefeng.analysis.whatif import OverrideError
    from xuefeng.cli.ensemble_cmds import _ChunkProgress, _positive, default_workers
    from xuefeng.scenario import ScenarioError

    scen = run_cmds._load(scenario)
    n = parse_replications(replications)
    seed_v = parse_seed(seed)
    k = _positive(workers, "--workers", default_workers())
    run_cmds.check_memory(scen, n, 0)
    try:
        with _ChunkProgress(not json_output) as bar:
            report = check_model(scen, n, seed_v, workers=k, progress=lambda lab, d, t, r: bar.update(lab, d, t, r))
    except (ValueError, OverrideError, ScenarioError) as e:
        fail(str(e))
    if json_output:
        print(json.dumps(json_safe(report.as_dict()), indent=2))
    else:
        t = Table(title=f"Model checks: {escape(scen.meta.title)} — {n} replications per variant, seed {seed_v}")
        t.add_column("check", no_wrap=True)
        t.add_column("claim", max_width=44)
        t.add_column("measured", max_width=40)
        t.add_column("holds", no_wrap=True)
        for c in report.checks:
            figs = "\n".join(f"{k_} {v:.3g}" for k_, v in c.figures.items()) or c.note
            holds = "—" if c.holds is None else ("yes" if c.holds else "[red]no[/]")
            t.add_row(c.name, escape(c.claim), escape(figs), holds)
        stdout.print(t)
        held = sum(1 for c in report.checks if c.holds)
        told = sum(1 for c in report.checks if c.holds is not None)
        stdout.print(f"{held} of {told} checks hold")
    if not report.all_hold:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    from xuefeng.scenario.registry import DEFAULT_SCENARIO

    @app.command(name="check-model")
    def check_model_cmd(
        scenario: str = typer.Argument(DEFAULT_SCENARIO, help="Scenario name, folder or .yaml file."),
        replications: str = typer.Option(DEFAULT_REPLICATIONS, "--replications", "-n", metavar="N",
                                         help="Replications per variant (common random numbers)."),
        seed: str = typer.Option("0", "--seed", "-s", metavar="SEED", help="Random seed (0 to 2**63-1)."),
        json_output: bool = typer.Option(False, "--json", help="Print only the checks as JSON."),
        workers: str | None = typer.Option(None, "--workers", "-w", metavar="K",
                                           help="Local worker processes (default: one per CPU core)."),
    ) -> None:
        """Metamorphic checks: the model responds to forces, air and step length in the direction of
        their causes. Exit 0 only if every applicable check holds (1 if one fails, 2 for bad input)."""
        try:
            _check_model(scenario, replications, seed, json_output, workers)
        except KeyboardInterrupt:
            raise run_cmds._interrupted() from None
