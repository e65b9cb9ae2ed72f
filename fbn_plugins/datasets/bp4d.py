"""Dataset plugins `bp4d` (BP4D-Spontaneous) and `bp4dplus` (BP4D+ / MMSE), docs/datasets/bp4d.md.

Labels: `AUCoding/AU_OCC/<subject>_<task>.csv`, a header row whose first cell (`0`) heads the frame
column and whose other cells are AU numbers; values 0 / 1 / 9 (not codable -> missing). Columns are
selected by header name, never by position. Only the coded segment of each task is listed, so frame
numbers start well above 1; images are joined by frame number through the `naming` pattern.

AU intensity (the opt-in `au_int` task), where the release has it: `AUCoding/AU_INT/AU06/<subject>_<task>_AU06.csv`
for FERA 2015's five intensity AUs (6, 10, 12, 14, 17), headerless `frame,intensity` lines, 0-5 (9: not
codable -> missing), joined to the AU_OCC rows by frame. Without that folder the tables carry no intensities.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from fbn_bench import DatasetSpec, FbnError, Option, hookimpl
from fbn_bench.data.splits import val_carved
from fbn_bench.data.table import LoadedTable

from ._common import (
    clean_header,
    find_first,
    fold_subjects,
    image_namer,
    line_error,
    listing,
    plural,
    read_intensity_file,
    require_root,
    short_list,
    stacked_table,
)

# The 12 AUs every BP4D paper evaluates (also the usual choice for BP4D+).
BP4D_AUS = (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24)
NOT_CODABLE = 9
# Standard subject-independent parts (JAA-Net = ME-GraphAU).
PARTS = (
    ("F001", "M007", "F018", "F008", "F002", "M004", "F010", "F009", "M012", "M001", "F016", "M014", "F023", "M008"),
    ("M011", "F003", "M010", "M002", "F005", "F022", "M018", "M017", "F013", "M016", "F020", "F011", "M013", "M005"),
    ("F007", "F015", "F006", "F019", "M006", "M009", "F012", "M003", "F004", "F021", "F017", "M015", "F014"),
)
OCC_DIRS = ("AUCoding/AU_OCC", "AU_OCC", "AUCoding/AUCoding/AU_OCC")
# FERA 2015's intensity AUs (BP4D+ ships them as AU_INT beside AU_OCC).
INTENSITY_AUS = (6, 10, 12, 14, 17)
INT_DIRS = ("AUCoding/AU_INT", "AU_INT", "AUCoding/AUCoding/AU_INT")
INT_FILE = re.compile(r"^([FM]\d{3})_(T\d+)_AU0*(\d+)\.csv$", re.IGNORECASE)
FILE_NAME = re.compile(r"^([FM]\d{3})_(T\d+)\.csv$", re.IGNORECASE)
AU_NAME = re.compile(r"^(?:AU)?0*(\d+)$", re.IGNORECASE)
BP4D_NAMING = "Sequences(2D+3D)/{subject}/{task}/{frame:04d}.jpg"
BP4DPLUS_NAMING = "2D+3D/{subject}/{task}/{frame}.jpg"


def read_occ_file(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """(frames (N,), labels (N, 12) with NaN for 9, rows dropped because all 12 AUs were 9)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.reader(handle) if any(c.strip() for c in r)]
    if not rows:
        raise FbnError(f"{path} is empty; expected a header row (0,1,2,4,...) then one row per frame")
    header = [clean_header(h) for h in rows[0]]
    columns = {}
    for i, name in enumerate(header[1:], start=1):  # column 0 is the frame number, whatever its name
        if match := AU_NAME.match(name):
            columns.setdefault(int(match.group(1)), i)
    missing = [au for au in BP4D_AUS if au not in columns]
    if missing:
        raise FbnError(
            f"{path}:1: the header lacks AU column(s) {', '.join(map(str, missing))} "
            f"(expected the frame column then AU numbers such as 0,1,2,4,6,7,...; found {','.join(rows[0])[:60]!r})"
        )
    frames, labels, dropped = [], [], 0
    for number, fields in enumerate(rows[1:], start=2):
        text = ",".join(fields)
        if len(fields) != len(header):
            raise line_error(
                path,
                number,
                text,
                f"{len(fields)} fields where the header has {len(header)}",
                "the file looks truncated; re-extract AU_OCC/ from the archive",
            )
        try:
            frame = int(fields[0])
            values = [int(float(fields[columns[au]])) for au in BP4D_AUS]
        except ValueError:
            raise line_error(path, number, text, "frame and AU codes must be integers") from None
        bad = [(au, v) for au, v in zip(BP4D_AUS, values) if v not in (0, 1, NOT_CODABLE)]
        if bad:
            raise line_error(path, number, text, f"AU{bad[0][0]} code {bad[0][1]} is not 0, 1 or 9 (not codable)")
        if all(v == NOT_CODABLE for v in values):
            dropped += 1
            continue
        frames.append(frame)
        labels.append([np.nan if v == NOT_CODABLE else float(v) for v in values])
    return np.asarray(frames, dtype=np.int64), np.asarray(labels, dtype=np.float64).reshape(-1, len(BP4D_AUS)), dropped


def intensity_files(root: Path) -> dict[tuple[str, str], dict[int, Path]] | None:
    """{(subject, task): {au: its AU_INT file}} for the intensity AUs, or None when the release has no AU_INT."""
    found = next((root / d for d in INT_DIRS if (root / d).is_dir()), None)
    if found is None:
        return None
    files: dict[tuple[str, str], dict[int, Path]] = {}
    for folder in listing(found):
        au = AU_NAME.match(folder.name) if folder.is_dir() else None
        if au is None or int(au.group(1)) not in INTENSITY_AUS:
            continue
        for path in listing(folder, "*.csv"):
            if (match := INT_FILE.match(path.name)) and int(match.group(3)) == int(au.group(1)):
                files.setdefault((match.group(1).upper(), match.group(2).upper()), {})[int(au.group(1))] = path
    if not files:
        raise FbnError(
            f"{found} holds no intensity files; expected {found}/AU06/F001_T1_AU06.csv ... (AU06, AU10, AU12, "
            "AU14, AU17); re-extract AU_INT/ from the archive, or move the folder away to train without intensities"
        )
    return files


def _intensities(files: dict[int, Path], frames: np.ndarray, sequence: str) -> tuple[np.ndarray, int]:
    """((N, 5) intensities of `frames`, NaN where not codable or not listed; how many AU_INT lines name a frame
    with no AU_OCC row)."""
    out, unmatched = np.full((len(frames), len(INTENSITY_AUS)), np.nan), 0
    for k, au in enumerate(INTENSITY_AUS):
        if au not in files:
            raise FbnError(
                f"no AU{au:02d} intensity file for {sequence}: expected AU{au:02d}/{sequence}_AU{au:02d}.csv in the "
                "AU_INT folder; re-extract AU_INT/ from the archive"
            )
        values = read_intensity_file(files[au], "AU_INT/ from the archive", not_codable=NOT_CODABLE)
        out[:, k] = [np.nan if values.get(f) is None else values[f] for f in frames.tolist()]
        unmatched += len(set(values) - set(frames.tolist()))
    return out, unmatched


def _load(root, split: str, name: str, parts_of, fold, naming: str) -> LoadedTable:
    root = require_root(Path(root), name)
    name_of = image_namer(naming, name, {"subject": "F001", "task": "T1", "frame": 1, "frame0": 0})
    occ = find_first(root, OCC_DIRS, f"{name} AU occurrence folder")
    files, strays = [], []
    for path in listing(occ):
        if path.suffix.lower() == ".csv" and (match := FILE_NAME.match(path.name)):
            files.append((path, match.group(1).upper(), match.group(2).upper()))
        elif path.is_file() and not path.name.startswith("."):
            strays.append(path.name)
    if not files:
        raise FbnError(f"no AU_OCC files in {occ}; expected {occ}/F001_T1.csv ... (<subject>_<task>.csv)")
    parts = parts_of(sorted({s for _, s, _ in files}))
    wanted = fold_subjects(parts, fold, split)
    # Whole files and subjects left out are worth a note, but they are not dropped rows (frames).
    notes: list[str] = []
    if strays:
        notes.append(
            f"{plural(len(strays), 'file')} in {occ} not named <subject>_<task>.csv, not read ({short_list(strays)})"
        )
    outside = sorted({s for _, s, _ in files} - {s for p in parts for s in p})
    if outside:
        notes.append(
            f"{plural(len(outside), 'subject')} outside the standard folds, in no split ({short_list(outside)})"
        )
    skipped: dict[str, int] = {}
    intensity = intensity_files(root)  # None: no AU_INT folder, no intensities (opt-in: not worth a warning)
    unmatched = 0

    tables = []
    for path, subject, task in files:
        if subject not in wanted:
            continue
        frames, labels, dropped = read_occ_file(path)
        if dropped:
            key = "frames with all 12 AUs not codable (9)"
            skipped[key] = skipped.get(key, 0) + dropped
        table = pd.DataFrame(
            {
                "image": [name_of(subject=subject, task=task, frame=f, frame0=f - 1) for f in frames.tolist()],
                "subject": subject,
                "video": f"{subject}_{task}",
                "frame": frames,
            }
        )
        table[[f"AU{au}" for au in BP4D_AUS]] = labels
        if intensity is not None:
            values, lines = _intensities(intensity.get((subject, task), {}), frames, f"{subject}_{task}")
            table[[f"AU{au}_int" for au in INTENSITY_AUS]] = values
            unmatched += lines
        tables.append(table)
    if unmatched:
        notes.append(
            f"{plural(unmatched, 'AU_INT line')} of frames without an AU_OCC row (or with all 12 AUs 9), not read"
        )
    return stacked_table(tables, skipped, notes)


@val_carved("bp4d", "subject")
def load_bp4d(root, split: str, *, fold: int, naming: str) -> LoadedTable:
    return _load(root, split, "bp4d", lambda subjects: PARTS, fold, naming)


def plus_parts(subjects: list[str]) -> tuple[tuple[str, ...], ...]:
    """BP4D+ has no standard folds: fbn-bench deals the sorted subjects into 3 parts round-robin."""
    return tuple(tuple(subjects[k::3]) for k in range(3))


@val_carved("bp4dplus", "subject")
def load_bp4dplus(root, split: str, *, fold: int, naming: str) -> LoadedTable:
    return _load(root, split, "bp4dplus", plus_parts, fold, naming)


FOLD_HELP = "fold1 trains on parts 1+2 and tests on part 3, fold2 tests on part 2, fold3 on part 1"
NAMING_HELP = (
    "image path pattern relative to root, fields {subject}, {task}, {frame} (as in the CSV) and {frame0} (frame - 1)"
)


def bp4d_options(naming: str, fold_help: str = FOLD_HELP) -> tuple[Option, ...]:
    return (Option("fold", int, 1, choices=(1, 2, 3), help=fold_help), Option("naming", str, naming, help=NAMING_HELP))


@hookimpl
def register_datasets(register):
    register(
        DatasetSpec(
            name="bp4d",
            full_frames=True,  # whole frames / web photos: the run's face detector finds the face
            splits=("train", "val", "test"),
            tasks={"au", "au_int"},  # intensities where the release has AU_INT (module docstring)
            aus=BP4D_AUS,
            load=load_bp4d,
            description="BP4D-Spontaneous: 41 young adults x 8 tasks, AU occurrence (12 AUs evaluated); 3 standard subject folds.",
            citation="Zhang, X. et al. BP4D-Spontaneous: a high-resolution spontaneous 3D dynamic facial expression "
            "database. Image and Vision Computing 32(10), 2014.",
            homepage="https://www.cs.binghamton.edu/~lijun/Research/3DFE/3DFE_Analysis.html",
            license="Research use under the BP4D agreement (request access from Binghamton University)",
            options=bp4d_options(BP4D_NAMING),
        )
    )
    register(
        DatasetSpec(
            name="bp4dplus",
            full_frames=True,  # whole frames / web photos: the run's face detector finds the face
            splits=("train", "val", "test"),
            tasks={"au", "au_int"},  # intensity of AUs 6, 10, 12, 14, 17 from AUCoding/AU_INT
            aus=BP4D_AUS,
            load=load_bp4dplus,
            description="BP4D+ (MMSE): 140 subjects, AU occurrence coded on tasks T1, T6, T7, T8 (the BP4D 12 AUs); "
            "fbn-bench's round-robin subject folds.",
            citation="Zhang, Z. et al. Multimodal spontaneous emotion corpus for human behavior analysis. CVPR 2016.",
            homepage="https://www.cs.binghamton.edu/~lijun/Research/3DFE/3DFE_Analysis.html",
            license="Research use under the BP4D+ agreement (request access from Binghamton University)",
            options=bp4d_options(BP4DPLUS_NAMING, FOLD_HELP + " (parts: the sorted subjects dealt round-robin)"),
        )
    )
