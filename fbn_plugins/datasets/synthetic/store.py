"""The on-disk form of a synthetic database, written once on first use and read like a real one.

<root>/<key>/                 key = generator version + hash of the generation options
    manifest.json             the options, sizes and generator version (checked on load)
    train.csv, test.csv       annotation tables (the loader's output, plus intensity_AU<n> columns)
    images/<split>/...jpg     the faces (video databases: images/<split>/<video>/<frame>.jpg)
    ladder.csv, ladder/*.jpg  one identity showing each AU alone at intensity 0-5 (for the gallery)

Generation writes to a private temporary folder and renames it into place, so two processes that
start at once both end up reading one complete copy, and a crash never leaves a half-written key.
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

from fbn_bench.errors import FbnError
from fbn_bench.options import IMAGE_SIZE, Option

from .databases import SyntheticDatabase
from .generate import ladder_table, public_table, render_ladder, render_split, split_labels, split_sizes

GENERATOR_VERSION = "1"
# The options of every synthetic database, declared once: `fbn_bench.options` checks them and fills the
# defaults before `load` and `prepare` see them.
OPTIONS = (
    Option(
        "scale", float, 1.0, above=0, high=100, help="multiply the default size (about 1,500 train / 500 test images)"
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
        "noise", float, None, low=0, high=1, help="share of AU labels drawn from the base rate instead of the prior"
    ),
    Option(
        "au_ladder",
        bool,
        False,
        role="ladder",
        help="return the AU ladder (one identity, each AU at intensity 0-5) instead of a split",
    ),
)


def generation_options(scale=1.0, seed=0, size=64, noise=None) -> dict:
    try:
        opts = {
            "scale": float(scale),
            "seed": int(seed),
            "size": int(size),
            "noise": None if noise is None else float(noise),
        }
    except (TypeError, ValueError):
        raise FbnError(
            f"synthetic options must be numbers: scale={scale!r}, seed={seed!r}, size={size!r}, noise={noise!r}"
        ) from None
    if not (0 < opts["scale"] <= 100) or not (16 <= opts["size"] <= 512):
        raise FbnError(
            f"synthetic options out of range: scale={scale} (0-100], size={size} [16-512]; pick values inside"
        )
    if opts["noise"] is not None and not 0 <= opts["noise"] <= 1:
        raise FbnError(f"synthetic option noise={noise} must lie in [0, 1]")
    return opts


def option_key(db: SyntheticDatabase, opts: dict) -> str:
    blob = json.dumps({"database": db.name, "generator": GENERATOR_VERSION, **opts}, sort_keys=True)
    return f"v{GENERATOR_VERSION}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def _write_images(folder: Path, paths: list[str], batches, quality: int, progress) -> None:
    made: set[Path] = set()
    i = 0
    for batch in batches:
        for face in batch:
            path = folder / paths[i]
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            Image.fromarray(face).save(path, quality=quality)
            i += 1
        progress.update(len(batch))


def _generate(db: SyntheticDatabase, tmp: Path, opts: dict, key: str) -> None:
    from tqdm.auto import tqdm

    tmp.mkdir(parents=True)
    total = sum(split_sizes(db, s, opts["scale"])[0] for s in ("train", "test"))
    print(
        f"Generating {db.name} ({total} faces, {opts['size']} px, seed {opts['seed']}) into {tmp.parent / key}",
        file=sys.stderr,
    )
    with tqdm(total=total, desc=db.name, unit="face", disable=None, leave=False) as progress:
        for split in ("train", "test"):
            table = split_labels(db, split, opts["scale"], opts["seed"], opts["noise"])
            batches = render_split(db, split, table, opts["seed"], opts["size"])
            _write_images(tmp, list(table["image"]), batches, db.style.jpeg_quality, progress)
            public_table(db, table).to_csv(tmp / f"{split}.csv", index=False)
    ladder = ladder_table()
    _write_images(tmp, list(ladder["image"]), [render_ladder(db, opts["seed"], opts["size"])], 95, _NoProgress())
    ladder.to_csv(tmp / "ladder.csv", index=False)
    manifest = {
        "database": db.name,
        "generator": GENERATOR_VERSION,
        "options": opts,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "sizes": {s: split_sizes(db, s, opts["scale"])[0] for s in ("train", "test")},
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))


class _NoProgress:
    def update(self, n: int) -> None:
        pass


def ensure_generated(db: SyntheticDatabase, root: Path, **options) -> Path:
    """The folder holding this database for these options, generating it first if needed."""
    opts = generation_options(**options)
    key = option_key(db, opts)
    root = Path(root)
    final = root / key
    manifest = final / "manifest.json"
    if manifest.is_file():
        found = json.loads(manifest.read_text())
        if found.get("options") != opts or found.get("generator") != GENERATOR_VERSION:
            raise FbnError(
                f"{manifest} was written for other options ({found.get('options')}); delete {final} and rerun"
            )
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
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
) -> pd.DataFrame:
    """The loader behind every synthetic DatasetSpec: image paths are relative to `root`; the core passes
    every option of OPTIONS."""
    folder = ensure_generated(db, Path(root), scale=scale, seed=seed, size=size, noise=noise)
    name = "ladder" if au_ladder else split
    table = pd.read_csv(folder / f"{name}.csv", dtype={"subject": str, "video": str})
    table["image"] = folder.name + "/" + table["image"]
    if "expression" in table:
        table["expression"] = table["expression"].astype(object).where(table["expression"].notna(), None)
    return table


def prepare(db: SyntheticDatabase, root, **options) -> Path:
    options.pop("au_ladder", None)
    return ensure_generated(db, Path(root), **options)
