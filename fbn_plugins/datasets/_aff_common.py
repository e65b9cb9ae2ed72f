"""Small helpers shared by the Aff-Wild, Aff-Wild2, AffectNet and AFEW-VA loaders.

They find folders inside an unzipped release without walking the image trees (millions of files), read
annotation text defensively (BOM, CRLF, trailing blank lines) and record skipped rows on the table.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

# Loaders that drop rows on purpose record {reason: count} under this attrs key; `datasets check` shows them.
from fbn_bench.data.table import LoadedTable
from fbn_bench.errors import FbnError

from ._common import is_macos_clutter

# A folder with more entries than this is an image or video folder: never descend into it.
_BIG_FOLDER = 2000


def require_root(root: Path, dataset: str, what: str) -> Path:
    """The database root, or a one-line error that says where it was expected."""
    root = Path(root)
    if not root.is_dir():
        raise FbnError(
            f"{dataset}: root folder {root} does not exist; put {what} there, "
            f"or pass --data-root DIR (reads DIR/{dataset}/) or {dataset}:root=PATH"
        )
    return root


def find_dirs(base: Path, names: Iterable[str], max_depth: int, skip: Iterable[str] = ()) -> list[Path]:
    """Folders under `base` (depth 0..max_depth) whose lower-cased name is in `names`.

    Breadth-first; does not descend into a match, into folders named in `skip` (lower-cased), into
    hidden folders, into macOS's `__MACOSX/` mirror, or into folders too large to be annotation folders.
    """
    wanted = {n.lower() for n in names}
    skipped = {n.lower() for n in skip}
    found: list[Path] = []
    level = [Path(base)]
    for _depth in range(max_depth + 1):
        next_level: list[Path] = []
        for folder in level:
            if folder.name.lower() in wanted and folder != Path(base):
                found.append(folder)
                continue
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError:
                continue
            if len(entries) > _BIG_FOLDER:
                continue
            for entry in entries:
                name = entry.name.lower()
                if entry.is_dir() and not name.startswith(".") and not is_macos_clutter(name) and name not in skipped:
                    next_level.append(Path(entry.path))
        level = sorted(next_level)
    return sorted(found)


def relative(path: Path, root: Path) -> str:
    """`path` relative to `root` with forward slashes (absolute when outside root)."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).as_posix()


def read_text_lines(path: Path) -> list[str]:
    """Stripped lines of a text annotation file (UTF-8, BOM and CRLF tolerated), trailing blanks dropped."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise FbnError(
            f"{path}: is not a UTF-8 text file ({err.reason} at byte {err.start}); re-extract it from the release"
        ) from None
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def attach_skipped(df: pd.DataFrame, skipped: Counter | dict) -> LoadedTable:
    """The table with the rows a loader dropped on purpose, {reason: count}."""
    return LoadedTable(df, dict(skipped))


def option_path(value, root: Path) -> Path:
    """A folder option: relative to the database root unless absolute."""
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else Path(root) / path
