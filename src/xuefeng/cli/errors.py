"""How user-caused errors leave the CLI: one message on stderr, exit status 2."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class UserError(Exception):
    """An error the user caused and can fix; the message says how."""


def fail(message: str) -> NoReturn:
    """Print `error: message` on stderr and exit 2 (the message is shown literally, never as markup)."""
    stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    raise typer.Exit(code=2)
