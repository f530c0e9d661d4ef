"""Shared assertion of the CLI tests: a refusal is one line, exit status 2, no traceback."""

from __future__ import annotations


def one_line_exit_2(result, *words: str) -> str:
    """Assert a typer CliRunner result is one line naming `words`, exit 2; return that line."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    text = result.output.strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    for w in words:
        assert w in text, (w, text)
    return text
