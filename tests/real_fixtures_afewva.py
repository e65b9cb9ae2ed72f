"""Writes a tiny AFEW-VA tree in the owners' format (per-clip JSON), and the counts it must give.

Quirks included: clips inside zip-part folders (`01/`, `02/`) and one flattened clip, a `_cropped`
duplicate folder to ignore, integer -10..10 labels, zero-based 5-digit frame keys, a JSON frame
whose png is absent, and several clips of one actor (folds are over actors, not clips).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from real_fixtures_aff_common import Fixture, Row, expected_stats, write_image

# clip folder (relative to the root) -> (actor, number of frames)
CLIPS = {
    "01/001": ("Ana Banana", 4),
    "01/002": ("Bob Crane", 3),
    "01/003": ("Ana Banana", 2),
    "02/051": ("Cid Moreau", 3),
    "02/052": ("Dee Wallace", 5),
    "02/053": ("Eve Arden", 2),
    "104": ("Fay Wray", 3),
}


def landmarks(rng: random.Random) -> list[list[float]]:
    return [[rng.uniform(100, 300), rng.uniform(80, 260)] for _ in range(68)]


def write_afewva(tmp: Path, fold: int = 1, folds: int = 5, seed: int = 0) -> Fixture:
    rng = random.Random(seed)
    root = tmp / "afewva"
    actors = sorted({a for a, _ in CLIPS.values()})
    # The documented rule, restated: actors sorted by name, k-th actor in fold k % folds + 1.
    fold_of = {a: i % folds + 1 for i, a in enumerate(actors)}
    rows = {"train": [], "test": []}
    boxes = {}
    for rel, (actor, n) in CLIPS.items():
        clip = root / rel
        name = clip.name
        frames = {}
        for k in range(n):
            key = f"{k:05d}"
            v, a = rng.randint(-10, 10), rng.randint(-10, 10)
            points = landmarks(rng)
            frames[key] = {"valence": v, "arousal": a, "landmarks": points}
            exists = not (name == "002" and k == 1)
            if exists:
                # Large enough to hold the landmarks (x 100-300, y 80-260) and the default 20% margin.
                write_image(clip / f"{key}.png", size=(400, 320))
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            boxes[(name, k)] = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
            split = "test" if fold_of[actor] == fold else "train"
            rows[split].append(Row(subject=actor, image_exists=exists, valence=v / 10, arousal=a / 10))
        clip.mkdir(parents=True, exist_ok=True)
        (clip / f"{name}.json").write_text(json.dumps({"actor": actor, "video_id": name, "frames": frames}))
    # A cropped duplicate, which must not be read twice.
    dup = root / "01" / "001_cropped"
    dup.mkdir(parents=True)
    (dup / "001_cropped.json").write_text((root / "01/001/001.json").read_text())
    stats = {s: expected_stats("afewva", s, rows[s], {"va"}, ()) for s in rows}
    fixture = Fixture(root=root, stats=stats, skipped={"train": {}, "test": {}}, rows=rows)
    fixture.options["boxes"] = boxes
    return fixture
