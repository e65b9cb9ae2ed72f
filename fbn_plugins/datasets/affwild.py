"""Dataset plugin: Aff-Wild (the first version, CVPR 2017 challenge): per-frame valence and arousal.

Reads `annotations/<split>/{valence,arousal}/<video>.txt` (one value per line, line i = frame i) and the
per-frame face boxes `bboxes/<split>/<video>/<frame>.pts`. Pictures: the videos as shipped
(`videos/<split>/<video>.mp4|.avi`, line i = the i-th decoded frame), or frames extracted beforehand into
`frames/<video>/00001.jpg` (`source=auto` takes those when their folder exists). Frames without a box go to the
run's face detector. See docs/datasets/affwild.md and docs/faces.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from fbn_bench import DatasetSpec, FbnError, Option, hookimpl
from fbn_bench.data.splits import val_carved
from fbn_bench.data.table import LoadedTable

from ._aff_common import attach_skipped, find_dirs, option_path, read_text_lines, relative, require_root
from ._common import listing

_REEXTRACT = "the file looks truncated or corrupt: re-extract it from aff_wild_annotations_bboxes_landmarks_new.tar.gz"


def find_release_folder(root: Path, name: str) -> Path | None:
    """`root/<name>`, or one level down (the tarball unpacks into aff_wild_annotations_bboxes_landmarks_new/)."""
    found = find_dirs(root, [name], 2, skip=("frames", "videos"))
    return found[0] if found else None


def parse_values(path: Path, what: str) -> np.ndarray:
    """One float in [-1, 1] per line, no header."""
    lines = read_text_lines(path)
    values = np.empty(len(lines))
    for i, line in enumerate(lines):
        try:
            value = float(line)
        except ValueError:
            raise FbnError(f"{path}:{i + 1}: {what} {line!r} is not a number; {_REEXTRACT}") from None
        if not -1.0 <= value <= 1.0:
            raise FbnError(f"{path}:{i + 1}: {what} {value} is outside [-1, 1]; {_REEXTRACT}")
        values[i] = value
    return values


def parse_pts_box(path: Path) -> tuple[float, float, float, float]:
    """A `.pts` file (`version: 1`, `n_points: 4`, `{`, x y lines, `}`) -> (x, y, w, h) around its points."""
    lines = read_text_lines(path)
    try:
        start, end = lines.index("{"), lines.index("}")
    except ValueError:
        raise FbnError(f"{path}: not a .pts file (no '{{' ... '}}' block); {_REEXTRACT}") from None
    points = []
    for number, line in enumerate(lines[start + 1 : end], start=start + 2):
        try:
            x, y = (float(v) for v in line.split())
        except ValueError:
            raise FbnError(f"{path}:{number}: {line!r} is not an 'x y' point; {_REEXTRACT}") from None
        points.append((x, y))
    if not points:
        raise FbnError(f"{path}: holds no points; {_REEXTRACT}")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def _box_folder(root: Path, split: str) -> Path | None:
    boxes = find_release_folder(root, "bboxes")
    if boxes is None or not (boxes / split).is_dir():
        return None
    # Some archives nest the split twice: bboxes/train/train/<video>/.
    nested = boxes / split / split
    return nested if nested.is_dir() else boxes / split


@val_carved("affwild", "video")
def load_affwild(root: Path, split: str, *, images: str, bboxes: bool, source: str) -> LoadedTable:
    root = require_root(root, "affwild", "the unpacked Aff-Wild release and the extracted frames")
    annotations = find_release_folder(root, "annotations")
    if annotations is None:
        raise FbnError(
            f"affwild: annotation folder {root}/annotations not found (also looked one level down); "
            f"unpack aff_wild_annotations_bboxes_landmarks_new.tar.gz into {root}"
        )
    folders = {what: annotations / split / what for what in ("valence", "arousal")}
    for folder in folders.values():
        if not folder.is_dir():
            hint = (
                " (test labels were released after the 2017 challenge: ask the owners for them)"
                if split == "test"
                else ""
            )
            raise FbnError(f"affwild: annotation folder {folder} not found{hint}")
    image_dir = option_path(images, root)
    video_dir = _video_folder(root, split, image_dir, source)
    box_dir = _box_folder(root, split) if bboxes else None

    parts = []
    for valence_file in listing(folders["valence"], "*.txt"):
        video = valence_file.stem
        arousal_file = folders["arousal"] / valence_file.name
        if not arousal_file.is_file():
            raise FbnError(
                f"affwild: {arousal_file} is missing (its valence file {valence_file} exists); re-extract the annotations"
            )
        valence = parse_values(valence_file, "valence")
        arousal = parse_values(arousal_file, "arousal")
        if len(valence) != len(arousal):
            raise FbnError(
                f"affwild: {valence_file} has {len(valence)} lines but {arousal_file} has {len(arousal)}; "
                f"one is truncated: re-extract the annotations"
            )
        frames = np.arange(1, len(valence) + 1)
        if video_dir is None:
            pictures = [f"{relative(image_dir, root)}/{video}/{f:05d}.jpg" for f in frames]
        else:
            pictures = [relative(_video_file(video_dir, video), root)] * len(frames)
        part = pd.DataFrame(
            {
                "image": pictures,
                "subject": video,
                "video": video,
                "frame": frames,
                "valence": valence,
                "arousal": arousal,
            }
        )
        if video_dir is not None:  # line i (1-based) is the i-th frame the decoder returns
            part["frame_index"] = frames - 1
        if box_dir is not None:
            part[["bbox_x", "bbox_y", "bbox_w", "bbox_h"]] = _video_boxes(box_dir / video, frames)
        parts.append(part)
    for arousal_file in listing(folders["arousal"], "*.txt"):
        if not (folders["valence"] / arousal_file.name).is_file():
            raise FbnError(
                f"affwild: {folders['valence'] / arousal_file.name} is missing (its arousal file {arousal_file} exists); re-extract the annotations"
            )
    if not parts:
        return attach_skipped(pd.DataFrame(columns=["image", "subject", "video", "frame", "valence", "arousal"]), {})
    return attach_skipped(pd.concat(parts, ignore_index=True), {})


def _video_folder(root: Path, split: str, image_dir: Path, source: str) -> Path | None:
    """videos/<split>/ when the rows come from the videos as shipped, None for extracted frames."""
    if source == "frames" or (source == "auto" and image_dir.is_dir()):
        if not image_dir.is_dir():
            raise FbnError(
                f"affwild: frame folder {image_dir} not found; extract each video's frames with `ffmpeg -i "
                f"videos/{split}/VIDEO.mp4 {relative(image_dir, root)}/VIDEO/%05d.jpg`, pass affwild:images=FOLDER, "
                "or read the videos as shipped (affwild:source=videos)"
            )
        return None
    # videos/ beside annotations/: at the root or one level down (the tarball's top folder)
    found = [root / "videos"] + [d / "videos" for d in sorted(root.iterdir()) if d.is_dir()]
    videos = next((d for d in found if (d / split).is_dir()), None)
    if videos is None:
        raise FbnError(
            f"affwild: neither extracted frames ({image_dir}) nor a video folder videos/{split}/ under {root}; "
            "unpack the videos there (or extract frames and pass affwild:source=frames)"
        )
    return videos / split


def _video_file(folder: Path, video: str) -> Path:
    """The video of an annotation file: <video>.mp4 or .avi (both occur); the .mp4 name when neither exists, so
    its rows are skipped and counted as missing."""
    for suffix in (".mp4", ".avi"):
        if (folder / f"{video}{suffix}").is_file():
            return folder / f"{video}{suffix}"
    return folder / f"{video}.mp4"


def _video_boxes(folder: Path, frames: np.ndarray) -> np.ndarray:
    """(n, 4) boxes by 1-based frame number; NaN where the frame has no .pts (the run's face detector looks)."""
    boxes = np.full((len(frames), 4), np.nan)
    if not folder.is_dir():
        return boxes
    with os.scandir(folder) as it:
        names = {entry.name for entry in it}
    for i, frame in enumerate(frames):
        if f"{frame}.pts" in names:
            boxes[i] = parse_pts_box(folder / f"{frame}.pts")
    return boxes


SPEC = DatasetSpec(
    name="affwild",
    tasks={"va"},
    splits=("train", "val", "test"),
    load=load_affwild,
    description="Aff-Wild (CVPR 2017 challenge): 298 in-the-wild YouTube videos, per-frame valence and arousal in [-1, 1].",
    citation="Kollias et al., Deep Affect Prediction in-the-wild: Aff-Wild Database and Challenge, Deep Architectures, and Beyond, IJCV 2019",
    homepage="https://ibug.doc.ic.ac.uk/resources/first-affect-wild-challenge/",
    license="Academic research only, under the owners' end-user licence agreement",
    loader_version="2",
    full_frames=True,
    options=(
        Option(
            "images",
            str,
            "frames",
            help="folder of the extracted frames, <folder>/<video>/00001.jpg (1-based), relative to the root",
        ),
        Option(
            "bboxes",
            bool,
            True,
            help="crop each frame to the face box of bboxes/<split>/<video>/<frame>.pts (frames without one go to "
            "the face detector; --face-detector none skips and counts them)",
        ),
        Option(
            "source",
            str,
            "auto",
            choices=("auto", "videos", "frames"),
            help="videos: videos/<split>/<video>.mp4|.avi as shipped; frames: the extracted ones (images); "
            "auto: the frames when their folder exists, else the videos",
        ),
    ),
    group_column="subject",
)


@hookimpl
def register_datasets(register):
    register(SPEC)
