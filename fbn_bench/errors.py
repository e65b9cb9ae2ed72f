"""User-facing errors: one line that says what was wrong and what to do. The CLI prints them as
`Error: ...` and exits with status 2; anything else that escapes is a bug and keeps its traceback."""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable

import pluggy


class FbnError(Exception):
    """A mistake the user can fix (bad name, bad file, bad option)."""


class FbnWarning(UserWarning):
    """Something a user should know that stops nothing (a metric undefined on a split); the CLI prints it as
    one `warning: ...` line, without Python's file and source line."""


def unknown_name_error(kind: str, name: str, available: Iterable[str]) -> FbnError:
    """`unknown dataset 'rafbd' (did you mean 'rafdb'?); available: a, b, c`."""
    available = sorted(available)
    same_letters = [a for a in available if a.lower() == name.lower()]  # `DISFA`: names are lower case
    # difflib's default cutoff (0.6) misses one wrong letter in a two- or three-letter name (`dn` for `dm`).
    cutoff = 0.5 if len(name) <= 3 else 0.6
    close = same_letters or difflib.get_close_matches(name, available, n=1, cutoff=cutoff)
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


# What to do about the operating-system errors users meet (by errno): one place, for the CLI and atomic writes.
_OS_HINTS = {
    errno.EACCES: "choose a folder you can write to, or fix its permissions",
    errno.EPERM: "choose a folder you can write to, or fix its permissions",
    errno.EROFS: "the disk is read-only: choose a writable folder",
    errno.ENOSPC: "free some space or choose another disk",
    errno.EDQUOT: "free some space or choose another disk",
    errno.ENOTDIR: "a part of that path is a file, not a folder: choose another path",
    errno.EEXIST: "a file is in the way of a folder of that name: choose another path",
    errno.EISDIR: "it is a folder: give a file name",
    errno.ENOENT: "check the path",
    errno.ENAMETOOLONG: "choose a shorter path",
}


def os_hint(exc: OSError) -> str:
    """What the user can do about `exc` (a failed read, write or folder creation)."""
    return _OS_HINTS.get(exc.errno, "check the path and the disk")


def os_error_line(exc: OSError) -> str:
    """`PATH: Permission denied; choose a folder ...`: an OSError as one line naming the path it is about."""
    reason = exc.strerror or type(exc).__name__
    where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    return f"{where}: {reason}; {os_hint(exc)}" if where is not None else f"{reason}; {os_hint(exc)}"
