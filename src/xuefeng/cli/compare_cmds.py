"""`xuefeng baselines FILE.csv`: the Lanchester baselines fitted to a recorded daily series
(`xuefeng.analysis.lanchester`), with their cumulative-casualty errors and daily correlation;
`xuefeng compare SCENARIO --series FILE.csv`: the engine's daily casualties against the record,
the baselines beside them (`xuefeng.analysis.series`).

Bad input (missing file or column, non-numeric value, bad --side or --days) exits 2 with one message.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from xuefeng.cli.errors import fail

#: Days at which cumulative casualties are compared (the issue's days 10, 20 and 33).
DEFAULT_DAYS = "10,20,33"
stdout = Console(highlight=False, soft_wrap=False)


def parse_sides(items: list[str]) -> dict[str, str]:
    """`SIDE=PREFIX` pairs: the side id and the CSV's column prefix for it (two sides)."""
    out: dict[str, str] = {}
    for it in items:
        side, sep, prefix = it.partition("=")
        if not sep or not side.strip() or not prefix.strip():
            fail(f"--side '{it}': write it as SIDE=PREFIX (e.g. --side allies=allied)")
        out[side.strip()] = prefix.strip()
    if len(out) != 2:
        fail("--side: give exactly two, one per side (e.g. --side allies=allied --side germany=german)")
    return out


def parse_days(text: str) -> list[int]:
    try:
        days = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail(f"--days '{text}': give whole day numbers separated by commas (e.g. --days {DEFAULT_DAYS})")
    if not days:
        fail(f"--days '{text}': give at least one day (e.g. --days {DEFAULT_DAYS})")
    return days


def baseline_rows(record, fits, days: list[int]) -> list[dict]:
    """Per fit and side: parameters, cumulative casualties at `days` with relative error,
    Pearson correlation of daily casualties, RMSE and MAPE of daily casualties."""
    rows = []
    for f in fits:
        for s, obs in record.casualties.items():
            sim = f.casualties[s]
            cs, co = np.cumsum(sim), np.cumsum(obs)
            at = {}
            for d in days:
                i = int(d - record.days[0])
                at[str(d)] = {"recorded": float(co[i]), "fitted": float(cs[i]),
                              "relative_error": float((cs[i] - co[i]) / co[i]) if co[i] else None}
            ok = obs > 0
            rows.append({"model": f.law, "side": s, "a": f.a, "b": f.b, "p": f.p, "q": f.q,
                         "cumulative": at, "correlation": float(np.corrcoef(sim, obs)[0, 1]),
                         "rmse": float(np.sqrt(np.mean((sim - obs) ** 2))),
                         "mape": float(np.mean(np.abs(sim[ok] - obs[ok]) / obs[ok]))})
    return rows


def read_record(series: Path, side: list[str], days_text: str):
    """(sides, days, record) from the command line: the side mapping, the days to compare and
    the recorded series, every one checked (exit 2 naming the input)."""
    from xuefeng.analysis.lanchester import SeriesError, read_series

    sides = parse_sides(side)
    days = parse_days(days_text)
    try:
        record = read_series(series, sides)
    except SeriesError as e:
        fail(str(e))
    lo, hi = int(record.days[0]), int(record.days[-1])
    for d in days:
        if not lo <= d <= hi:
            fail(f"--days: day {d} is outside the record's days {lo}–{hi}")
    return sides, days, record


def _baselines(series: Path, side: list[str], days_text: str, json_output: bool) -> None:
    from xuefeng.analysis.lanchester import fit_all

    sides, days, record = read_record(series, side, days_text)
    r_side, b_side = list(sides)
    rows = baseline_rows(record, fit_all(record, r_side, b_side), days)
    if json_output:
        print(json.dumps({"series": str(series), "sides": sides, "days": days, "baselines": rows}, indent=2))
        return
    t = Table(title=f"Lanchester baselines fitted to {series.name} (R = {r_side}, B = {b_side})")
    for col in ("model", "side", "a", "b", "p", "q", *(f"cum. day {d} (err)" for d in days), "r", "MAPE"):
        t.add_column(col, justify="left" if col in ("model", "side") else "right")
    for r in rows:
        t.add_row(r["model"], r["side"], f"{r['a']:,.0f}", f"{r['b']:,.0f}", f"{r['p']:.2f}", f"{r['q']:.2f}",
                  *(f"{c['fitted']:,.0f} ({c['relative_error']:+.1%})" for c in r["cumulative"].values()),
                  f"{r['correlation']:.2f}", f"{r['mape']:.0%}")
    stdout.print(t)


def _compare(scenario: str, series: Path, side: list[str], days_text: str, first_day: int, replications: str,
             seed: str, out: Path | None, json_output: bool, whatifs: list[str] | None = None,
             sets: list[str] | None = None) -> None:
    from xuefeng.analysis.lanchester import fit_all
    from xuefeng.analysis.series import measures, plot, simulated_series
    from xuefeng.cli.outputs import check_file
    from xuefeng.cli.run_cmds import _load, _run_engine, check_memory, overrides, parse_replications, parse_seed

    n = parse_replications(replications)
    seed_v = parse_seed(seed)
    sides, days, record = read_record(series, side, days_text)
    lo = int(record.days[0])
    scen, setup = overrides(scenario, _load(scenario), whatifs, sets)
    known = [s_.id for s_ in scen.meta.sides]
    for s_ in sides:
        if s_ not in known:
            fail(f"--side {s_}=...: '{s_}' is not a side of {scen.meta.name} (sides: {', '.join(known)})")
    if out is not None:
        check_file(out, suffixes=(".png", ".svg", ".pdf"))
    check_memory(scen, n, 0)
    results = _run_engine(scen, n, seed_v, 0, show_progress=not json_output, setup=setup)
    try:
        sim = simulated_series(results, record, first_day)
    except ValueError as e:
        fail(f"--series {series}: {e}; set --first-day to the record's day of the scenario's start")
    r_side, b_side = list(sides)
    fits = fit_all(record, r_side, b_side)
    idx = [int(d - lo) for d in days]
    rows = []
    for s_ in sides:
        m = measures(sim.median[s_], record.casualties[s_], idx, sim.cumulative_median[s_])
        rows.append({"model": "engine", "side": s_, **m})
        for f in fits:
            rows.append({"model": f.law + " (fitted)", "side": s_, "a": f.a, "b": f.b, "p": f.p, "q": f.q,
                         **measures(f.casualties[s_], record.casualties[s_], idx)})
    for r_ in rows:
        r_["cumulative"] = {str(days[i]): v for i, v in zip(range(len(days)), r_["cumulative"].values())}
    if out is not None:
        plot(record, sim, fits, out)
    if json_output:
        print(json.dumps({"scenario": scen.meta.name, "replications": n, "seed": seed_v,
                          "whatifs": list(whatifs or []), "set": list(sets or []), "series": str(series),
                          "first_day": first_day, "days": days, "rows": rows}, indent=2))
        return
    changed = ", ".join([*(whatifs or []), *(sets or [])])
    t = Table(title=f"{scen.meta.name}{f' ({changed})' if changed else ''} ({n} replications, median) "
                    f"against {series.name}")
    for col in ("model", "side", *(f"day {d}" for d in days), "r"):
        t.add_column(col, justify="left" if col in ("model", "side") else "right")
    for r_ in rows:
        t.add_row(r_["model"], r_["side"],
                  *(f"{c['model']:,.0f} ({c['relative_error']:+.0%})" for c in r_["cumulative"].values()),
                  f"{r_['correlation']:.2f}")
    stdout.print(t)
    stdout.print("cumulative battle casualties at each day (relative error against the record); r: correlation "
                 "of daily casualties. The engine is not fitted to the record; the baselines are.")
    if out is not None:
        stdout.print(f"plot: {out}")


def register(app: typer.Typer) -> None:
    @app.command()
    def compare(
        scenario: str = typer.Argument(..., help="Scenario name, folder or .yaml file."),
        series: Path = typer.Option(..., "--series", metavar="FILE", help="Recorded daily series (CSV)."),
        side: list[str] = typer.Option(..., "--side", metavar="SIDE=PREFIX",
                                       help="A side id and its column prefix in the CSV; give two."),
        days: str = typer.Option(DEFAULT_DAYS, "--days", help="Record days for cumulative casualties."),
        first_day: int = typer.Option(None, "--first-day", metavar="DAY",
                                      help="The record's day number of the scenario's start "
                                           "(default: its first row)."),
        replications: str = typer.Option("200", "--replications", "-n", metavar="N", help="Replications."),
        seed: str = typer.Option("0", "--seed", "-s", metavar="SEED", help="Random seed."),
        out: Path | None = typer.Option(None, "--out", "-o", metavar="FILE", help="Plot (.png, .svg, .pdf)."),
        json_output: bool = typer.Option(False, "--json", help="Print the table as JSON."),
        whatif: list[str] = typer.Option([], "--whatif", metavar="NAME",
                                         help="Apply a named what-if of the scenario (repeatable)."),
        set_: list[str] = typer.Option([], "--set", metavar="PATH=VALUE",
                                       help="Override a scenario field, params.<sub>.<field>, sides.<side>.<field> "
                                            "or sides.<side>.doctrine.<parameter>."),
    ) -> None:
        """The engine's daily casualties against a recorded series, with fitted Lanchester baselines."""
        fd = first_day
        if fd is None:
            import pandas as pd

            try:
                fd = int(pd.read_csv(series, usecols=["day"])["day"].iloc[0])
            except Exception:  # the reader below names what is wrong with the file
                fd = 0
        _compare(scenario, series, side, days, fd, replications, seed, out, json_output, list(whatif), list(set_))

    @app.command()
    def baselines(
        series: Path = typer.Argument(..., help="Recorded daily series (CSV: day, <prefix>_men, "
                                                "<prefix>_casualties per side)."),
        side: list[str] = typer.Option(..., "--side", metavar="SIDE=PREFIX",
                                       help="A side id and its column prefix; give two."),
        days: str = typer.Option(DEFAULT_DAYS, "--days", help="Days for cumulative casualties."),
        json_output: bool = typer.Option(False, "--json", help="Print the table as JSON."),
    ) -> None:
        """Fit the Lanchester baselines to a recorded daily series and print their errors."""
        _baselines(series, side, days, json_output)
