"""Reading the text files users write (run configs, sweep grids, leaderboard settings, results.jsonl), with
one-line errors: a missing or unreadable file, bytes that are not UTF-8, TOML that does not parse."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import FbnError, os_hint


def read_user_text(path: str | Path, what: str = "file") -> str:
    """The file's text (UTF-8); an FbnError naming the file (and, for a bad byte, its line) otherwise."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FbnError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise FbnError(f"cannot read {what} {path}: {exc.strerror or type(exc).__name__}; {os_hint(exc)}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FbnError(
            f"{path}, line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 text; save the file as UTF-8"
        ) from None


def read_toml(path: str | Path, what: str = "file", missing_ok: bool = False) -> dict[str, Any]:
    """The parsed file; `{}` for a missing file when `missing_ok`, else an FbnError naming it."""
    path = Path(path)
    if missing_ok and not path.exists():
        return {}
    text = read_user_text(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FbnError(f"{path}: not valid TOML ({exc}); fix the file") from None
