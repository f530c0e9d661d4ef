"""Engagement commands: fit, predict, evaluate, factors, doc.

Thin: read through `xuefeng.engagement.cdb90`, fit/predict/evaluate through
the engagement part, render with Rich.  User errors (a missing or unreadable
file, missing columns, a bad parameter file) exit with status 2 and one
message.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xuefeng.cli.errors import fail
from xuefeng.cli.outputs import atomic_file, check_file, write_text

#: The most further fold seeds `engagement doc --extra-seeds` runs (each is a whole cross-validation).
MAX_EXTRA_SEEDS = 100

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

DataArg = Annotated[Path, typer.Argument(help="A CDB90-format CSV (e.g. cdb90-dev.csv).", show_default=False)]
ParamsOpt = Annotated[
    Optional[Path],
    typer.Option("--params", help="Parameter file (JSON from `engagement fit`); default: the shipped fit."),
]
FoldsOpt = Annotated[int, typer.Option("--folds", "-k", help="Number of cross-validation folds.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the fold assignment.")]
GroupByOpt = Annotated[
    Optional[str],
    typer.Option("--group-by", help="Hold out whole groups: 'campaign' (GroupKFold on CDB90's CAMPGN: "
                 "scores on campaigns the model has never seen). Default: folds stratified on WINA.",
                 show_default=False),
]


def _load_fit_data(path: Path):
    from xuefeng.engagement.cdb90 import (
        REQUIRED_FIT_COLUMNS,
        CDB90Error,
        inputs_from_frame,
        read_table,
        targets_from_frame,
    )

    try:
        df = read_table(path, required=REQUIRED_FIT_COLUMNS)
    except CDB90Error as exc:
        fail(str(exc))
    if len(df) == 0:
        fail(f"{path}: no rows")
    return inputs_from_frame(df), targets_from_frame(df)


def _load_model(params: Optional[Path]):
    from xuefeng.engagement import EngagementModel

    if params is None:
        return EngagementModel.default()
    if not params.exists():
        fail(f"{params}: no such parameter file")
    if not params.is_file():
        fail(f"{params}: not a file; give the JSON file `xuefeng engagement fit` wrote")
    from xuefeng.engagement.params_file import ParamsFileError

    try:
        return EngagementModel.load(params)
    except ParamsFileError as exc:
        fail(f"{params}: not an engagement parameter file: {exc}")
    except OSError as exc:
        fail(f"{params}: cannot read it ({exc.strerror or exc})")
    except ValueError as exc:
        fail(f"{params}: not an engagement parameter file ({exc})")


def _print_factors(model, title: str) -> None:
    """One Rich table per part (power ratio, attacker casualties, defender casualties)."""
    from xuefeng.engagement.report import factor_table

    header, rows = factor_table(model)
    console.print(f"[bold]{escape(title)}[/]")
    parts = list(dict.fromkeys(r[0] for r in rows))
    for part in parts:
        t = Table(title=part, title_justify="left")
        t.add_column("factor", no_wrap=True)
        for h in header[3:]:
            t.add_column(h, justify="right", no_wrap=True)
        t.add_column("meaning")
        for r in rows:
            if r[0] == part:
                t.add_row(*(escape(c) for c in (r[1], *r[3:], r[2])))
        console.print(t)


# --------------------------------------------------------------------------- commands


def fit_cmd(
    data: DataArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the fitted parameters (JSON).")] = Path(
        "engagement-params.json"
    ),
) -> None:
    """Fit the engagement model by maximum likelihood on a CDB90 CSV and write its parameters."""
    from xuefeng.engagement.fit import fit

    check_file(out)
    x, t = _load_fit_data(data)
    try:
        model = fit(x, t, meta={"data": data.name})
    except ValueError as exc:
        fail(f"{data}: cannot fit: {exc}")
    with atomic_file(out) as tmp:
        model.save(tmp)
    _print_factors(model, f"Engagement model fitted on {data.name}")
    m = model.meta
    console.print(
        f"{m['n_battles']} battles, {m['n_decisive']} decisive; casualty figures: "
        f"{m['n_casualty_att']} attacker, {m['n_casualty_def']} defender; "
        f"{m['n_war_groups']} war/theatre/campaign groups. Wrote {escape(str(out))}."
    )


def predict_cmd(
    input: Annotated[Path, typer.Argument(help="A CSV with CDB90's columns (any may be missing).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output CSV: ISQNO,p_attacker_win,cas_attacker,cas_defender.")],
    params: ParamsOpt = None,
) -> None:
    """Predict P(attacker wins) and each side's casualties (men) for every row."""
    from xuefeng.engagement.cdb90 import CDB90Error, inputs_from_frame, read_table

    check_file(out)
    model = _load_model(params)
    try:
        df = read_table(input, required=())
    except CDB90Error as exc:
        fail(str(exc))
    x = inputs_from_frame(df)
    p, ca, cd = model.predict_batch(**x.as_kwargs(), **x.groups_kwargs())
    bad = ~(np.isfinite(p) & np.isfinite(ca) & np.isfinite(cd))
    with atomic_file(out) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["ISQNO", "p_attacker_win", "cas_attacker", "cas_defender"])
        for i in range(len(x)):
            if bad[i]:
                w.writerow([x.isqno[i], "", "", ""])
            else:
                w.writerow([x.isqno[i], f"{p[i]:.4f}", f"{ca[i]:.0f}", f"{cd[i]:.0f}"])
    n_bad = int(bad.sum())
    if n_bad:
        ids = ", ".join(str(v) for v in x.isqno[bad][:10]) + (" …" if n_bad > 10 else "")
        err_console.print(
            f"[yellow]warning:[/] {n_bad} of {len(x)} row(s) could not be predicted "
            f"(attacker or defender strength missing or unknown; left empty): ISQNO {escape(ids)}",
            markup=True,
        )
    console.print(f"Predicted {len(x) - n_bad} of {len(x)} rows; wrote {escape(str(out))}.")


def evaluate_cmd(
    data: DataArg,
    folds: FoldsOpt = 10,
    seed: SeedOpt = 0,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the table as Markdown.")] = False,
    group_by: GroupByOpt = None,
) -> None:
    """Cross-validate the model and the baselines (winner accuracy, Brier, casualty errors)."""
    from xuefeng.engagement.evaluate import GROUP_BY, cross_validate
    from xuefeng.engagement.report import EVAL_HEADER, evaluation_markdown, evaluation_rows

    if group_by is not None:
        group_by = group_by.strip().lower()
        if group_by not in GROUP_BY:
            fail(f"--group-by must be one of: {', '.join(GROUP_BY)} (got {group_by!r})")
    x, t = _load_fit_data(data)
    n = int((np.isfinite(x.att_strength) & np.isfinite(x.def_strength)).sum())
    if folds < 2 or folds > n:
        fail(f"--folds must be between 2 and the number of battles with both strengths ({n})")
    with console.status("cross-validating …") as status:
        try:
            scores = cross_validate(x, t, folds, seed, progress=lambda s: status.update(f"cross-validating: {s}"),
                                    group_by=group_by)
        except ValueError as exc:
            fail(f"{data}: cannot cross-validate: {exc}")
    if markdown:
        typer.echo(evaluation_markdown(scores, folds, seed, group_by=group_by))
        return
    how = " by campaign" if group_by == "campaign" else ""
    table = Table(title=f"{folds}-fold cross-validation{how} on {escape(data.name)} (seed {seed})")
    for h in EVAL_HEADER:
        table.add_column(h, justify="left" if h == "model" else "right")
    for r in evaluation_rows(scores):
        table.add_row(*(escape(c) for c in r))
    console.print(table)
    s = scores[0]
    console.print(
        f"Winner over {s.n_win} decisive battles (draws left out); casualties over {s.n_att} attacker "
        f"and {s.n_def} defender figures. MdALE: median absolute log error."
    )


def factors_cmd(
    params: ParamsOpt = None,
    wars: Annotated[bool, typer.Option("--wars", help="Also print the war and theatre effects.")] = False,
) -> None:
    """Print the fitted factors with their standard errors (Dupuy-style table)."""
    from xuefeng.engagement.report import war_table

    model = _load_model(params)
    src = "shipped parameters" if params is None else str(params)
    _print_factors(model, f"Engagement model factors ({src})")
    alpha = model.power.get("force_ratio", math.nan)
    console.print(
        "value: coefficient (log-odds per unit for the power factors; log casualty fraction per unit for "
        f"the casualty parts). exp(value): multiplier on the power ratio; = strength x: exp(value/alpha), "
        f"alpha = {alpha:.3f}."
    )
    if wars:
        header, rows = war_table(model)
        t = Table(title="War and theatre effects")
        for h in header:
            t.add_column(h)
        for r in rows:
            t.add_row(*(escape(c) for c in r))
        console.print(t)


def doc_cmd(
    data: DataArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Markdown file to write.")] = Path("docs/engagement-model.md"),
    folds: FoldsOpt = 10,
    seed: SeedOpt = 0,
    extra_seeds: Annotated[int, typer.Option("--extra-seeds", help="Also report the model's rows for this many further fold seeds.")] = 4,
) -> None:
    """Fit on DATA, cross-validate, and write the model's document (equations, factors, evaluation)."""
    from xuefeng.engagement.evaluate import MODELS, cross_validate
    from xuefeng.engagement.fit import fit
    from xuefeng.engagement.report import document

    if not 0 <= extra_seeds <= MAX_EXTRA_SEEDS:  # each is a full cross-validation: a huge count never ends
        fail(f"--extra-seeds {extra_seeds if abs(extra_seeds) < 10**30 else '(a huge number)'}: "
             f"give 0 to {MAX_EXTRA_SEEDS}")
    check_file(out)
    x, t = _load_fit_data(data)
    try:
        model = fit(x, t, meta={"data": data.name})
        with console.status("cross-validating …") as status:
            scores = cross_validate(x, t, folds, seed, progress=lambda s: status.update(f"cross-validating: {s}"))
            others = []
            for extra in range(1, max(extra_seeds, 0) + 1):
                status.update(f"cross-validating the model with seed {seed + extra}")
                others.append((seed + extra, cross_validate(x, t, folds, seed + extra, models=MODELS[:2])))
            status.update("cross-validating by campaign")
            by_campaign = cross_validate(x, t, folds, seed, group_by="campaign")
    except ValueError as exc:
        fail(f"{data}: {exc}")
    shown = out.as_posix() if not out.is_absolute() else out.name
    command = (f"xuefeng engagement doc CDB90DEV --folds {folds} --seed {seed} "
               f"--extra-seeds {extra_seeds} --out {shown}")
    text = document(model, scores, data_name=data.name, k=folds, seed=seed, command=command,
                    other_seeds=others, by_campaign=by_campaign)
    write_text(out, text)
    console.print(f"Wrote {escape(str(out))}.")


def register(app: typer.Typer) -> None:
    sub = typer.Typer(
        name="engagement",
        help="The engagement model: fit, predict, evaluate, factors, doc.",
        no_args_is_help=True,
    )
    sub.command("fit")(fit_cmd)
    sub.command("predict")(predict_cmd)
    sub.command("evaluate")(evaluate_cmd)
    sub.command("factors")(factors_cmd)
    sub.command("doc")(doc_cmd)
    app.add_typer(sub, name="engagement")
