"""Tiny BP4D and BP4D+ trees in the real format: `AUCoding/AU_OCC/<subject>_<task>.csv` with a header
whose first cell `0` heads the frame column and the rest are AU numbers (more than the 12 evaluated),
values 0 / 1 / 9, frames starting far above 1, and zero-padded frame images."""

from __future__ import annotations

import random
from pathlib import Path

from real_fixtures_common import au_stats, write_image

EVALUATED = (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24)
BP4D_HEADER_AUS = tuple(range(1, 29))  # every AU number 1..28, as some copies have
PLUS_HEADER_AUS = (
    1,
    2,
    4,
    5,
    6,
    7,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    20,
    22,
    23,
    24,
    27,
    28,
    29,
    30,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    38,
    39,
)
# One subject of each standard part: F001 (part1), M011 (part2), F007 (part3).
BP4D_SUBJECTS = {"F001": 1, "M011": 2, "F007": 3}
BP4D_TASKS = {"T1": 2440, "T2": 98}  # first coded frame: T2 exercises the 4-digit padding (0098.jpg)
PLUS_SUBJECTS = ("M002", "F001", "M001", "F002", "M003")  # sorted: F001 F002 M001 M002 M003
PLUS_TASKS = {"T1": 1235, "T8": 7}
N_FRAMES = 5
INTENSITY_AUS = (6, 10, 12, 14, 17)  # FERA 2015's; BP4D+'s AU_INT folders
TEST_PART = {1: 3, 2: 2, 3: 1}


def _write_csv(path: Path, header_aus, first_frame: int, rng: random.Random, all_nine_row: bool):
    """Returns the kept rows as {au: 1/0/None} over the 12 evaluated AUs."""
    lines = [",".join(["0", *map(str, header_aus)])]
    kept = []
    for k in range(N_FRAMES):
        frame = first_frame + k
        if all_nine_row and k == 2:
            codes = {au: 9 for au in header_aus}
        else:
            codes = {au: rng.choice((0, 1, 1, 9)) for au in header_aus}
            kept.append((frame, {au: None if codes[au] == 9 else codes[au] for au in EVALUATED}))
        lines.append(",".join([str(frame), *(str(codes[au]) for au in header_aus)]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return kept


def write_bp4d(root: Path, seed: int = 0, images: bool = True) -> dict:
    """Returns {"fold<k>": {split: expected stats}}; F001_T1 has one row whose 12 AUs are all 9 (skipped)."""
    rng = random.Random(seed)
    rows = {}
    for subject in BP4D_SUBJECTS:
        for task, first in BP4D_TASKS.items():
            kept = _write_csv(
                root / "AUCoding" / "AU_OCC" / f"{subject}_{task}.csv",
                BP4D_HEADER_AUS,
                first,
                rng,
                all_nine_row=(subject, task) == ("F001", "T1"),
            )
            rows[subject, task] = kept
            if images:
                for frame, _ in kept:
                    write_image(root / "Sequences(2D+3D)" / subject / task / f"{frame:04d}.jpg", frame)
    parts = {s: p for s, p in BP4D_SUBJECTS.items()}
    return _expected(rows, parts)


def write_intensities(root: Path, subject: str, task: str, first_frame: int, rng: random.Random) -> dict:
    """`AUCoding/AU_INT/AU06/<subject>_<task>_AU06.csv` ... for the 5 intensity AUs, headerless `frame,intensity`
    with 9 (not codable) now and then, and one line for the frame before the coded segment (no AU_OCC row).
    Returns {(frame, au): intensity or None} of the coded frames."""
    written = {}
    for au in INTENSITY_AUS:
        lines = [f"{first_frame - 1},3"]
        for frame in range(first_frame, first_frame + N_FRAMES):
            code = rng.choice((0, 1, 2, 3, 4, 5, 9))
            written[frame, au] = None if code == 9 else code
            lines.append(f"{frame},{code}")
        path = root / "AUCoding" / "AU_INT" / f"AU{au:02d}" / f"{subject}_{task}_AU{au:02d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    return written


def write_bp4dplus(root: Path, seed: int = 1, images: bool = True, intensity: dict | None = None) -> dict:
    """`intensity`: a dict to fill with {(subject, task, frame, au): intensity or None} and write AU_INT files."""
    rng = random.Random(seed)
    rows = {}
    for subject in PLUS_SUBJECTS:
        for task, first in PLUS_TASKS.items():
            kept = _write_csv(
                root / "AUCoding" / "AU_OCC" / f"{subject}_{task}.csv", PLUS_HEADER_AUS, first, rng, all_nine_row=False
            )
            rows[subject, task] = kept
            if intensity is not None:
                written = write_intensities(root, subject, task, first, rng)
                intensity.update({(subject, task, f, au): v for (f, au), v in written.items()})
            if images:
                for frame, _ in kept:
                    write_image(root / "2D+3D" / subject / task / f"{frame}.jpg", frame)
    ordered = sorted(PLUS_SUBJECTS)  # documented: sorted subjects dealt round-robin into parts 1, 2, 3
    parts = {s: i % 3 + 1 for i, s in enumerate(ordered)}
    return _expected(rows, parts)


def _expected(rows: dict, parts: dict[str, int]) -> dict:
    expected = {}
    for fold, test_part in TEST_PART.items():
        per_split = {}
        for split in ("train", "test"):
            subjects = {s for s, p in parts.items() if (p == test_part) == (split == "test")}
            labels = [label for (s, _), kept in rows.items() if s in subjects for _, label in kept]
            per_split[split] = {
                "n_samples": len(labels),
                "n_subjects": len(subjects),
                "missing_images": 0,
                "au": au_stats(labels, EVALUATED),
            }
        expected[f"fold{fold}"] = per_split
    return expected
