"""Render one split of a synthetic database: labels from its world, faces from the renderer.

Everything is a pure function of (database, split, options), so the same options give the same bytes.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from fbn_bench.tasks import AUS

from .databases import VAL_SHARE, SyntheticDatabase
from .identity import HAIR_COLOURS, SKIN_TONES, subject_identities
from .labels import du2014_intensity, glide, render_intensity, sample_classes, sample_va, segment_index
from .render import render_faces
from .style import sample_nuisance
from .world import DatabaseWorld, database_world, people

BATCH = 64
SPLITS = ("train", "val", "test")
SPLIT_CODES = {"train": 1, "test": 2, "val": 3}
PARTIAL_PATTERNS = (("va", "expr", "au"), ("va",), ("va", "expr", "au"), ("expr",), ("va", "expr", "au"), ("au",))


def _code(text: str) -> int:
    return zlib.crc32(text.encode())


def split_sizes(db: SyntheticDatabase, split: str, scale: float) -> tuple[int, int]:
    """(images, subjects) of a split at this scale; subjects stay disjoint between splits. The `val` split
    holds about VAL_SHARE of the training split's images and subjects."""
    if split == "val":
        images = db.val_images or round(VAL_SHARE * db.train_images)
        subjects = math.ceil(VAL_SHARE * db.train_subjects)
    else:
        images = db.train_images if split == "train" else db.test_images
        subjects = db.train_subjects if split == "train" else db.test_subjects
    return max(8, round(images * scale)), max(2, round(subjects * min(scale, 1.0) ** 0.5))


def subject_numbers(db: SyntheticDatabase, split: str, scale: float) -> list[int]:
    """Subject numbers of a split: train first, then val, then test, never shared."""
    first = 0
    for earlier in SPLITS[: SPLITS.index(split)]:
        first += split_sizes(db, earlier, scale)[1]
    return list(range(first, first + split_sizes(db, split, scale)[1]))


def split_world(db: SyntheticDatabase, opts: dict) -> DatabaseWorld | None:
    """The world the split is drawn from (None: the du2014 control world, which has no people or cues)."""
    if opts["world"] == "du2014":
        return None
    return database_world(db, opts["world"], opts["mismatch"], opts["noise"])


def _class_prior(db: SyntheticDatabase, split: str) -> tuple[float, ...]:
    return db.test_prior if split == "test" and db.test_prior is not None else db.prior.class_prior


def _units(db: SyntheticDatabase, rng, n_images: int, subjects: list[int]) -> dict[str, np.ndarray]:
    """Which subject (and, in video, video and segment) each image belongs to, and each image's unit:
    the still itself, or the video segment whose expression and AUs it shows."""
    if not db.video:
        return {"subject": np.array(subjects)[rng.permutation(n_images) % len(subjects)], "unit": np.arange(n_images)}
    fpv = min(db.frames_per_video, max(3, n_images // 2))
    counts = [fpv] * (n_images // fpv)
    counts[-1] += n_images % fpv  # the remainder joins the last video
    parts, units = [], 0
    for v, frames in enumerate(counts):
        seg = segment_index(rng, frames)
        parts.append((np.full(frames, subjects[v % len(subjects)]), np.full(frames, v), np.arange(1, frames + 1), seg))
        parts[-1] += (seg + units,)
        units += int(seg.max()) + 1
    keys = ("subject", "video", "frame", "segment", "unit")
    return {k: np.concatenate([p[i] for p in parts]) for i, k in enumerate(keys)}


def split_labels(db: SyntheticDatabase, split: str, opts: dict) -> pd.DataFrame:
    """The annotation table of a split with every label, true (`truth_*`) and as annotated (masking of
    partially annotated databases comes later), and the render inputs."""
    rng = np.random.default_rng([opts["seed"], SPLIT_CODES[split], _code(db.name)])
    n_images, _ = split_sizes(db, split, opts["scale"])
    where = _units(db, rng, n_images, subject_numbers(db, split, opts["scale"]))
    unit_first = np.unique(where["unit"], return_index=True)[1]
    unit_subject = where["subject"][unit_first]
    cls = sample_classes(rng, len(unit_first), _class_prior(db, split))
    world = split_world(db, opts)
    if world is None:
        noise = 0.1 if opts["noise"] is None else opts["noise"]
        intensity = du2014_intensity(rng, cls, replace(db.prior, noise=noise))
        labelled, labelled_cls = intensity, cls
    else:
        total = sum(split_sizes(db, s, opts["scale"])[1] for s in SPLITS)
        persons = people(np.random.default_rng([opts["seed"], _code(db.name), 5]), total)
        # The class whose AUs each unit shows: its own, or in the shuffled world one drawn independently of it.
        shown = sample_classes(rng, len(cls), _class_prior(db, split)) if world.kind == "shuffled" else cls
        intensity = world.sample(rng, shown, unit_subject, persons)
        labelled, labelled_cls = world.annotate_aus(rng, intensity), world.annotate_expressions(rng, cls)
    va = sample_va(rng, cls, intensity, db.prior.classes)
    u = where["unit"]
    va = np.concatenate([glide(rng, va[u[where["video"] == v]]) for v in np.unique(where["video"])]) if db.video else va
    table = pd.DataFrame({"subject": [f"S{s:04d}" for s in where["subject"]]})
    prefix = f"images/{split}"
    if db.video:
        table["video"] = [f"video{v:03d}" for v in where["video"]]
        table["frame"] = where["frame"]
        table["segment"] = where["segment"]
        table.insert(0, "image", [f"{prefix}/{v}/{f:05d}.jpg" for v, f in zip(table["video"], table["frame"])])
    else:
        table.insert(0, "image", [f"{prefix}/{i:05d}.jpg" for i in range(n_images)])
    table["valence"], table["arousal"] = va[:, 0], va[:, 1]
    label_column = "compound" if db.compound else "expression"
    table[label_column] = [db.prior.classes[c] for c in labelled_cls[u]]
    table[f"truth_{label_column}"] = [db.prior.classes[c] for c in cls[u]]
    for j, au in enumerate(AUS):
        table[f"intensity_AU{au}"] = labelled[u, j]
        table[f"truth_intensity_AU{au}"] = intensity[u, j]
    table["_class"] = cls[u]
    table["_subject_number"] = where["subject"]
    if db.partial_annotation:  # each task labelled on 4 of every 6 videos, in a shuffled order
        n_videos = int(where["video"].max()) + 1
        pick = rng.permutation(np.arange(n_videos) % len(PARTIAL_PATTERNS))
        table["annotated"] = [",".join(PARTIAL_PATTERNS[pick[v]]) for v in where["video"]]
    return table


def public_table(db: SyntheticDatabase, table: pd.DataFrame) -> pd.DataFrame:
    """Keep only what the database labels, as annotated, masked per row where annotation is partial."""
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


def truth_table(db: SyntheticDatabase, table: pd.DataFrame) -> pd.DataFrame:
    """Every image's complete true labels (whatever the database annotates): the expression (or compound
    class) it shows, all 17 AUs with intensities, valence-arousal. Canonical column names, so the
    project's table tools (e.g. relatedness.empirical_from_table) read it like an annotation table."""
    out = table[[c for c in ("image", "subject", "video", "frame", "segment") if c in table]].copy()
    out["valence"], out["arousal"] = table["valence"].round(4), table["arousal"].round(4)
    label_column = "compound" if db.compound else "expression"
    out[label_column] = table[f"truth_{label_column}"]
    for au in AUS:
        out[f"AU{au}"] = (table[f"truth_intensity_AU{au}"] >= 2).astype(float)
    for au in AUS:
        out[f"intensity_AU{au}"] = table[f"truth_intensity_AU{au}"]
    return out


@dataclass(frozen=True)
class BatchJob:
    """Everything one batch of faces is drawn from: rendering it needs nothing else, so batches can be drawn
    in any order, by any process, and still give the same bytes."""

    db: SyntheticDatabase
    split: str
    seed: int
    size: int
    world: DatabaseWorld | None
    start: int  # the batch's first row in the split's table
    ident: dict
    intensity: np.ndarray
    classes: np.ndarray


def split_jobs(
    db: SyntheticDatabase, split: str, table: pd.DataFrame, seed: int, size: int, world: DatabaseWorld | None = None
) -> list[BatchJob]:
    """The table's faces as BATCH-row jobs, in row order; `world`'s appearance cues of expression (None: none,
    the du2014 world)."""
    numbers = sorted(set(table["_subject_number"]))
    ident_all = subject_identities(seed, db.name, numbers, db.style.glasses_rate)
    row_of = {s: i for i, s in enumerate(numbers)}
    rows = np.array([row_of[s] for s in table["_subject_number"]])
    intensity = table[[f"truth_intensity_AU{a}" for a in AUS]].to_numpy()
    classes = table["_class"].to_numpy()
    jobs = []
    for start in range(0, len(table), BATCH):
        idx = slice(start, start + BATCH)
        ident = {k: v[rows[idx]] for k, v in ident_all.items()}
        jobs.append(BatchJob(db, split, seed, size, world, start, ident, intensity[idx], classes[idx]))
    return jobs


def render_job(job: BatchJob) -> np.ndarray:
    """(B, size, size, 3) uint8: one batch of faces, from its own random stream."""
    rng = np.random.default_rng([job.seed, SPLIT_CODES.get(job.split, 9), _code(job.db.name), job.start])
    nuis = sample_nuisance(rng, len(job.intensity), job.db.style)
    if job.world is not None:
        job.world.apply_cues(rng, job.classes, nuis)
    return render_faces(job.ident, render_intensity(rng, job.intensity), nuis, job.size, rng)


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
