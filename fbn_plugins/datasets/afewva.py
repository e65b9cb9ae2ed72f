"""Dataset plugin: AFEW-VA: 600 movie clips with per-frame valence and arousal (-10..10 in the files).

Reads each clip's `<clip>/<clip>.json`, in the 12 zip-part folders or flattened; crops to the 68
landmarks. There is no official split: fbn-bench uses subject-independent folds over the actors.
See docs/datasets/afewva.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from fbn_bench import DatasetSpec, FbnError, Option, hookimpl
from fbn_bench.data.splits import val_carved
from fbn_bench.data.table import EYE_COLUMNS, LoadedTable
from fbn_bench.faces.detection import eyes_from_68

from ._aff_common import attach_skipped, relative, require_root
from ._common import listing

_REEXTRACT = "re-extract the clip from its AFEW-VA zip part"


def find_clips(root: Path) -> list[Path]:
    """Clip folders: `root/<clip>/` or `root/<part>/<clip>/`, each holding `<clip>.json`. `_cropped` copies,
    hidden folders and macOS's `__MACOSX/` mirror are skipped."""
    clips: list[Path] = []
    for folder in listing(root):
        if not folder.is_dir() or folder.name.startswith(".") or folder.name.endswith("_cropped"):
            continue
        if (folder / f"{folder.name}.json").is_file():
            clips.append(folder)
            continue
        for sub in listing(folder):
            if sub.is_dir() and not sub.name.endswith("_cropped") and (sub / f"{sub.name}.json").is_file():
                clips.append(sub)
    seen: dict[str, Path] = {}
    for clip in clips:
        if clip.name in seen:
            raise FbnError(f"afewva: clip {clip.name} is present twice ({seen[clip.name]} and {clip}); keep one copy")
        seen[clip.name] = clip
    return clips


def _scaled(path: Path, key: str, frame: dict, name: str) -> float:
    value = frame.get(name) if isinstance(frame, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FbnError(f"afewva: {path} frame {key!r}: {name} {value!r} is not a number; {_REEXTRACT}")
    if not -10 <= value <= 10:
        raise FbnError(f"afewva: {path} frame {key!r}: {name} {value} is outside -10..10; {_REEXTRACT}")
    return value / 10.0


def _landmark_box(landmarks, margin: float) -> tuple[float, float, float, float]:
    """Tight box around the 68 points, widened by `margin` of its size on every side; NaN if unusable."""
    try:
        points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        return (np.nan,) * 4
    if len(points) == 0 or not np.isfinite(points).all():
        return (np.nan,) * 4
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    w, h = x1 - x0, y1 - y0
    return x0 - margin * w, y0 - margin * h, w * (1 + 2 * margin), h * (1 + 2 * margin)


def read_clip(path: Path, root: Path, crop: bool, margin: float) -> pd.DataFrame:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise FbnError(
            f"afewva: {path}:{err.lineno}: not valid JSON ({err.msg}); the file looks truncated: {_REEXTRACT}"
        ) from None
    frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(frames, dict):
        raise FbnError(f"afewva: {path} has no 'frames' object; is it an AFEW-VA annotation file? {_REEXTRACT}")
    clip = path.parent
    actor = str(data.get("actor") or "").strip() or f"clip {clip.name}"
    rows = []
    for key in sorted(frames, key=lambda k: int(k) if str(k).isdigit() else str(k)):
        if not str(key).isdigit():
            raise FbnError(f"afewva: {path} frame key {key!r} is not a frame number like '00012'; {_REEXTRACT}")
        frame = frames[key]
        row = {
            "image": f"{relative(clip, root)}/{key}.png",
            "subject": actor,
            "video": clip.name,
            "frame": int(key),
            "valence": _scaled(path, key, frame, "valence"),
            "arousal": _scaled(path, key, frame, "arousal"),
        }
        if crop:
            row.update(zip(("bbox_x", "bbox_y", "bbox_w", "bbox_h"), _landmark_box(frame.get("landmarks"), margin)))
            # the eye centres too, for --face-crop align (docs/faces.md)
            row.update(zip(EYE_COLUMNS, eyes_from_68(frame.get("landmarks"))))
        rows.append(row)
    return pd.DataFrame(rows)


def subject_folds(subjects, folds: int) -> dict[str, int]:
    """Actor -> fold 1..folds: actors sorted by name, the k-th (0-based) goes to fold k % folds + 1."""
    return {s: i % folds + 1 for i, s in enumerate(sorted(set(subjects)))}


@val_carved("afewva", "subject")
def load_afewva(root: Path, split: str, *, fold: int, folds: int, crop: str, margin: float) -> LoadedTable:
    root = require_root(root, "afewva", "the unzipped AFEW-VA parts (01/ ... 12/) or the 600 clip folders")
    if fold > folds:  # each bound is the schema's; this one ties two options together
        raise FbnError(f"afewva: fold={fold} folds={folds} is invalid; use afewva:fold=K,folds=N with 1 <= K <= N")
    clips = find_clips(root)
    if not clips:
        raise FbnError(
            f"afewva: no clip annotation found under {root} (expected {root}/001/001.json or {root}/01/001/001.json); unzip the AFEW-VA parts there"
        )
    table = pd.concat(
        [read_clip(c / f"{c.name}.json", root, crop == "landmarks", margin) for c in clips], ignore_index=True
    )
    if table.empty:
        return attach_skipped(pd.DataFrame(columns=["image", "subject", "video", "frame", "valence", "arousal"]), {})
    fold_of = table["subject"].map(subject_folds(table["subject"], folds))
    keep = fold_of == fold if split == "test" else fold_of != fold
    return attach_skipped(table[keep].reset_index(drop=True), {})


SPEC = DatasetSpec(
    name="afewva",
    tasks={"va"},
    splits=("train", "val", "test"),
    load=load_afewva,
    description="AFEW-VA: 600 clips from feature films, per-frame valence and arousal (integers -10..10, scaled to [-1, 1]). "
    "No official split: subject-independent folds over the actors.",
    citation="Kossaifi et al., AFEW-VA database for valence and arousal estimation in-the-wild, Image and Vision Computing 2017",
    homepage="https://ibug.doc.ic.ac.uk/resources/afew-va-database/",
    license="Academic research only, under the owners' end-user licence agreement",
    loader_version="1",
    options=(
        Option("fold", int, 1, low=1, help="which actor fold is the test split, 1..folds; the other folds are train"),
        Option("folds", int, 5, low=2, help="number of subject-independent folds"),
        Option(
            "crop",
            str,
            "landmarks",
            choices=("landmarks", "none"),
            help="landmarks: crop to the 68 landmarks, widened by margin; none: the whole frame",
        ),
        Option(
            "margin", float, 0.2, low=0.0, help="widening of the landmark box on every side, as a fraction of its size"
        ),
    ),
    group_column="subject",
)


@hookimpl
def register_datasets(register):
    register(SPEC)
