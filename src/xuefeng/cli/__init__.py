"""The `xuefeng` command: thin wiring of the parts' command groups.

Each command group lives in its own module of this package so that the parts
stay apart (DESIGN.md §2a names one `cli.py`; a package keeps each group's
options and messages beside each other instead of in one long file):
`scenario_cmds` (validate, schema, scenario, sources), `engagement_cmds`
(engagement fit/predict/evaluate/factors/doc), `run_cmds` (run, history),
`ensemble_cmds` (ensemble, whatif, sensitivity), `check_cmds` (check-model), `viz_cmds` (report, plot,
serve). Errors the user can cause exit with
status 2 and one message.
"""

from __future__ import annotations

import typer

from xuefeng.cli import check_cmds, compare_cmds, engagement_cmds, ensemble_cmds, run_cmds, scenario_cmds, viz_cmds

app = typer.Typer(
    name="xuefeng",
    help="Xuefeng campaign simulator. Default scenario: the Battle of West Hunan (1945).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Xuefeng campaign simulator. Default scenario: the Battle of West Hunan (1945)."""


for _group in (scenario_cmds, engagement_cmds, run_cmds, ensemble_cmds, check_cmds, viz_cmds, compare_cmds):
    _group.register(app)


def main() -> None:
    app()
