"""Writes a tiny Aff-Wild (v1) tree in the owners' format, and the counts it must give.

Quirks included: the tarball's top folder (one nesting level), header-less one-value-per-line files,
CRLF and trailing blank lines, 1-based `.pts` face boxes with the doubled `bboxes/train/train/` level
in one split only, frames without a box (no face found) and frames whose extracted image is absent.
"""

from __future__ import annotations

import random
from pathlib import Path

from real_fixtures_aff_common import Fixture, Row, expected_stats, write_image

TOP = "aff_wild_annotations_bboxes_landmarks_new"
VIDEOS = {"train": {"105": 7, "202": 5}, "test": {"301": 6}}


def pts_text(x: float, y: float, w: float, h: float) -> str:
    corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return "version: 1\nn_points: 4\n{\n" + "".join(f"{a} {b}\n" for a, b in corners) + "}\n"


def write_affwild(tmp: Path, seed: int = 0) -> Fixture:
    rng = random.Random(seed)
    root = tmp / "affwild"
    base = root / TOP
    stats, rows_by_split, boxes = {}, {}, {}
    for split, videos in VIDEOS.items():
        rows = []
        for n_video, (video, n) in enumerate(videos.items()):
            valence = [round(rng.uniform(-1, 1), 4) for _ in range(n)]
            arousal = [round(rng.uniform(-1, 1), 4) for _ in range(n)]
            newline = "\r\n" if n_video == 1 else "\n"
            for what, values in (("valence", valence), ("arousal", arousal)):
                path = base / "annotations" / split / what / f"{video}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(newline.join(str(v) for v in values) + newline * 2, encoding="utf-8", newline="")
            box_dir = base / "bboxes" / split / (split if split == "train" else "") / video
            box_dir.mkdir(parents=True, exist_ok=True)
            for frame in range(1, n + 1):
                if frame % 3 != 0:  # no face found on frames 3, 6, ...: no .pts
                    box = (10.0 * frame, 5.0, 40.0, 50.0 + frame)
                    (box_dir / f"{frame}.pts").write_text(pts_text(*box))
                    boxes[(split, video, frame)] = box
                exists = frame != 2
                if exists:
                    write_image(root / "frames" / video / f"{frame:05d}.jpg", size=(96, 72))
                rows.append(
                    Row(subject=video, image_exists=exists, valence=valence[frame - 1], arousal=arousal[frame - 1])
                )
        stats[split] = expected_stats("affwild", split, rows, {"va"}, ())
        rows_by_split[split] = rows
    (base / "videos" / "train").mkdir(parents=True, exist_ok=True)
    fixture = Fixture(root=root, stats=stats, skipped={"train": {}, "test": {}}, rows=rows_by_split)
    fixture.options["boxes"] = boxes
    return fixture
