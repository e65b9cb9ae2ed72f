"""Reading the TOML files users write (run configs, sweep grids, leaderboard settings), with one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import FbnError


def read_toml(path: str | Path, what: str = "file", missing_ok: bool = False) -> dict[str, Any]:
    """The parsed file; `{}` for a missing file when `missing_ok`, else an FbnError naming it."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise FbnError(f"{what} {path} does not exist") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FbnError(f"{path}: not valid TOML ({exc}); fix the file") from None
