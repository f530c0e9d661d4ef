"""How user-caused errors leave the CLI: one message on stderr, exit status 2."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

# emoji=False: Rich would read ':100:' in 'scenario.yaml:100:' as an emoji code.
stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


class UserError(Exception):
    """An error the user caused and can fix; the message says how."""


def error_text(message: str) -> Text:
    """`error: message` with the message kept literal: no markup, no emoji codes."""
    return Text.assemble(("error:", "bold red"), " ", message)


def fail(message: str) -> NoReturn:
    """Print `error: message` on stderr and exit 2 (the message is shown literally, never as markup)."""
    stderr.print(error_text(message))
    raise typer.Exit(code=2)
