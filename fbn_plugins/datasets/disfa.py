"""Dataset plugin `disfa` (docs/datasets/disfa.md).

Labels: `ActionUnit_Labels/SNxxx/SNxxx_au<n>.txt`, one `frame,intensity` per line (frame 1-based,
intensity 0-5, no header). An AU occurs when intensity >= `threshold` (default 2, the JAA-Net /
ME-GraphAU protocol). Frames are joined across the 12 files by frame number, never by position.
Pictures: the left-camera videos as shipped (`Videos_LeftCamera/LeftVideoSN001_comp.avi`), decoded by the core
(label frame k is the k-th decoded frame), or frames extracted beforehand, by default `frames/SN001/00001.png`
(frame number as in the label files; option `naming`). `source=auto` takes the frames when their folder exists.
Either way these are full frames: the run's face detector finds the face (docs/faces.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from fbn_bench import DatasetSpec, FbnError, Option, hookimpl
from fbn_bench.data.splits import val_carved
from fbn_bench.data.table import LoadedTable

from ._common import (
    find_first,
    fold_subjects,
    image_namer,
    listing,
    plural,
    read_intensity_file,
    require_root,
    short_list,
    stacked_table,
)

DISFA_AUS = (1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26)
# Standard subject-independent parts (identical in JAA-Net, ME-GraphAU and LibreFace).
PARTS = (
    ("SN002", "SN010", "SN001", "SN026", "SN027", "SN032", "SN030", "SN009", "SN016"),
    ("SN013", "SN018", "SN011", "SN028", "SN012", "SN006", "SN031", "SN021", "SN024"),
    ("SN003", "SN029", "SN023", "SN025", "SN008", "SN005", "SN007", "SN017", "SN004"),
)
LABEL_DIRS = ("ActionUnit_Labels", "ActionUnit_Labels/ActionUnit_Labels")
DEFAULT_NAMING = "frames/{subject}/{frame:05d}.png"
VIDEO_DIRS = ("Videos_LeftCamera", "Video_LeftCamera")
VIDEO_NAME = "LeftVideo{subject}_comp.avi"
SUBJECT_DIR = re.compile(r"^SN\d{3}$")


def read_au_file(path: Path) -> dict[int, int]:
    """frame -> intensity (0-5) from one `frame,intensity` file."""
    return read_intensity_file(path, "ActionUnit_Labels/ from the DISFA archive")


@val_carved("disfa", "subject")
def load(root, split: str, *, fold: int, threshold: int, naming: str, source: str) -> LoadedTable:
    root = require_root(Path(root), "disfa")
    name_of = image_namer(naming, "disfa", {"subject": "SN001", "frame": 1, "frame0": 0})
    videos = _video_folder(root, naming, source)
    labels = find_first(root, LABEL_DIRS, "DISFA label folder")
    on_disk = [p.name for p in listing(labels) if p.is_dir() and SUBJECT_DIR.match(p.name)]
    if not on_disk:
        raise FbnError(f"no subject folders (SN001, SN002, ...) in {labels}; expected {labels}/SN001/SN001_au1.txt ...")
    wanted = fold_subjects(PARTS, fold, split)
    subjects = [s for s in on_disk if s in wanted]
    # Whole subjects left out are worth a note, but they are not dropped rows (frames).
    notes: list[str] = []
    absent = sorted(wanted - set(on_disk))
    outside = sorted(set(on_disk) - {s for part in PARTS for s in part})
    if outside:
        notes.append(
            f"{plural(len(outside), 'subject folder')} in {labels} outside the standard folds, "
            f"in no split ({short_list(outside)})"
        )
    if absent:
        notes.append(
            f"{plural(len(absent), f'fold {fold} {split} subject')} with no label folder in {labels}, "
            f"so the split is smaller than the standard one ({short_list(absent)})"
        )
    skipped: dict[str, int] = {}

    tables = []
    for subject in subjects:
        per_au = {}
        for au in DISFA_AUS:
            path = labels / subject / f"{subject}_au{au}.txt"
            if not path.is_file():
                raise FbnError(f"DISFA label file missing: expected {path} (12 files per subject, au1 ... au26)")
            per_au[au] = read_au_file(path)
        frames = sorted(set.union(*(set(v) for v in per_au.values())))
        complete = [f for f in frames if all(f in v for v in per_au.values())]
        if len(complete) < len(frames):
            key = "frames missing from some of their subject's 12 AU files"
            skipped[key] = skipped.get(key, 0) + len(frames) - len(complete)
        if videos is None:
            images = [name_of(subject=subject, frame=f, frame0=f - 1) for f in complete]
        else:
            images = [f"{videos}/{VIDEO_NAME.format(subject=subject)}"] * len(complete)
        table = pd.DataFrame(
            {
                "image": images,
                "subject": subject,
                "video": subject,  # one (left-camera) video per subject
                "frame": np.asarray(complete, dtype=np.int64),
            }
        )
        if videos is not None:  # label line k (1-based) is the k-th frame the decoder returns
            table["frame_index"] = table["frame"] - 1
        for au in DISFA_AUS:
            intensity = np.array([per_au[au][f] for f in complete], dtype=np.int64)
            table[f"AU{au}"] = (intensity >= threshold).astype(np.float64)
            table[f"AU{au}_int"] = intensity.astype(np.float64)  # the au_int task's label; AU<n> is occurrence
        tables.append(table)
    return stacked_table(tables, skipped, notes)


def _video_folder(root: Path, naming: str, source: str) -> str | None:
    """The left-camera video folder (relative to root) when the rows come from videos, None for extracted frames.
    auto: the videos when their folder exists and the frames' does not (missing frames are then counted as
    missing images, as ever)."""
    found = next((d for d in VIDEO_DIRS if (root / d).is_dir()), None)
    frames_dir = root / naming.split("{", 1)[0]
    if source == "frames" or (source == "auto" and (found is None or frames_dir.is_dir())):
        return None
    if found is None:
        tried = " or ".join(str(root / d) for d in VIDEO_DIRS)
        raise FbnError(
            f"disfa: no video folder ({tried}); unpack the left-camera videos there, or pass disfa:source=frames"
        )
    return found


@hookimpl
def register_datasets(register):
    register(
        DatasetSpec(
            name="disfa",
            splits=("train", "val", "test"),
            tasks={"au", "au_int"},
            aus=DISFA_AUS,
            load=load,
            description="DISFA: 27 adults, 12 AUs coded 0-5 on every video frame; 3 standard subject folds.",
            citation="Mavadati, S. M., Mahoor, M. H., Bartlett, K., Trinh, P., Cohn, J. F. DISFA: A spontaneous "
            "facial action intensity database. IEEE Trans. Affective Computing 4(2), 2013.",
            homepage="http://mohammadmahoor.com/disfa/",
            full_frames=True,
            loader_version="2",
            license="Research use under the DISFA agreement (request access from the owners)",
            options=(
                Option(
                    "fold",
                    int,
                    1,
                    choices=(1, 2, 3),
                    help="fold1 trains on parts 1+2 and tests on part 3, fold2 tests on part 2, fold3 on part 1",
                ),
                Option(
                    "threshold",
                    int,
                    2,
                    choices=(1, 2, 3, 4, 5),
                    help="an AU occurs when its intensity is at least this (2: the standard protocol)",
                ),
                Option(
                    "naming",
                    str,
                    DEFAULT_NAMING,
                    help="image path pattern relative to root, fields {subject}, {frame} (1-based, as in the "
                    "label files) and {frame0} (0-based)",
                ),
                Option(
                    "source",
                    str,
                    "auto",
                    choices=("auto", "videos", "frames"),
                    help="videos: Videos_LeftCamera/LeftVideoSNxxx_comp.avi as shipped; frames: extracted ones "
                    "(naming); auto: frames when their folder exists, else the videos",
                ),
            ),
        )
    )
