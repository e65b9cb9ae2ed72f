"""The on-disk form of a synthetic database, written once on first use and read like a real one.

<root>/<key>/                 key = generator version + hash of the generation options
    manifest.json             the options, generator version, and each table's rows and sha256 (checked on load)
    train.csv, val.csv, test.csv   annotation tables as annotated (the loader's output, plus intensity_AU<n>)
    truth-<split>.csv         every image's true labels: expression, all 17 AUs with intensities, VA
    images/<split>/...jpg     the faces (video databases: images/<split>/<video>/<frame>.jpg)
    ladder.csv, ladder/*.jpg  one identity showing each AU alone at intensity 0-5 (for the gallery)

Generation writes to a private temporary folder and renames it into place, so two processes that
start at once both end up reading one complete copy, and a crash never leaves a half-written key; a
killed generation's leftover temporary folder is removed by the next generation (after an hour).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
from PIL import Image

from fbn_bench.atomic import TMP_PREFIX, clean_stale_temporaries
from fbn_bench.errors import FbnError
from fbn_bench.options import IMAGE_SIZE, Option

from .databases import SyntheticDatabase
from .generate import (
    SPLITS,
    ladder_table,
    public_table,
    render_job,
    render_ladder,
    split_jobs,
    split_labels,
    split_sizes,
    split_world,
    truth_table,
)
from .world import WORLDS

GENERATOR_VERSION = "2"
# The options of every synthetic database, declared once: `fbn_bench.options` checks them and fills the
# defaults before `load` and `prepare` see them.
OPTIONS = (
    Option(
        "scale",
        float,
        1.0,
        above=0,
        high=100,
        help="multiply the default size (about 1,500 train / 225 val / 500 test images)",
    ),
    Option("seed", int, 0, help="generation seed: the same seed gives the same bytes"),
    Option(
        "size",
        int,
        64,
        low=16,
        high=512,
        follows=IMAGE_SIZE,
        help="rendered image size in pixels, square (the paper uses 96 or 112)",
    ),
    Option(
        "world",
        str,
        "realistic",
        choices=WORLDS,
        help="how labels arise: realistic (its own truth, people, annotators), null (AUs independent of "
        "expression), shuffled (realistic AU patterns from an expression drawn independently of the label), "
        "du2014 (AUs drawn from Du et al.'s table, the couplings' prior: a circular control)",
    ),
    Option(
        "mismatch",
        float,
        1.0,
        low=0,
        high=2,
        help="how far the realistic world's P(AU | expression) departs from Du et al.: 0 none, 1 the "
        "documented deviations",
    ),
    Option(
        "noise",
        float,
        None,
        low=0,
        high=1,
        help="annotator noise: share of AU labels drawn from the base rate and of expression labels confused "
        "(default: the database's; du2014 world: share of AUs drawn from the base rate, 0.1)",
    ),
    Option(
        "au_ladder",
        bool,
        False,
        role="ladder",
        help="return the AU ladder (one identity, each AU at intensity 0-5) instead of a split",
    ),
)


# The options the faces and labels depend on (the ladder is another view of the same folder).
GENERATION_OPTIONS = tuple(o for o in OPTIONS if o.role is None)


def generation_options(**given) -> dict:
    """The options that determine a generated folder's bytes: each one checked and defaulted by its declaration
    in OPTIONS (the core has done so already for a run; direct callers, e.g. tests, get the same checks)."""
    names = [o.name for o in GENERATION_OPTIONS]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise FbnError(f"synthetic data has no option {unknown[0]!r}; its options are {', '.join(names)}")
    return {o.name: o.check(given.get(o.name, o.default), "synthetic data") for o in GENERATION_OPTIONS}


def option_key(db: SyntheticDatabase, opts: dict) -> str:
    blob = json.dumps({"database": db.name, "generator": GENERATOR_VERSION, **opts}, sort_keys=True)
    return f"v{GENERATOR_VERSION}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def generation_workers() -> int:
    """Processes that draw faces: $FBN_BENCH_WORKERS, else every core this process may use. The faces do not
    depend on it (each batch has its own random stream), so it is not a generation option. Inside a daemon
    process (a multiprocessing pool's worker, which may not start processes of its own) it is 1."""
    import multiprocessing

    if multiprocessing.current_process().daemon:
        return 1
    wanted = os.environ.get("FBN_BENCH_WORKERS")
    if wanted:
        try:
            return max(1, int(wanted))
        except ValueError:
            raise FbnError(f"FBN_BENCH_WORKERS={wanted!r} is not a whole number of processes") from None
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def keep_freed_memory() -> None:
    """Let this process reuse the memory it frees instead of handing it back to the system at once.

    The renderer's temporaries are a few MB each (a batch of 64 faces in float32, and float64 where the
    arithmetic asks for it), above glibc's default threshold for memory mapped afresh on every allocation,
    so each one page-faults in again: with the thresholds raised, a batch draws 1.3 to 1.5 times as fast
    (docs/speed.md). The faces are the same bytes. glibc only (Linux); elsewhere nothing changes. Process-wide,
    so it is called in the processes that draw faces: the pool's workers, or this one when it draws alone."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest allowed threshold on 64-bit
        libc.mallopt(M_TRIM_THRESHOLD, 256 << 20)
    except (OSError, AttributeError):  # another C library (musl has no mallopt): the default is only slower
        pass


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def _draw_and_save(job, folder: Path, paths: list[str], quality: int) -> int:
    """Render one batch and write its JPEGs (in a worker process); returns how many faces."""
    faces = render_job(job)
    for parent in {(folder / name).parent for name in paths}:  # once per folder, not once per face
        parent.mkdir(parents=True, exist_ok=True)
    for face, name in zip(faces, paths):
        Image.fromarray(face).save(folder / name, quality=quality)
    return len(faces)


def _draw_all(folder: Path, work: list[tuple], quality: int, progress, workers: int) -> None:
    """Draw and write every (job, paths) batch, over `workers` processes: one pool for the whole database
    (forked where the platform allows: nothing to import again, and no start-up cost per split)."""
    if workers <= 1 or len(work) <= 1:
        keep_freed_memory()
        for job, paths in work:
            progress.update(_draw_and_save(job, folder, paths, quality))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if sys.platform.startswith("linux") else "spawn"
    jobs, paths = zip(*work)
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(min(workers, len(work)), mp_context=context, initializer=keep_freed_memory) as pool:
        for done in pool.map(_draw_and_save, jobs, [folder] * len(jobs), paths, [quality] * len(jobs)):
            progress.update(done)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _generate(db: SyntheticDatabase, tmp: Path, opts: dict, key: str) -> None:
    from tqdm.auto import tqdm

    workers = generation_workers()
    tmp.mkdir(parents=True)
    sizes = {s: split_sizes(db, s, opts["scale"])[0] for s in SPLITS}
    print(
        f"Generating {db.name} ({sum(sizes.values())} faces, {opts['size']} px, seed {opts['seed']}, "
        f"world {opts['world']}) into {tmp.parent / key}",
        file=sys.stderr,
    )
    world = split_world(db, opts)
    tables = {}
    work = []  # (job, the image paths of its rows) over every split: the labels are cheap, the faces are not
    for split in SPLITS:
        table = split_labels(db, split, opts)
        images = list(table["image"])
        for job in split_jobs(db, split, table, opts["seed"], opts["size"], world):
            work.append((job, images[job.start : job.start + len(job.intensity)]))
        public_table(db, table).to_csv(tmp / f"{split}.csv", index=False)
        truth_table(db, table).to_csv(tmp / f"truth-{split}.csv", index=False)
        tables[f"{split}.csv"] = tables[f"truth-{split}.csv"] = len(table)
    with tqdm(total=sum(sizes.values()), desc=db.name, unit="face", disable=None, leave=False) as progress:
        _draw_all(tmp, work, db.style.jpeg_quality, progress, workers)
    ladder = ladder_table()
    for face, name in zip(render_ladder(db, opts["seed"], opts["size"]), ladder["image"]):
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(face).save(tmp / name, quality=95)
    ladder.to_csv(tmp / "ladder.csv", index=False)
    tables["ladder.csv"] = len(ladder)
    manifest = {
        "database": db.name,
        "generator": GENERATOR_VERSION,
        "options": opts,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "sizes": sizes,
        "tables": {name: {"rows": rows, "sha256": _sha256(tmp / name)} for name, rows in tables.items()},
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))


def check_table(folder: Path, name: str, manifest: dict) -> Path:
    """The path of one generated table, after checking it is the file generation wrote (the manifest's
    sha256); a truncated or edited table is one error that says what is damaged and how to regenerate."""
    path = folder / name
    wanted = manifest.get("tables", {}).get(name)
    if wanted is None:
        raise FbnError(f"{folder}/manifest.json lists no {name}; delete {folder} and it is generated again")
    if not path.is_file():
        raise FbnError(
            f"synthetic data in {folder} is damaged: {name} is missing; delete {folder} and it is generated again"
        )
    if _sha256(path) != wanted["sha256"]:
        rows = sum(1 for _ in path.open(encoding="utf-8", errors="replace")) - 1
        raise FbnError(
            f"synthetic data in {folder} is damaged: {name} has {rows} rows where {wanted['rows']} were written, "
            f"or was edited; delete {folder} and it is generated again"
        )
    return path


def read_manifest(folder: Path, opts: dict) -> dict:
    """The manifest of a generated folder, checked against the options it should have been made with."""
    path = folder / "manifest.json"
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FbnError(
            f"{path} is unreadable ({type(exc).__name__}); delete {folder} and it is generated again"
        ) from None
    if found.get("options") != opts or found.get("generator") != GENERATOR_VERSION:
        raise FbnError(f"{path} was written for other options ({found.get('options')}); delete {folder} and rerun")
    return found


def ensure_generated(db: SyntheticDatabase, root: Path, **options) -> Path:
    """The folder holding this database for these options, generating it first if needed."""
    opts = generation_options(**options)
    key = option_key(db, opts)
    root = Path(root)
    final = root / key
    manifest = final / "manifest.json"
    if manifest.is_file():
        read_manifest(final, opts)
        return final
    root.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(root)  # a killed generation's folder (only the top level holds ours)
    tmp = root / f"{TMP_PREFIX}{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        _generate(db, tmp, opts, key)
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished first: its copy is identical, keep it
            if not manifest.is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def load(
    db: SyntheticDatabase,
    root,
    split: str,
    *,
    au_ladder: bool,
    scale: float,
    seed: int,
    size: int,
    noise: float | None,
    world: str,
    mismatch: float,
) -> pd.DataFrame:
    """The loader behind every synthetic DatasetSpec: image paths are relative to `root`; the core passes
    every option of OPTIONS."""
    options = dict(scale=scale, seed=seed, size=size, noise=noise, world=world, mismatch=mismatch)
    return _read(db, root, "ladder" if au_ladder else split, options)


def load_truth(db: SyntheticDatabase, root, split: str, **options) -> pd.DataFrame:
    """Every image's true labels (truth-<split>.csv, see truth_table), image paths as `load` gives them.
    For measuring transfer (e.g. expression accuracy on an AU-only database): an explicit opt-in, never
    what a run trains or is scored on."""
    return _read(db, root, f"truth-{split}", options)


def _read(db: SyntheticDatabase, root, name: str, options: dict) -> pd.DataFrame:
    folder = ensure_generated(db, Path(root), **options)
    manifest = read_manifest(folder, generation_options(**options))
    table = pd.read_csv(check_table(folder, f"{name}.csv", manifest), dtype={"subject": str, "video": str})
    table["image"] = folder.name + "/" + table["image"]
    if "expression" in table:
        table["expression"] = table["expression"].astype(object).where(table["expression"].notna(), None)
    if "au_int" in db.tasks:  # the stored intensity_AU<n> under the canonical name (the files stay as generated)
        for au in db.aus:
            if f"intensity_AU{au}" in table:
                table[f"AU{au}_int"] = table[f"intensity_AU{au}"]
    return table


def prepare(db: SyntheticDatabase, root, **options) -> Path:
    options.pop("au_ladder", None)
    return ensure_generated(db, Path(root), **options)
