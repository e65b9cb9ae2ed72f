"""AffectNet's two releases: the original CSV file lists, and the March 2021 per-image `.npy` files.

Both use the same expression codes and the same -2 valence-arousal marker (docs/datasets/affectnet.md).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from fbn_bench.data.table import EYE_COLUMNS, LoadedTable
from fbn_bench.errors import FbnError
from fbn_bench.faces.detection import eyes_from_68

from ._aff_common import attach_skipped, find_dirs, relative
from ._common import listing

# AffectNet's 0-10 codes. Contempt (7), None (8), Uncertain (9) and No-Face (10) are no basic expression.
CODES = {
    0: "neutral",
    1: "happiness",
    2: "sadness",
    3: "surprise",
    4: "fear",
    5: "disgust",
    6: "anger",
    7: None,
    8: None,
    9: None,
    10: None,
}
CODE_NAMES = {7: "contempt", 8: "none", 9: "uncertain", 10: "no-face"}
CONTEMPT = 7
VA_MISSING = -2.0
REQUIRED = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "expression",
    "valence",
    "arousal",
)
CSV_FILES = {"train": "training.csv", "test": "validation.csv"}
NPY_SETS = {"train": "train_set", "test": "val_set"}
IMAGE_FOLDERS = ("Manually_Annotated_Images", "Automatically_Annotated_Images", "images")
SKIP_NULL = "row with NULL fields"
SKIP_BOX = "face box with width or height <= 0"


def expression_codes(classes: tuple[str, ...]) -> dict[int, str | None]:
    """CODES under a class set: the 8-class protocol (AffectNet-8) labels code 7 as contempt."""
    return {**CODES, CONTEMPT: "contempt"} if "contempt" in classes else CODES


def skip_no_label(code: int) -> str:
    return f"no label (code {code} {CODE_NAMES[code]}, valence-arousal -2)"


def _va(value: float, where: str, name: str) -> float:
    if value == VA_MISSING:
        return np.nan
    if not -1.0 <= value <= 1.0:
        raise FbnError(
            f"affectnet: {where}: {name} {value} is outside [-1, 1] and is not the -2 marker; the file looks corrupt: re-download it"
        )
    return value


def _code(value: float, where: str) -> int:
    if value != int(value) or int(value) not in CODES:
        raise FbnError(
            f"affectnet: {where}: expression code {value:g} is outside 0..10; the file looks corrupt: re-download it"
        )
    return int(value)


# --- CSV release --------------------------------------------------------------------------------


def find_csv(root: Path, split: str) -> Path | None:
    """`training.csv` / `validation.csv` in Manually_Annotated_file_lists/, Manually_Annotated/ or the root."""
    lists = find_dirs(
        root,
        ("Manually_Annotated_file_lists", "Manually_Annotated_file_list", "Manually_Annotated"),
        2,
        skip=IMAGE_FOLDERS,
    )
    for folder in [*lists, root]:
        if (folder / CSV_FILES[split]).is_file():
            return folder / CSV_FILES[split]
    return None


def find_csv_images(root: Path) -> Path | None:
    found = find_dirs(root, ("Manually_Annotated_Images",), 2, skip=("Automatically_Annotated_Images",))
    return found[0] if found else None


def read_csv_release(path: Path, root: Path, image_dir: Path, codes: dict[int, str | None] = CODES) -> LoadedTable:
    """One row per usable line; NULL rows, bad face boxes and label-less rows are skipped and counted.
    `codes`: expression code -> class (expression_codes)."""
    skipped: Counter = Counter()
    rows = []
    prefix = relative(image_dir, root)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        raw_header = next(reader, None)
        if raw_header is None:
            raise FbnError(f"affectnet: {path} is empty; re-download it")
        # Some copies write the first column as `#subDirectory_filePath`.
        header = [h.strip().lstrip("#").strip() for h in raw_header]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise FbnError(
                f"affectnet: {path}:1: header lacks {', '.join(missing)} (found {','.join(header)[:120]}); "
                f"expected subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
            )
        at = {c: header.index(c) for c in REQUIRED}
        # 68 points as one `x1;y1;x2;...` field, in the box's pixels: their eye centres serve --face-crop align.
        marks = header.index("facial_landmarks") if "facial_landmarks" in header else None
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            if any(f.strip() == "NULL" for f in fields):
                skipped[SKIP_NULL] += 1
                continue
            where = f"{path}:{line}"
            if len(fields) != len(header):
                raise FbnError(
                    f"affectnet: {where}: expected {len(header)} fields, found {len(fields)}; the line looks truncated: re-download the file"
                )
            try:
                box = [float(fields[at[c]]) for c in ("face_x", "face_y", "face_width", "face_height")]
                code = float(fields[at["expression"]])
                valence, arousal = float(fields[at["valence"]]), float(fields[at["arousal"]])
            except ValueError:
                raise FbnError(
                    f"affectnet: {where}: a face box, expression or valence-arousal field is not a number; the line looks corrupt: re-download the file"
                ) from None
            code = _code(code, where)
            valence, arousal = _va(valence, where, "valence"), _va(arousal, where, "arousal")
            if box[2] <= 0 or box[3] <= 0:
                skipped[SKIP_BOX] += 1
                continue
            if codes[code] is None and (np.isnan(valence) or np.isnan(arousal)):
                skipped[skip_no_label(code)] += 1
                continue
            image = fields[at["subDirectory_filePath"]].strip()
            eyes = eyes_from_68(fields[marks].split(";")) if marks is not None else (np.nan,) * 4
            rows.append((f"{prefix}/{image}", image.rsplit(".", 1)[0], *box, *eyes, valence, arousal, codes[code]))
    columns = [
        "image",
        "subject",
        "bbox_x",
        "bbox_y",
        "bbox_w",
        "bbox_h",
        *EYE_COLUMNS,
        "valence",
        "arousal",
        "expression",
    ]
    return attach_skipped(pd.DataFrame(rows, columns=columns), skipped)


# --- March 2021 .npy release --------------------------------------------------------------------


def find_npy_set(root: Path, split: str) -> Path | None:
    found = find_dirs(root, (NPY_SETS[split],), 2, skip=IMAGE_FOLDERS)
    return next((f for f in found if (f / "annotations").is_dir()), None)


def _scalar(path: Path) -> float:
    """A one-value .npy (a number, or a number stored as a string) as float."""
    if not path.is_file():
        raise FbnError(f"affectnet: {path} is missing; re-extract the annotations of the .npy release")
    try:
        array = np.load(path, allow_pickle=False)
        if array.size != 1:
            raise ValueError(f"holds {array.size} values, expected 1")
        return float(array.reshape(-1)[0])
    except (ValueError, OSError, EOFError) as err:
        raise FbnError(f"affectnet: {path}: unreadable ({err}); re-extract it from the .npy release") from None


def read_npy_release(set_dir: Path, root: Path, codes: dict[int, str | None] = CODES) -> LoadedTable:
    skipped: Counter = Counter()
    annotations = set_dir / "annotations"
    ids = sorted(
        (p.name[: -len("_exp.npy")] for p in listing(annotations, "*_exp.npy")),
        key=lambda s: (0, int(s)) if s.isdigit() else (1, s),
    )
    prefix = relative(set_dir, root)
    rows = []
    for sample in ids:
        code = _code(_scalar(annotations / f"{sample}_exp.npy"), str(annotations / f"{sample}_exp.npy"))
        valence = _va(_scalar(annotations / f"{sample}_val.npy"), str(annotations / f"{sample}_val.npy"), "valence")
        arousal = _va(_scalar(annotations / f"{sample}_aro.npy"), str(annotations / f"{sample}_aro.npy"), "arousal")
        if codes[code] is None and (np.isnan(valence) or np.isnan(arousal)):
            skipped[skip_no_label(code)] += 1
            continue
        # Ids restart in each set (train 0 and val 0 are different people): the subject carries the set.
        rows.append((f"{prefix}/images/{sample}.jpg", f"{set_dir.name}/{sample}", valence, arousal, codes[code]))
    return attach_skipped(pd.DataFrame(rows, columns=["image", "subject", "valence", "arousal", "expression"]), skipped)
