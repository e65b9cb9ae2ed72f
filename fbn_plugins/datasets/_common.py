"""Small helpers shared by the built-in dataset loaders: header clean-up, alternative folder names,
folder listings without macOS archive clutter, line reading with file:line positions,
and the skip-and-count and notes conventions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# Loaders that drop rows return a LoadedTable(frame, skipped={plain-words reason: count}, notes=[...]);
# `fbn-bench datasets check` and fbn_bench.testing.check_dataset_plugin report them. Notes are things worth
# telling the user that are not dropped rows (a subject outside the folds).
from fbn_bench.data.table import LoadedTable
from fbn_bench.errors import FbnError

__all__ = [
    "LoadedTable",
    "clean_header",
    "find_first",
    "fold_subjects",
    "image_namer",
    "is_macos_clutter",
    "line_error",
    "listing",
    "numbered_lines",
    "read_intensity_file",
    "plural",
    "require_root",
    "short_list",
    "stacked_table",
]

# What macOS adds when it makes or unpacks an archive: a `__MACOSX/` mirror of the tree holding an
# AppleDouble `._<name>` (resource fork, binary) for each file, the same `._<name>` files beside the real
# ones, and Finder's `.DS_Store`. None is part of a database; reading one breaks a loader.
MACOS_CLUTTER = ("__macosx", ".ds_store")


def is_macos_clutter(name: str) -> bool:
    """Whether a file or folder name is macOS archive clutter (`__MACOSX`, `._<name>`, `.DS_Store`)."""
    return name.startswith("._") or name.lower() in MACOS_CLUTTER


def listing(folder: Path, pattern: str = "*") -> list[Path]:
    """The entries of `folder` that match `pattern` (pathlib glob, one level), sorted, without macOS clutter.
    Loaders list folders through this (or skip names with is_macos_clutter), so a tree unpacked on a Mac
    reads like any other."""
    return sorted((p for p in Path(folder).glob(pattern) if not is_macos_clutter(p.name)), key=lambda p: p.name)


def clean_header(name: Any) -> str:
    """`'\\ufeff#subDirectory_filePath'` -> `subDirectory_filePath`, `"'AU 1'"` -> `AU1`.

    Strips a UTF-8 BOM, quotes, a leading `#` and every space (headers differ only in these across copies).
    """
    text = str(name).replace("\ufeff", "").strip().strip("'\"").strip()
    text = text.lstrip("#")
    return "".join(text.replace("'", "").replace('"', "").split())


def find_first(root: Path, candidates: Iterable[str], what: str) -> Path:
    """The first of `candidates` (paths relative to `root`) that exists, else one error listing them all."""
    candidates = list(candidates)
    for rel in candidates:
        path = root / rel
        if path.exists():
            return path
    tried = " or ".join(str(root / c) for c in candidates)
    raise FbnError(
        f"{what} not found: expected {tried}; check --root (or NAME:root=PATH) points at the database folder"
    )


def require_root(root: Path, name: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise FbnError(
            f"{name} root {root} does not exist; pass the folder that holds the database with --root DIR, "
            f"--data-root DIR (then DIR/{name}) or {name}:root=PATH"
        )
    return root


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped text) of the non-empty lines; tolerates a BOM and CRLF."""
    try:
        with open(path, encoding="utf-8-sig", newline=None) as handle:
            for number, line in enumerate(handle, start=1):
                text = line.strip()
                if text:
                    yield number, text
    except UnicodeDecodeError as exc:
        raise FbnError(f"{path} is not a text file ({exc.reason}); re-extract it from the database archive") from None


def line_error(path: Path, number: int, text: str, problem: str, fix: str = "") -> FbnError:
    """`<file>:<line>: <problem> in 'text'; <fix>` as one line."""
    shown = text if len(text) <= 80 else text[:77] + "..."
    tail = f"; {fix}" if fix else ""
    return FbnError(f"{path}:{number}: {problem} in {shown!r}{tail}")


def read_intensity_file(path: Path, archive_folder: str, not_codable: int | None = None) -> dict[int, int | None]:
    """frame -> AU intensity 0-5 from one headerless `frame,intensity` file (DISFA's labels, BP4D's AU_INT);
    the `not_codable` code (BP4D's 9) gives None. `archive_folder` names what to re-extract when a line is bad."""
    values: dict[int, int | None] = {}
    for number, text in numbered_lines(path):
        fields = [f.strip() for f in text.split(",")]
        if len(fields) != 2 or not all(fields):
            raise line_error(
                path,
                number,
                text,
                "expected 'frame,intensity'",
                f"the file looks truncated; re-extract {archive_folder}",
            )
        try:
            frame, intensity = int(fields[0]), int(float(fields[1]))
        except ValueError:
            raise line_error(path, number, text, "frame and intensity must be integers") from None
        if intensity == not_codable:
            values[frame] = None
        elif 0 <= intensity <= 5:
            values[frame] = intensity
        else:
            codes = "" if not_codable is None else f" and is not {not_codable} (not codable)"
            raise line_error(path, number, text, f"intensity {fields[1]} is outside 0-5{codes}")
    return values


def fold_subjects(parts: tuple[tuple[str, ...], ...], fold: int, split: str) -> set[str]:
    """The standard 3-fold protocol: fold k tests on part (4 - k) and trains on the other two
    (fold1 = train part1+2 / test part3, fold2 = part1+3 / part2, fold3 = part2+3 / part1)."""
    test_part = 3 - fold  # index into parts: fold1 -> part3, fold2 -> part2, fold3 -> part1
    if split == "test":
        return set(parts[test_part])
    return {s for i, part in enumerate(parts) if i != test_part for s in part}


def plural(n: int, word: str) -> str:
    """`1 subject`, `3 subjects`."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def short_list(names: Iterable[str], shown: int = 5) -> str:
    """`a, b, c` or `a, b, c, d, e, ... (4 more)`: names for a one-line message."""
    names = list(names)
    more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def image_namer(pattern: str, dataset: str, fields: dict[str, Any]):
    """Check a `naming` option (a Python format string) once, and return `fields -> relative path`."""
    try:
        pattern.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        names = ", ".join("{" + k + "}" for k in fields)
        raise FbnError(
            f"{dataset} option naming={pattern!r} is not a valid pattern ({exc!s}); "
            f"use the fields {names}, e.g. with padding {{frame:05d}}"
        ) from None
    return lambda **values: pattern.format(**values)


def stacked_table(tables: list, skipped: dict[str, int] | None = None, notes: list[str] | None = None):
    """Per-subject tables as one annotation table (with the contract's columns when there is none), with the
    rows dropped on purpose and the notes for the user."""
    import pandas as pd

    if tables:
        result = pd.concat(tables, ignore_index=True)
    else:
        result = pd.DataFrame({"image": pd.Series(dtype=str), "subject": pd.Series(dtype=str)})
    return LoadedTable(result, skipped or {}, notes or [])
