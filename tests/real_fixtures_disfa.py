"""A tiny DISFA tree in the real format: `ActionUnit_Labels/SNxxx/SNxxx_au<n>.txt` with headerless
`frame,intensity` lines (1-based frames, 0-5), frames extracted to `frames/SNxxx/00001.png`."""

from __future__ import annotations

import random
from pathlib import Path

from real_fixtures_common import au_stats, write_image

DISFA_AUS = (1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26)
# One subject of each standard part (part1: SN001, part2: SN013, part3: SN003), plus SN014, which is in
# no fold, so fold1 trains on SN001 + SN013 and tests on SN003; fold3 tests on SN001.
SUBJECTS = {"SN001": 1, "SN013": 2, "SN003": 3}
EXTRA_SUBJECT = "SN014"
N_FRAMES = 6
TEST_PART = {1: 3, 2: 2, 3: 1}


def intensities(seed: int = 0) -> dict[str, dict[int, list[int]]]:
    rng = random.Random(seed)
    return {
        s: {au: [rng.randint(0, 5) for _ in range(N_FRAMES)] for au in DISFA_AUS} for s in (*SUBJECTS, EXTRA_SUBJECT)
    }


def write_disfa(root: Path, gap: bool = True, images: bool = True, seed: int = 0) -> dict:
    """Write the tree; with `gap`, SN013's au9 file lacks frame 4 (that frame is skipped).

    Returns {"fold<k>": {"threshold<t>": {split: expected stats}}, "skipped_frames": {split: n}}."""
    values = intensities(seed)
    labels = root / "ActionUnit_Labels"
    for subject, per_au in values.items():
        for au, series in per_au.items():
            lines = [
                f"{f},{v}"
                for f, v in enumerate(series, start=1)
                if not (gap and subject == "SN013" and au == 9 and f == 4)
            ]
            path = labels / subject / f"{subject}_au{au}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n")
        if images:
            for f in range(1, N_FRAMES + 1):
                write_image(root / "frames" / subject / f"{f:05d}.png", f * 20)

    expected: dict = {}
    for fold, test_part in TEST_PART.items():
        for threshold in (1, 2, 3):
            per_split = {}
            for split in ("train", "test"):
                subjects = [s for s, p in SUBJECTS.items() if (p == test_part) == (split == "test")]
                rows = []
                for s in subjects:
                    for f in range(1, N_FRAMES + 1):
                        if gap and s == "SN013" and f == 4:
                            continue
                        rows.append({au: float(values[s][au][f - 1] >= threshold) for au in DISFA_AUS})
                per_split[split] = {
                    "n_samples": len(rows),
                    "n_subjects": len(subjects),
                    "missing_images": 0,
                    "au": au_stats(rows, DISFA_AUS),
                }
            expected.setdefault(f"fold{fold}", {})[f"threshold{threshold}"] = per_split
    return expected


def write_disfa_videos(root: Path, short: dict[str, int] | None = None, seed: int = 0) -> dict:
    """The tree as DISFA ships it: label files and one left-camera video per subject, no extracted frames. Each
    video shows the astronaut's face (a real photograph, so the Haar detector finds it) drifting across a plain
    background; `short` drops that many frames from the end of a subject's video. Returns write_disfa's counts."""
    from face_scenes import astronaut_scene, write_video

    expected = write_disfa(root, gap=True, images=False, seed=seed)
    for subject in (*SUBJECTS, EXTRA_SUBJECT):
        n = N_FRAMES - (short or {}).get(subject, 0)
        frames = [astronaut_scene(320, 240, (60 + 4 * k, 40 + 2 * k))[0] for k in range(n)]
        write_video(root / "Videos_LeftCamera" / f"LeftVideo{subject}_comp.avi", frames)
    return expected
