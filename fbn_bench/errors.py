"""User-facing errors: one line that says what was wrong and what to do. The CLI prints them as
`Error: ...` and exits with status 2; anything else that escapes is a bug and keeps its traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import pluggy


class FbnError(Exception):
    """A mistake the user can fix (bad name, bad file, bad option)."""


def unknown_name_error(kind: str, name: str, available: Iterable[str]) -> FbnError:
    """`unknown dataset 'rafbd' (did you mean 'rafdb'?); available: a, b, c`."""
    available = sorted(available)
    same_letters = [a for a in available if a.lower() == name.lower()]  # `DISFA`: names are lower case
    close = same_letters or difflib.get_close_matches(name, available, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listing = ", ".join(available) if available else "none registered"
    return FbnError(f"unknown {kind} {name!r}{hint}; available: {listing}")


def one_line(exc: BaseException) -> str:
    """`Type: first line` of an exception, for warnings that must stay on one line (pluggy's validation
    errors keep every line, joined, since their reason comes after the first)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    # pluggy puts the reason (e.g. an argument the hookspec lacks) after the first line; keep all of it.
    text = "; ".join(lines) if isinstance(exc, pluggy.PluginValidationError) else (lines[0] if lines else "")
    return f"{type(exc).__name__}: {text}".rstrip(": ")
