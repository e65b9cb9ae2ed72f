"""Render one split of a synthetic database: labels from the prior, faces from the renderer.

Everything is a pure function of (database, split, options), so the same options give the same bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pandas as pd

from fbn_bench.tasks import AUS, EXPRESSIONS

from .databases import SyntheticDatabase
from .identity import HAIR_COLOURS, SKIN_TONES, subject_identities
from .labels import LabelPrior, render_intensity, sample_still, sample_video
from .render import render_faces
from .style import sample_nuisance

BATCH = 64
SPLIT_CODES = {"train": 1, "test": 2}
PARTIAL_PATTERNS = (("va",), ("expr",), ("au",), ("va", "expr", "au"))
PARTIAL_WEIGHTS = (0.2, 0.2, 0.2, 0.4)


def _code(text: str) -> int:
    return zlib.crc32(text.encode())


def split_sizes(db: SyntheticDatabase, split: str, scale: float) -> tuple[int, int]:
    """(images, subjects) of a split at this scale; subjects stay disjoint between splits."""
    images = db.train_images if split == "train" else db.test_images
    subjects = db.train_subjects if split == "train" else db.test_subjects
    return max(8, round(images * scale)), max(2, round(subjects * min(scale, 1.0) ** 0.5))


def subject_numbers(db: SyntheticDatabase, split: str, scale: float) -> list[int]:
    train = split_sizes(db, "train", scale)[1]
    n = split_sizes(db, split, scale)[1]
    return list(range(n)) if split == "train" else list(range(train, train + n))


def _prior(db: SyntheticDatabase, split: str, noise: float | None) -> LabelPrior:
    prior = db.prior
    if split == "test" and db.test_prior is not None:
        prior = replace(prior, class_prior=db.test_prior)
    return prior if noise is None else replace(prior, noise=float(noise))


def split_labels(db: SyntheticDatabase, split: str, scale: float, seed: int, noise: float | None) -> pd.DataFrame:
    """The annotation table of a split, with every label (masking comes later) and render inputs."""
    rng = np.random.default_rng([seed, SPLIT_CODES[split], _code(db.name)])
    n_images, _ = split_sizes(db, split, scale)
    subjects = subject_numbers(db, split, scale)
    prior = _prior(db, split, noise)
    if db.video:
        fpv = min(db.frames_per_video, max(3, n_images // 2))
        counts = [fpv] * (n_images // fpv)
        counts[-1] += n_images % fpv  # the remainder joins the last video
        parts = []
        for v, frames in enumerate(counts):
            draw = sample_video(rng, frames, prior)
            draw["subject"] = np.full(frames, subjects[v % len(subjects)])
            draw["video"] = np.full(frames, v)
            draw["frame"] = np.arange(1, frames + 1)
            parts.append(draw)
        draw = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    else:
        draw = sample_still(rng, n_images, prior)
        draw["subject"] = np.array(subjects)[rng.permutation(n_images) % len(subjects)]
    n = len(draw["cls"])
    table = pd.DataFrame({"subject": [f"S{s:04d}" for s in draw["subject"]]})
    prefix = f"images/{split}"
    if db.video:
        table["video"] = [f"video{v:03d}" for v in draw["video"]]
        table["frame"] = draw["frame"]
        table["segment"] = draw["segment"]
        table.insert(0, "image", [f"{prefix}/{v}/{f:05d}.jpg" for v, f in zip(table["video"], table["frame"])])
    else:
        table.insert(0, "image", [f"{prefix}/{i:05d}.jpg" for i in range(n)])
    table["valence"], table["arousal"] = draw["va"][:, 0], draw["va"][:, 1]
    if db.compound:
        table["compound"] = [prior.classes[c] for c in draw["cls"]]
    else:
        table["expression"] = [EXPRESSIONS[c] for c in draw["cls"]]
    for j, au in enumerate(AUS):
        table[f"intensity_AU{au}"] = draw["intensity"][:, j]
    table["_subject_number"] = draw["subject"]
    if db.partial_annotation:
        pick = rng.choice(len(PARTIAL_PATTERNS), size=int(draw["video"].max()) + 1, p=PARTIAL_WEIGHTS)
        table["annotated"] = [",".join(PARTIAL_PATTERNS[pick[v]]) for v in draw["video"]]
    return table


def public_table(db: SyntheticDatabase, table: pd.DataFrame) -> pd.DataFrame:
    """Keep only what the database labels, masked per row where annotation is partial."""
    out = table[[c for c in ("image", "subject", "video", "frame", "segment") if c in table]].copy()
    everything = pd.Series(True, index=table.index)
    has = lambda task: table["annotated"].str.contains(task) if "annotated" in table else everything  # noqa: E731
    if "va" in db.tasks:
        out["valence"] = table["valence"].where(has("va")).round(4)
        out["arousal"] = table["arousal"].where(has("va")).round(4)
    if "expr" in db.tasks:
        out["expression"] = table["expression"].where(has("expr"))
    for au in db.aus:
        out[f"AU{au}"] = (table[f"intensity_AU{au}"] >= 2).astype(float).where(has("au"))
    for au in db.aus:
        out[f"intensity_AU{au}"] = table[f"intensity_AU{au}"].where(has("au"))
    if db.compound:
        out["compound"] = table["compound"]
    return out


def render_split(db: SyntheticDatabase, split: str, table: pd.DataFrame, seed: int, size: int) -> Iterator[np.ndarray]:
    """Yield (B, size, size, 3) uint8 batches of the table's faces, in row order."""
    numbers = sorted(set(table["_subject_number"]))
    ident_all = subject_identities(seed, db.name, numbers, db.style.glasses_rate)
    row_of = {s: i for i, s in enumerate(numbers)}
    rows = np.array([row_of[s] for s in table["_subject_number"]])
    intensity = table[[f"intensity_AU{a}" for a in AUS]].to_numpy()
    for start in range(0, len(table), BATCH):
        rng = np.random.default_rng([seed, SPLIT_CODES.get(split, 9), _code(db.name), start])
        idx = slice(start, start + BATCH)
        ident = {k: v[rows[idx]] for k, v in ident_all.items()}
        nuis = sample_nuisance(rng, len(rows[idx]), db.style)
        yield render_faces(ident, render_intensity(rng, intensity[idx]), nuis, size, rng)


def ladder_table() -> pd.DataFrame:
    """One identity, each AU alone at intensity 0-5: the rows of the gallery."""
    rows = [
        {"image": f"ladder/AU{au}_{k}.jpg", "subject": "ladder", "ladder_au": au, "ladder_intensity": k}
        for au in AUS
        for k in range(6)
    ]
    return pd.DataFrame(rows)


def render_ladder(db: SyntheticDatabase, seed: int, size: int) -> np.ndarray:
    table = ladder_table()
    ident_one = subject_identities(seed, db.name + "/ladder", [0], 0.0)
    # A mid skin tone and brown hair: the contrast that shows every AU best.
    ident_one["skin"][:] = SKIN_TONES[1]
    ident_one["hair"][:] = HAIR_COLOURS[1]
    ident_one["brow"][:] = HAIR_COLOURS[1] * 0.6
    ident_one["hair_style"][:] = 0
    ident = {k: np.repeat(v, len(table), axis=0) for k, v in ident_one.items()}
    intensity = np.zeros((len(table), len(AUS)), np.float32)
    intensity[np.arange(len(table)), [AUS.index(a) for a in table["ladder_au"]]] = table["ladder_intensity"]
    rng = np.random.default_rng([seed, _code(db.name), 7])
    nuis = sample_nuisance(rng, 1, db.style)
    nuis = {k: np.repeat(v, len(table), axis=0) for k, v in nuis.items()}
    for k in ("angle", "dx", "dy", "light_x", "light_y", "noise", "blur", "occ"):
        nuis[k][:] = 0
    nuis["scale"][:], nuis["brightness"][:], nuis["cast"][:] = 1, 1, 1
    return render_faces(ident, intensity, nuis, size, rng)
