"""A tiny RAF-DB tree in the real format: `basic/` and `compound/`, EmoLabel with the distributed
misspelt name (or the README's), 5-digit train / 4-digit test names, aligned and original images."""

from __future__ import annotations

from pathlib import Path

from real_fixtures_common import expr_stats, write_image

# The official README's 1-based codes, written out here independently of the loader.
README_BASIC = {1: "surprise", 2: "fear", 3: "disgust", 4: "happiness", 5: "sadness", 6: "anger", 7: "neutral"}
README_COMPOUND = [
    "happily surprised",
    "happily disgusted",
    "sadly fearful",
    "sadly angry",
    "sadly surprised",
    "sadly disgusted",
    "fearfully angry",
    "fearfully surprised",
    "angrily surprised",
    "angrily disgusted",
    "disgustedly surprised",
]

BASIC_TRAIN_CODES = [5, 5, 4, 1, 7, 7, 2, 3, 6, 4, 4]
BASIC_TEST_CODES = [5, 1, 7, 4]
COMPOUND_TRAIN_CODES = [4, 1, 11, 2, 3, 5, 6, 7]
COMPOUND_TEST_CODES = [1, 8, 9, 10]


def _write_part(base: Path, train: list[int], test: list[int], label_name: str, crlf: bool) -> list[str]:
    lines, names = [], []
    for i, code in enumerate(train, start=1):
        names.append(f"train_{i:05d}.jpg")
        lines.append(f"{names[-1]} {code}")
    for i, code in enumerate(test, start=1):
        names.append(f"test_{i:04d}.jpg")
        lines.append(f"{names[-1]} {code}")
    (base / "EmoLabel").mkdir(parents=True, exist_ok=True)
    newline = "\r\n" if crlf else "\n"
    (base / "EmoLabel" / label_name).write_bytes((newline.join(lines) + newline + newline).encode())
    for k, name in enumerate(names):
        stem = name[:-4]
        write_image(base / "Image" / "aligned" / f"{stem}_aligned.jpg", k * 10)
        write_image(base / "Image" / "original" / name, k * 10)
    return names


def write_rafdb(root: Path, misspelt: bool = True, crlf: bool = False, compound: bool = True) -> dict:
    """Write the tree; return {dataset: {split: expected stats}} counted from the codes above."""
    label_name = "list_patition_label.txt" if misspelt else "list_partition_label.txt"
    _write_part(root / "basic", BASIC_TRAIN_CODES, BASIC_TEST_CODES, label_name, crlf)
    expected = {"rafdb": {}, "rafdb-compound": {}}
    for split, codes in (("train", BASIC_TRAIN_CODES), ("test", BASIC_TEST_CODES)):
        expected["rafdb"][split] = {
            "n_samples": len(codes),
            "n_subjects": len(codes),
            "missing_images": 0,
            "expr": expr_stats([README_BASIC[c] for c in codes]),
        }
    if compound:
        _write_part(root / "compound", COMPOUND_TRAIN_CODES, COMPOUND_TEST_CODES, label_name, crlf)
        for split, codes in (("train", COMPOUND_TRAIN_CODES), ("test", COMPOUND_TEST_CODES)):
            names = [README_COMPOUND[c - 1] for c in codes]
            expected["rafdb-compound"][split] = {
                "n_samples": len(codes),
                "n_subjects": len(codes),
                "missing_images": 0,
                "compound": {n: names.count(n) for n in sorted(set(names))},
            }
    return expected
