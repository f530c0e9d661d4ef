"""The one error type a bad scenario gives: where (file, line, field path) and what.

Users fix scenario files in an editor, so every problem must point at a file
and a line and say what was expected. The CLI prints `str(error)` — one line —
and exits with status 2; library callers can read the fields.
"""

from __future__ import annotations

from collections.abc import Sequence

Loc = tuple[str | int, ...]


def format_path(loc: Sequence[str | int]) -> str:
    """`('units', 3, 'parent')` -> `units[3].parent` (the form users see)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def short_repr(value: object, limit: int = 60) -> str:
    """A value as the user wrote it, cut short so the message stays one line."""
    text = repr(value) if not isinstance(value, (int, float)) or isinstance(value, bool) else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ScenarioError(Exception):
    """A scenario that cannot be loaded: missing, unreadable, malformed or inconsistent.

    Fields:
      file     – the file at fault (the scenario YAML or a GeoJSON layer), or None
      line     – 1-based line in `file`, or None when unknown
      path     – field path inside the file, e.g. `units[3].parent` ('' if none)
      message  – what is wrong, in words that say what was expected
      expected – what was expected, alone (for programs; may be None)
      got      – the offending value, shortened (may be None)
      others   – further errors found in the same pass (first error is `self`)
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str = "",
        expected: str | None = None,
        got: str | None = None,
        others: Sequence[ScenarioError] = (),
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.path = path
        self.expected = expected
        self.got = got
        self.others = list(others)
        super().__init__(self.one_line())

    @property
    def field_path(self) -> str:
        """Alias of `path`: the field path inside `file`."""
        return self.path

    @property
    def errors(self) -> list[ScenarioError]:
        """All errors found, this one first."""
        return [self, *self.others]

    def location(self) -> str:
        """`file:line` (or what part of it is known)."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def one_line(self, with_more: bool = True) -> str:
        """`file:line: path: message (got X)` plus how many more errors there are."""
        parts = [p for p in (self.location(), self.path) if p]
        text = ": ".join([*parts, self.message])
        if self.got is not None:
            text += f" (got {self.got})"
        if with_more and self.others:
            n = len(self.others)
            text += f" — and {n} more error{'s' if n > 1 else ''}"
        return " ".join(text.splitlines())

    def __reduce__(self) -> tuple[object, ...]:
        """Keep every field when pickled (errors cross process boundaries in ensembles)."""
        return (self.__class__, (self.message,), self.__dict__)

    def __str__(self) -> str:
        return self.one_line()
