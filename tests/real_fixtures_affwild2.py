"""Writes tiny Aff-Wild2 trees in the ABAW releases' own formats, and the counts they must give.

Quirks included: every edition's folder names (`*_Challenge`, `*_Set`, `Train_Set`/`Training_Set`/
`Train_set`, `VA_Set/annotations/`), the extra nesting level of the zips, the 8-AU and 12-AU headers,
7- and 8-class expression headers, -5 / -1 markers, whole-row -1 AU lines, "Other", `_left`/`_right`
per-person files (with and without a suffix on the other person), different video sets per task, files
of different lengths for one video, frames whose face crop is absent, a BOM, CRLF and trailing blank lines.
"""

from __future__ import annotations

import random
from pathlib import Path

from real_fixtures_aff_common import Fixture, Row, expected_stats, write_image

EXPR_8 = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other"]
CANONICAL = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise", None]
AUS_12 = [1, 2, 4, 6, 7, 10, 12, 15, 23, 24, 25, 26]
AUS_8 = [1, 2, 4, 6, 12, 15, 20, 25]
SPEC_AUS = (1, 2, 4, 6, 7, 10, 12, 15, 20, 23, 24, 25, 26)

EDITIONS = {
    # edition: (annotation base, {task: folder}, {split: folder}, expression classes, AU list)
    "abaw3": (
        "3rd ABAW Annotations/Third ABAW Annotations",
        {"va": "VA_Estimation_Challenge", "expr": "EXPR_Classification_Challenge", "au": "AU_Detection_Challenge"},
        {"train": "Train_Set", "test": "Validation_Set"},
        8,
        AUS_12,
    ),
    "abaw6": (
        "6th ABAW Annotations",
        {"va": "VA_Estimation_Challenge", "expr": "EXPR_Recognition_Challenge", "au": "AU_Detection_Challenge"},
        {"train": "Train_Set", "test": "Validation_Set"},
        8,
        AUS_12,
    ),
    "abaw2020": (
        "ABAW Annotations/ABAW Annotations",
        {"va": "VA_Set/annotations", "expr": "EXPR_Set", "au": "AU_Set"},
        {"train": "Training_Set", "test": "Validation_Set"},
        7,
        AUS_8,
    ),
}

# split -> stem -> (number of lines per task; a task missing means the video has no file for it)
VIDEOS = {
    "train": {
        "1-30-1280x720": {"va": 9, "expr": 9, "au": 9},
        "video59": {"va": 6, "expr": 7},  # only the second person carries a suffix
        "video59_right": {"va": 6, "expr": 6},
        "video74_left": {"expr": 5, "au": 5},
        "video74_right": {"expr": 5, "au": 6},  # AU file one line longer than the EXPR file
        "118": {"au": 7},  # a video only in the AU set
    },
    "test": {
        "2-30-640x360": {"va": 8, "expr": 8, "au": 8},
        "video2_left": {"va": 5},
    },
}


def _label_lines(rng: random.Random, task: str, n: int, n_classes: int, aus: list[int]) -> list[str]:
    lines = []
    for _ in range(n):
        if task == "va":
            lines.append("-5,-5" if rng.random() < 0.2 else f"{rng.uniform(-1, 1):.3f},{rng.uniform(-1, 1):.3f}")
        elif task == "expr":
            lines.append("-1" if rng.random() < 0.2 else str(rng.randrange(n_classes)))
        else:
            lines.append(
                ",".join(["-1"] * len(aus)) if rng.random() < 0.2 else ",".join(str(rng.randrange(2)) for _ in aus)
            )
    return lines


def write_affwild2(tmp: Path, edition: str = "abaw3", seed: int = 0, classes: str = "7") -> Fixture:
    """`classes`: the protocol the expected rows are of ("8": "Other" is a class, as `affwild2:classes=8`)."""
    base, task_dirs, split_dirs, n_classes, aus = EDITIONS[edition]
    rng = random.Random(seed)
    root = tmp / "affwild2"
    headers = {
        "va": "valence,arousal",
        "expr": ",".join(EXPR_8[:n_classes]),
        "au": ",".join(f"AU{a}" for a in aus),
    }
    stats, skipped, all_rows = {}, {}, {}
    file_count = 0
    for split, videos in VIDEOS.items():
        labels: dict[tuple[str, int], dict] = {}
        for stem, lengths in videos.items():
            for task, n in lengths.items():
                # The 2020 VA folder spells its training split with a lower-case "set".
                split_dir = (
                    "Train_set" if (edition == "abaw2020" and task == "va" and split == "train") else split_dirs[split]
                )
                path = root / base / task_dirs[task] / split_dir / f"{stem}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                lines = _label_lines(rng, task, n, n_classes, aus)
                file_count += 1
                newline, bom, trail = "\n", "", "\n"
                if file_count % 4 == 0:
                    newline, trail = "\r\n", "\r\n\r\n"  # CRLF and a trailing blank line
                if file_count % 5 == 0:
                    bom = "\ufeff"
                path.write_text(bom + newline.join([headers[task], *lines]) + trail, encoding="utf-8", newline="")
                for k, line in enumerate(lines, start=1):
                    entry = labels.setdefault((stem, k), {})
                    values = [float(v) for v in line.split(",")]
                    if task == "va" and values[0] != -5:
                        entry["va"] = values
                    elif task == "expr" and values[0] != -1:
                        entry["expr"] = CANONICAL[int(values[0])] or ("other" if classes == "8" else None)
                        entry["other"] = CANONICAL[int(values[0])] is None
                    elif task == "au":
                        entry["aus"] = {a: int(v) for a, v in zip(aus, values) if v != -1}
        rows, skip = [], {"not annotated for any task (-5 / -1 markers)": 0, "expression 'Other' and no other label": 0}
        for (stem, frame), entry in sorted(labels.items()):
            has = "va" in entry or entry.get("expr") is not None or bool(entry.get("aus"))
            if not has:
                key = (
                    "expression 'Other' and no other label"
                    if entry.get("other")
                    else "not annotated for any task (-5 / -1 markers)"
                )
                skip[key] += 1
                continue
            # Face detection "failed" on every frame number divisible by 4: no crop on disk.
            exists = frame % 4 != 0
            if exists:
                write_image(root / "cropped_aligned" / stem / f"{frame:05d}.jpg")
            va = entry.get("va")
            rows.append(
                Row(
                    subject=stem,
                    image_exists=exists,
                    valence=va[0] if va else None,
                    arousal=va[1] if va else None,
                    expression=entry.get("expr"),
                    aus=entry.get("aus", {}),
                )
            )
        stats[split] = expected_stats("affwild2", split, rows, {"va", "expr", "au"}, SPEC_AUS)
        skipped[split] = {k: v for k, v in skip.items() if v}
        all_rows[split] = rows
    # Files the loader must ignore: the MTL list, test-set name lists, an unlabelled crop folder.
    (root / base / "MTL_Challenge").mkdir(parents=True, exist_ok=True)
    (root / base / "MTL_Challenge" / "train_set.txt").write_text("image,valence,arousal,expression,aus\n")
    (root / "names_of_videos_in_each_test_set").mkdir(parents=True, exist_ok=True)
    (
        root / "names_of_videos_in_each_test_set" / "Valence_Arousal_Estimation_Challenge_test_set_release.txt"
    ).write_text("9-15-1920x1080\n")
    write_image(root / "cropped_aligned" / "9-15-1920x1080" / "00001.jpg")
    return Fixture(root=root, stats=stats, skipped=skipped, rows=all_rows)


def annotation_file(fixture: Fixture, edition: str, task: str, split: str, stem: str) -> Path:
    base, task_dirs, split_dirs, _, _ = EDITIONS[edition]
    split_dir = "Train_set" if (edition == "abaw2020" and task == "va" and split == "train") else split_dirs[split]
    return fixture.root / base / task_dirs[task] / split_dir / f"{stem}.txt"
