"""User-facing errors: one line that says what was wrong and what to do. The CLI prints them as
`Error: ...` and exits with status 2; anything else that escapes is a bug and keeps its traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FbnError(Exception):
    """A mistake the user can fix (bad name, bad file, bad option)."""


def unknown_name_error(kind: str, name: str, available: Iterable[str]) -> FbnError:
    """`unknown dataset 'rafbd' (did you mean 'rafdb'?); available: a, b, c`."""
    available = sorted(available)
    close = difflib.get_close_matches(name, available, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listing = ", ".join(available) if available else "none registered"
    return FbnError(f"unknown {kind} {name!r}{hint}; available: {listing}")
