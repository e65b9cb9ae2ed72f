"""A tiny EmotioNet manual-set CSV in the real 2020 format: header `URL,URL orig,'AU 1',...` with quoted
AU names, URLs wrapped in single quotes, 1 / 0 / 999 codes, AUs outside fbn-bench's 17 (18, 28, 43, 5x)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from real_fixtures_common import au_stats, write_image

FILE_AUS = (1, 2, 4, 5, 6, 9, 10, 12, 15, 17, 18, 20, 24, 25, 26, 28, 43, 51, 52, 53, 54, 55, 56)
OURS = (1, 2, 4, 5, 6, 9, 10, 12, 15, 17, 20, 24, 25, 26)  # FILE_AUS among fbn-bench's 17
N_ROWS = 30
FILE_NAME = "EmotioNet_FACS_aws_2020_24600.csv"


def is_test(file_name: str, percent: int = 20) -> bool:
    """The documented rule: sha1 of the image file name, first 4 bytes big-endian, mod 100 < percent."""
    return int.from_bytes(hashlib.sha1(file_name.encode()).digest()[:4], "big") % 100 < percent


def header() -> str:
    return ",".join(["URL", "URL orig", *(f"'AU {au}'" for au in FILE_AUS)])


def write_emotionet(root: Path, seed: int = 0, images: bool = True, test_percent: int = 20) -> dict:
    """Row 5 (the fifth image) has every one of our AUs = 999 but AU43 = 1: it is skipped and counted."""
    rng = random.Random(seed)
    lines = [header()]
    kept = {"train": [], "test": []}
    skipped = {"train": 0, "test": 0}
    for i in range(1, N_ROWS + 1):
        name = f"N_{i:010d}_{i % 7:05d}.jpg"
        split = "test" if is_test(name, test_percent) else "train"
        if i == 5:
            codes = {au: (1 if au == 43 else 999) for au in FILE_AUS}
            skipped[split] += 1
        else:
            codes = {au: rng.choice((0, 0, 1, 999)) for au in FILE_AUS}
            kept[split].append({au: None if codes[au] == 999 else codes[au] for au in OURS})
            if images:
                write_image(root / "images" / name, i)
        url = f"'http://cbcsl.example.edu/emotionet/Images/N_{i:010d}/{name}'"
        lines.append(",".join([url, f"'http://orig.example.com/{i}.jpg'", *(str(codes[au]) for au in FILE_AUS)]))
    root.mkdir(parents=True, exist_ok=True)
    (root / FILE_NAME).write_text("\n".join(lines) + "\n")
    assert kept["train"] and kept["test"], "fixture names must put rows in both splits"
    return {
        split: {
            "n_samples": len(rows),
            "n_subjects": len(rows),
            "missing_images": 0,
            "au": au_stats(rows, OURS),
            "skipped": skipped[split],
        }
        for split, rows in kept.items()
    }
