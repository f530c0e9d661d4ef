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

from typing import Any

import typer
import typer.core

from xuefeng.cli import check_cmds, compare_cmds, engagement_cmds, ensemble_cmds, run_cmds, scenario_cmds, viz_cmds


def _no_placeholder(param: Any) -> Any:
    param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
    return param


def _readable_placeholders(cmd: Any) -> Any:
    """Help that reads as words instead of typer's `<bool>`/`<str>`/`<int>` placeholders.

    Flags and --help show no placeholder. Arguments show their name in capitals (SCENARIO).
    Other options show their metavar, or else their name in capitals (--folds FOLDS)."""
    for param in cmd.params:
        if isinstance(param, typer.core.TyperArgument):
            if param.metavar is None:
                param.metavar = (param.name or "").upper()
            _no_placeholder(param)
        elif isinstance(param, typer.core.TyperOption) and param.is_flag:
            _no_placeholder(param)
        elif isinstance(param, typer.core.TyperOption) and param.metavar is None:
            param.metavar = (param.name or "").upper()
    help_option = cmd.get_help_option
    cmd.get_help_option = lambda ctx: (lambda opt: opt and _no_placeholder(opt))(help_option(ctx))
    for sub in getattr(cmd, "commands", {}).values():
        _readable_placeholders(sub)
    return cmd


class _ReadableGroup(typer.core.TyperGroup):
    """The root group: its command tree gets readable placeholders before it parses anything."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _readable_placeholders(self)
        return super().main(*args, **kwargs)


app = typer.Typer(
    cls=_ReadableGroup,
    name="xuefeng",
    help="Xuefeng campaign simulator. Default scenario: the Battle of West Hunan (1945).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    """Eager --version: print and stop before any command runs."""
    if value:
        from xuefeng import __version__

        typer.echo(f"xuefeng {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version and exit."),
) -> None:
    """Xuefeng campaign simulator. Default scenario: the Battle of West Hunan (1945)."""


for _group in (scenario_cmds, engagement_cmds, run_cmds, ensemble_cmds, check_cmds, viz_cmds, compare_cmds):
    _group.register(app)


def main() -> None:
    app()
