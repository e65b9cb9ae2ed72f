"""Aff-Wild2 (ABAW) annotation folders and per-video annotation files.

Every ABAW edition renamed the task folders, some zips add a nesting level, and the AU and expression
headers changed between editions; this module finds the folders by any of those names and parses each
file by its header, so one loader reads them all (see docs/datasets/affwild2.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fbn_bench.errors import FbnError
from fbn_bench.tasks import AUS

from ._aff_common import find_dirs, read_text_lines, relative

# Task folder names across editions: ABAW 2020/2021 `*_Set`, ABAW3 onward `*_Challenge`.
TASK_FOLDERS = {
    "va": ("VA_Estimation_Challenge", "VA_Set"),
    "expr": ("EXPR_Recognition_Challenge", "EXPR_Classification_Challenge", "EXPR_Set"),
    "au": ("AU_Detection_Challenge", "AU_Set"),
}
# `train` reads the training set; `test` the validation set (test labels are not public).
SPLIT_FOLDERS = {"train": ("Train_Set", "Training_Set"), "test": ("Validation_Set",)}
# Image and video folders: never searched for annotations (hundreds of thousands of files).
NOT_ANNOTATIONS = ("cropped_aligned", "cropped", "batch1", "batch2", "batch3", "videos")
SEARCH_DEPTH = 4

# Expression header names -> canonical name; "Other" (ABAW3 onward) is no basic expression.
EXPR_NAMES = {
    "neutral": "neutral",
    "anger": "anger",
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happiness": "happiness",
    "happy": "happiness",
    "sadness": "sadness",
    "sad": "sadness",
    "surprise": "surprise",
    "other": None,
}
VA_MISSING = -5.0
CODE_MISSING = -1
PERSON_SUFFIX = re.compile(r"_(left|right)$")

_REEXTRACT = "the file looks truncated or corrupt: re-extract it from the ABAW annotation zip"


def find_task_folders(base: Path, skip: tuple[str, ...] = ()) -> dict[str, Path]:
    """task -> its annotation folder under `base` (any edition's name, any nesting up to 4 levels)."""
    names = {name.lower(): task for task, names in TASK_FOLDERS.items() for name in names}
    found: dict[str, list[Path]] = {}
    for folder in find_dirs(base, names, SEARCH_DEPTH, skip=(*NOT_ANNOTATIONS, *skip)):
        found.setdefault(names[folder.name.lower()], []).append(folder)
    result: dict[str, Path] = {}
    for task, folders in found.items():
        if len(folders) > 1:
            listing = ", ".join(relative(f, base) for f in folders)
            raise FbnError(
                f"affwild2: several {task.upper()} annotation folders under {base} ({listing}), "
                f"probably two ABAW editions; pass affwild2:annotations=FOLDER to pick the one that holds them"
            )
        result[task] = folders[0]
    return result


def find_split_folder(task_folder: Path, split: str) -> Path:
    """`Train_Set`/`Training_Set`/`Train_set` or `Validation_Set`, also one level down (`VA_Set/annotations/`)."""
    folders = find_dirs(task_folder, SPLIT_FOLDERS[split], 2)
    if not folders:
        expected = " or ".join(f"{task_folder}/{name}" for name in SPLIT_FOLDERS[split])
        raise FbnError(f"affwild2: annotation folder {expected} not found; re-extract the ABAW annotation zip")
    return folders[0]


@dataclass
class Parsed:
    """One annotation file: frame numbers (1-based) and their labels, markers already turned into NaN/None."""

    frames: np.ndarray
    values: dict[str, np.ndarray]
    # Rows whose only label is the expression "Other" (EXPR files only).
    other: np.ndarray | None = None


def _header(path: Path, lines: list[str]) -> list[str]:
    if not lines:
        raise FbnError(f"{path}: is empty; {_REEXTRACT}")
    return [h.strip().strip('"').strip() for h in lines[0].split(",")]


def _rows(path: Path, lines: list[str], n_fields: int, header: str):
    """(line number, fields) of each data line; line k + 1 of the file is video frame k."""
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(",") if line else []
        if len(fields) != n_fields:
            raise FbnError(
                f"{path}:{number}: expected {n_fields} value(s) ({header}), found {len(fields)} in {line!r}; {_REEXTRACT}"
            )
        yield number, fields


def _number(path: Path, number: int, text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise FbnError(f"{path}:{number}: {what} {text.strip()!r} is not a number; {_REEXTRACT}") from None


def _matrix(path: Path, lines: list[str], names: list[str], header: str) -> np.ndarray:
    """The data lines as an (n, len(names)) float array; a short, long or non-numeric line is an error naming it."""
    data, width = lines[1:], len(names)
    if not data:
        return np.empty((0, width))
    # Fast path (millions of lines): one conversion for the whole file when every line has the right width.
    if all(line.count(",") == width - 1 for line in data):
        try:
            return np.array(",".join(data).split(","), dtype=np.float64).reshape(len(data), width)
        except ValueError:
            pass
    return np.array(
        [
            [_number(path, number, text, names[j]) for j, text in enumerate(fields)]
            for number, fields in _rows(path, lines, width, header)
        ],
        dtype=np.float64,
    ).reshape(len(data), width)


def _first(bad: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first True in a 2-D mask."""
    row, col = np.argwhere(bad)[0]
    return int(row), int(col)


def _text(lines: list[str], row: int, col: int) -> str:
    return lines[row + 1].split(",")[col].strip()


def parse_va(path: Path) -> Parsed:
    lines = read_text_lines(path)
    header = [h.lower() for h in _header(path, lines)]
    if sorted(header) != ["arousal", "valence"]:
        raise FbnError(
            f"{path}:1: header {lines[0]!r} is not 'valence,arousal'; is this file in the right task folder?"
        )
    values = _matrix(path, lines, header, lines[0])
    values = values[:, [header.index("valence"), header.index("arousal")]]
    missing = (values == VA_MISSING).any(axis=1)
    bad = ~missing[:, None] & ~((values >= -1.0) & (values <= 1.0))
    if bad.any():
        row, col = _first(bad)
        raise FbnError(
            f"{path}:{row + 2}: {('valence', 'arousal')[col]} {values[row, col]} is outside [-1, 1] "
            f"and is not the -5 'not annotated' marker; {_REEXTRACT}"
        )
    values[missing] = np.nan
    return Parsed(np.arange(1, len(values) + 1), {"valence": values[:, 0], "arousal": values[:, 1]})


def parse_expr(path: Path) -> Parsed:
    lines = read_text_lines(path)
    header = _header(path, lines)
    unknown = [h for h in header if h.lower() not in EXPR_NAMES]
    if unknown:
        raise FbnError(
            f"{path}:1: header {lines[0]!r} names {unknown[0]!r}, not an expression "
            f"(expected Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise[,Other]); is this file in the right task folder?"
        )
    names = [EXPR_NAMES[h.lower()] for h in header]
    codes = _matrix(path, lines, ["expression code"], "one expression code per line")[:, 0]
    missing = codes == CODE_MISSING
    bad = ~missing & ~((codes >= 0) & (codes < len(names)) & (codes == np.floor(codes)))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise FbnError(
            f"{path}:{row + 2}: expression code {lines[row + 1].strip()!r} is outside 0..{len(names) - 1} "
            f"(the header's {len(names)} classes) and is not the -1 'not annotated' marker; {_REEXTRACT}"
        )
    lookup = np.array([*names, None], dtype=object)  # index -1 (missing) -> None
    expression = lookup[np.where(missing, len(names), codes).astype(np.int64)]
    other_code = [i for i, name in enumerate(names) if name is None]
    other = np.isin(codes, other_code) & ~missing
    return Parsed(np.arange(1, len(codes) + 1), {"expression": expression}, other)


def parse_au(path: Path) -> Parsed:
    lines = read_text_lines(path)
    header = _header(path, lines)
    numbers = []
    for name in header:
        match = re.fullmatch(r"AU\s*0*(\d+)", name, flags=re.IGNORECASE)
        if not match:
            raise FbnError(
                f"{path}:1: header {lines[0]!r} has {name!r}, not an AU name like AU12; is this file in the right task folder?"
            )
        numbers.append(int(match.group(1)))
    table = _matrix(path, lines, header, f"{len(numbers)} AUs")
    missing = table == CODE_MISSING
    bad = ~missing & ~((table == 0.0) | (table == 1.0))
    if bad.any():
        row, col = _first(bad)
        raise FbnError(
            f"{path}:{row + 2}: {header[col]} = {_text(lines, row, col)!r} is not 0, 1 or the -1 'not annotated' marker; {_REEXTRACT}"
        )
    table[missing] = np.nan
    # AUs outside the 17 fbn-bench models are not read.
    values = {f"AU{a}": table[:, j] for j, a in enumerate(numbers) if a in AUS}
    return Parsed(np.arange(1, len(table) + 1), values)


PARSERS = {"va": parse_va, "expr": parse_expr, "au": parse_au}


def video_of(stem: str) -> str:
    """`video59_right` -> `video59`: the video file both people share."""
    return PERSON_SUFFIX.sub("", stem)
