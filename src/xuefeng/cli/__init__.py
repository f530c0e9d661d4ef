"""The `xuefeng` command: thin wiring of the parts' command groups.

Each command group lives in its own module of this package so that the parts
stay apart: `scenario_cmds` (validate, schema, scenario, sources),
`engagement_cmds` (engagement fit/predict/evaluate/factors), `run_cmds`
(run, history). Errors the user can cause exit with status 2 and one message.
"""

from __future__ import annotations

import typer

from xuefeng.cli import scenario_cmds

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


scenario_cmds.register(app)

try:  # command groups of parts that may not be present yet in a partial checkout
    from xuefeng.cli import engagement_cmds

    engagement_cmds.register(app)
except ImportError:  # pragma: no cover
    pass
try:
    from xuefeng.cli import run_cmds

    run_cmds.register(app)
except ImportError:  # pragma: no cover
    pass


def main() -> None:
    app()
