"""Presentation commands: `xuefeng report`, `xuefeng plot`, `xuefeng serve`.

`report` and `plot` either run the scenario (DEFAULT_REPLICATIONS of them, so
that the sources' figures are compared with a distribution; the first is kept
for the replay) or read a saved run or ensemble (`--from DIR`, as written by
`xuefeng run --out` or `xuefeng ensemble --out`).
Errors the user can cause exit with status 2 and one message.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from xuefeng.cli.errors import fail
from xuefeng.cli.outputs import atomic_file, check_file, write_text

#: Replications `report` and `plot` run by default: enough for a 90% interval to mean something.
DEFAULT_REPLICATIONS = 200
_FROM_HELP = "Read a saved run (xuefeng run --out) or ensemble (xuefeng ensemble --out) instead of running."


def _results_for(scenario_ref: str, replications: str, seed: str, from_dir: Path | None):
    """(scenario, results): a saved run if `from_dir`, else a fresh one."""
    from xuefeng.cli.run_cmds import _load, _run_engine, check_memory, parse_replications, parse_seed

    n = parse_replications(replications)
    seed_v = parse_seed(seed)
    scen = _load(scenario_ref)
    if from_dir is not None:
        from xuefeng.analysis.ensemble import EnsembleError
        from xuefeng.analysis.ensemble_read import read_results
        from xuefeng.results.io import ResultsFileError

        try:
            results = read_results(from_dir)
        except (ResultsFileError, EnsembleError) as e:
            fail(f"--from {e}" if str(e).startswith(str(from_dir)) else f"--from {from_dir}: {e}")
        if results.scenario != scen.meta.name:
            fail(f"--from {from_dir}: holds a run of scenario '{results.scenario}', not '{scen.meta.name}'; "
                 f"name that scenario (xuefeng report {results.scenario} --from {from_dir})")
        return scen, results
    check_memory(scen, n, 1)
    try:
        results = _run_engine(scen, n, seed_v, 1, show_progress=True)
    except KeyboardInterrupt:
        typer.echo("interrupted; no output written", err=True)
        raise typer.Exit(code=130) from None
    return scen, results


def _replication_count(replications: str) -> int:
    """--replications as a number, or exit 2 naming it."""
    from xuefeng.cli.run_cmds import parse_replications

    return parse_replications(replications)


def _hexmap(scenario) -> Any:
    try:
        from xuefeng.geo import build_hexmap
    except ImportError:  # pragma: no cover
        return None
    return build_hexmap(scenario.theater)


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        fail(f"--date '{text}' is not a date; write it as YYYY-MM-DD (e.g. --date 1945-05-01)")


def _check_date(scenario, when: dt.date) -> None:
    """Fail before running when a date lies outside the scenario's campaign."""
    start, end = scenario.meta.start.date(), scenario.meta.end.date()
    if not (start <= when <= end):
        fail(f"--date {when.isoformat()} is outside the campaign of '{scenario.meta.name}' "
             f"({start.isoformat()} .. {end.isoformat()})")


def register(app: typer.Typer) -> None:
    from xuefeng.scenario.registry import DEFAULT_SCENARIO

    @app.command()
    def report(
        scenario: str = typer.Argument(DEFAULT_SCENARIO, help="Scenario name, folder or .yaml file."),
        out: Path = typer.Option(Path("report.html"), "--out", "-o", metavar="FILE", help="HTML file to write."),
        replications: str = typer.Option(str(DEFAULT_REPLICATIONS), "--replications", "-n", metavar="N",
                                         help="Number of replications."),
        seed: str = typer.Option("0", "--seed", "-s", metavar="SEED", help="Random seed (0 to 2**63-1)."),
        from_dir: Path | None = typer.Option(None, "--from", metavar="DIR", help=_FROM_HELP),
    ) -> None:
        """Write a self-contained HTML report: map replay, losses, sources' claims, order of battle."""
        check_file(out)
        scen, results = _results_for(scenario, replications, seed, from_dir)
        from xuefeng.viz.data import VizError
        from xuefeng.viz.report import build_report

        try:
            html = build_report(scen, results, _hexmap(scen))
        except VizError as e:
            fail(str(e))
        write_text(out, html)
        typer.echo(f"wrote {out} ({len(html.encode()) / 1e6:.1f} MB)")

    @app.command()
    def plot(
        kind: str = typer.Argument(..., metavar="KIND", help="map, overview, strengths, casualties or histograms."),
        scenario: str = typer.Argument(DEFAULT_SCENARIO, help="Scenario name, folder or .yaml file."),
        out: Path = typer.Option(..., "--out", "-o", metavar="FILE", help="PNG file to write."),
        date: str | None = typer.Option(None, "--date", metavar="DATE", help="Date of a map snapshot (YYYY-MM-DD)."),
        replications: str = typer.Option(str(DEFAULT_REPLICATIONS), "--replications", "-n", metavar="N",
                                         help="Number of replications."),
        seed: str = typer.Option("0", "--seed", "-s", metavar="SEED", help="Random seed (0 to 2**63-1)."),
        from_dir: Path | None = typer.Option(None, "--from", metavar="DIR", help=_FROM_HELP),
    ) -> None:
        """Draw one plot as PNG: map (at --date), overview (the front line at several dates), strengths, casualties, histograms."""
        from xuefeng.viz.plots import KINDS

        # `xuefeng plot SCENARIO KIND` is accepted too (the scenario named first)
        if kind not in KINDS and scenario in KINDS:
            kind, scenario = scenario, kind
        if kind not in KINDS:
            bad = scenario if scenario != DEFAULT_SCENARIO else kind
            fail(f"unknown plot kind '{bad}' (kinds: {', '.join(KINDS)})")
        if date is not None and kind != "map":
            fail(f"--date applies to the map plot only, not '{kind}'")
        when = _parse_date(date)
        if out.suffix.lower() != ".png":
            fail(f"--out {out}: plots are written as PNG; give a file name ending in .png")
        check_file(out)
        if when is not None:
            from xuefeng.cli.run_cmds import _load

            _check_date(_load(scenario), when)
        if kind == "histograms" and from_dir is None and _replication_count(replications) < 2:
            fail(f"--replications {replications}: histograms need 2 or more replications "
                 f"(the default is {DEFAULT_REPLICATIONS})")
        scen, results = _results_for(scenario, replications, seed, from_dir)
        if kind == "histograms" and results.replications < 2:
            fail(f"--from {from_dir}: holds {results.replications} replication; histograms need 2 or more "
                 "(save a run with -n 200, or an ensemble)")
        from xuefeng.viz.data import VizError
        from xuefeng.viz.plots import save_plot

        try:
            with atomic_file(out) as tmp:
                save_plot(kind, tmp, scen, results, when=when, hexmap=_hexmap(scen) if kind in ("map", "overview") else None)
        except VizError as e:
            fail(str(e))
        typer.echo(f"wrote {out}")

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS", help="Address to bind; other than loopback needs --token."),
        port: int = typer.Option(8000, "--port", "-p", min=0, max=65535, metavar="PORT", help="Port to listen on."),
        token: str | None = typer.Option(
            None, "--token", envvar="XUEFENG_TOKEN", metavar="SECRET",
            help="Secret every request must carry in a header (Authorization: Bearer SECRET, or "
                 "X-Xuefeng-Token: SECRET); never in the URL. A browser is asked for it once per tab."),
        workers: str | None = typer.Option(
            None, "--workers", "-w", metavar="K",
            help="Worker processes running runs at once, beside the server (default 1; more runs wait in "
                 "a queue). Capped by the usable CPU cores."),
        force_workers: bool = typer.Option(False, "--force-workers", help="Start more workers than CPU cores."),
        scenario_dir: list[Path] = typer.Option([], "--scenario-dir", metavar="FOLDER",
                                                help="A scenario folder (e.g. from `xuefeng scenario new`) to offer "
                                                     "besides the packaged ones; repeatable."),
    ) -> None:
        """Serve the workbench (choose a scenario, seed, replications and what-ifs; run; open the report),
        the JSON API and its documentation at /docs (docs/server.md, docs/workbench.md).

        Runs execute in worker processes, never in the server's; they end with the server."""
        from xuefeng.web.app import create_app, is_loopback
        from xuefeng.web.runs import DEFAULT_WORKERS
        from xuefeng.web.workbench import load_scenario_dirs

        if token is not None and len(token.strip()) < 8:
            fail("--token: use at least 8 characters (a long random string, e.g. from `openssl rand -hex 16`)")
        if not is_loopback(host) and token is None:
            fail(f"--host {host} would let other machines reach the server: give --token T (or set "
                 "XUEFENG_TOKEN), and every request must then send 'Authorization: Bearer T'")
        k = DEFAULT_WORKERS
        if workers is not None:
            from xuefeng.cli.ensemble_cmds import local_workers

            k = local_workers(workers, None, force_workers)
        from xuefeng.scenario import list_scenarios

        try:
            local = load_scenario_dirs(scenario_dir, taken=[n for n, _ in list_scenarios()])
        except ValueError as e:
            fail(str(e))
        import uvicorn

        from xuefeng.web.auth import log_config

        app_ = create_app(token=token, workers=k, local_scenarios=local)
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"serving on http://{shown}:{port}/ ({k} run worker{'s' if k != 1 else ''})"
                   + ("; send the token in a header, a browser asks for it" if token else ""))
        try:
            uvicorn.run(app_, host=host, port=port, log_level="info", server_header=False,
                        log_config=log_config(token))  # no token in the access log
        except OSError as e:
            fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
