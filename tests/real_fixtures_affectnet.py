"""Writes tiny AffectNet trees in both of the owners' releases, and the counts they must give.

CSV release quirks: `#subDirectory_filePath` header in one file and no `#` in the other, every code
0-10, -2 valence-arousal on Uncertain/No-Face, a `NULL` row, a negative face width, `;`-separated
landmarks, mixed image extensions, an image listed but absent. `.npy` release quirks: values stored as
numbers and as 0-d string arrays, ids restarting at 0 in each set, a -2 marker.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from real_fixtures_aff_common import Fixture, Row, expected_stats, write_image

NAMES = {0: "neutral", 1: "happiness", 2: "sadness", 3: "surprise", 4: "fear", 5: "disgust", 6: "anger"}
HEADER = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"

# (code, valence, arousal, face width); a width <= 0 is skipped, as is code 9/10 with -2 markers.
CSV_ROWS = {
    "train": [
        (0, 0.1, -0.2, 30),
        (1, 0.785714, -0.055556, 30),
        (2, -0.5, 0.3, 30),
        (3, 0.2, 0.9, 30),
        (4, -0.7, 0.8, 30),
        (5, -0.6, 0.1, 30),
        (6, -0.8, 0.7, 30),
        (7, -0.3, 0.2, 30),
        (8, 0.05, 0.0, 30),
        (9, -2, -2, 30),
        (10, -2, -2, 30),
        (1, 0.6, 0.2, -1),
        (1, 0.4, 0.3, 30),
        (10, -2, -2, 30),
    ],
    "test": [(0, 0.0, 0.0, 20), (6, -0.4, 0.6, 20), (7, -0.2, 0.1, 20), (9, -2, -2, 20), (3, 0.3, 0.5, 20)],
}
NPY_ROWS = {  # (code, valence, arousal, stored as string?)
    "train": [
        (0, 0.1, 0.1, False),
        (1, 0.7, 0.3, True),
        (7, -0.3, 0.4, False),
        (3, -2, -2, True),
        (5, -0.5, 0.2, False),
    ],
    "test": [(6, -0.6, 0.5, True), (4, -0.4, 0.8, False), (7, -0.1, 0.1, False)],
}


def _no_label_reason(code: int) -> str:
    return f"no label (code {code} {({9: 'uncertain', 10: 'no-face'})[code]}, valence-arousal -2)"


def write_affectnet_csv(tmp: Path) -> Fixture:
    root = tmp / "affectnet"
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir(parents=True)
    stats, skipped, all_rows = {}, {}, {}
    for split, file_name in (("train", "training.csv"), ("test", "validation.csv")):
        header = ("#" + HEADER) if split == "train" else HEADER
        lines, rows, skip = [header], [], {}
        for i, (code, v, a, width) in enumerate(CSV_ROWS[split]):
            ext = ".png" if i % 5 == 4 else ".jpg"
            rel = f"{100 + i % 3}/{hashlib.sha1(f'{split}{i}'.encode()).hexdigest()}{ext}"
            landmarks = ";".join(f"{10 + k * 0.5:.1f}" for k in range(136))
            lines.append(f"{rel},4,6,{width},{width + 2},{landmarks},{code},{v},{a}")
            if width <= 0:
                skip["face box with width or height <= 0"] = skip.get("face box with width or height <= 0", 0) + 1
                continue
            if code in (9, 10):
                skip[_no_label_reason(code)] = skip.get(_no_label_reason(code), 0) + 1
                continue
            exists = i != 2
            if exists:
                write_image(root / "Manually_Annotated_Images" / rel, size=(48, 48))
            rows.append(Row(subject=rel, valence=v, arousal=a, expression=NAMES.get(code), image_exists=exists))
        # The NULL row some copies contain.
        lines.insert(3, "NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL")
        skip["row with NULL fields"] = 1
        (lists / file_name).write_text("\n".join(lines) + "\n")
        stats[split] = expected_stats("affectnet", split, rows, {"va", "expr"}, ())
        skipped[split] = skip
        all_rows[split] = rows
    return Fixture(root=root, stats=stats, skipped=skipped, rows=all_rows)


def write_affectnet_npy(tmp: Path) -> Fixture:
    root = tmp / "affectnet"
    stats, all_rows = {}, {}
    for split, set_name in (("train", "train_set"), ("test", "val_set")):
        annotations = root / set_name / "annotations"
        annotations.mkdir(parents=True)
        rows = []
        for i, (code, v, a, as_string) in enumerate(NPY_ROWS[split]):
            for suffix, value in (("exp", code), ("val", v), ("aro", a)):
                np.save(annotations / f"{i}_{suffix}.npy", np.array(str(value)) if as_string else np.array(value))
            np.save(annotations / f"{i}_lnd.npy", np.arange(136, dtype=np.float32))
            exists = not (split == "train" and i == 4)
            if exists:
                write_image(root / set_name / "images" / f"{i}.jpg", size=(32, 32))
            va = (v, a) if v != -2 else (None, None)
            rows.append(
                Row(
                    subject=f"{set_name}/{i}",
                    valence=va[0],
                    arousal=va[1],
                    expression=NAMES.get(code),
                    image_exists=exists,
                )
            )
        stats[split] = expected_stats("affectnet", split, rows, {"va", "expr"}, ())
        all_rows[split] = rows
    return Fixture(root=root, stats=stats, skipped={"train": {}, "test": {}}, rows=all_rows)
