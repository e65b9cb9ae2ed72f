"""What fbn-bench keeps outside the run folders, for `fbn-bench cache list/prune`: the decoded-image cache
(`$FBN_BENCH_CACHE`, one `.npy` + `.json` per split) and the data the synthetic databases generate (one
folder per option set under `<data root>/<database>/`, `$FBN_BENCH_DATA`). Both are rebuilt on the next run
that needs them, so removing them loses nothing but time.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..atomic import TMP_PREFIX
from .partial import PIXELS_SUFFIX, STATE_SUFFIX, describe_partial

IMAGES, GENERATED, PARTIAL, LEFTOVER = "images", "generated", "partial", "left over"


@dataclass(frozen=True)
class Stored:
    # IMAGES, GENERATED, PARTIAL (a build that stopped part-way: the next one continues it) or LEFTOVER (a
    # temporary of a killed write, a cache file missing its half)
    kind: str
    name: str  # what it holds, e.g. "synth-rafdb/train 64px (1,500 images)"
    paths: tuple[Path, ...]
    size: int  # bytes
    used: float  # seconds since the epoch: last use (caches), when written (generated data)

    def age_days(self, now: float | None = None) -> float:
        return max(0.0, ((now or time.time()) - self.used) / 86400)

    def remove(self) -> None:
        for path in self.paths:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def image_caches(folder: Path) -> list[Stored]:
    """Each cached split of the decoded-image cache folder, and whatever in it belongs to no complete split."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found, claimed = [], set()
    for meta_path in sorted(folder.glob("*.json")):
        npy = meta_path.with_suffix(".npy")
        try:
            meta = json.loads(meta_path.read_text())
            name = f"{meta['dataset']}/{meta['split']} {meta['image_size']}px ({meta['n_images']:,} images)"
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: listed as left over below
        paths = (npy, meta_path) if npy.exists() else (meta_path,)
        claimed.update(paths)
        found.append(Stored(IMAGES, name, paths, _size(paths), meta_path.stat().st_mtime))
    for state in sorted(folder.glob(f"*{STATE_SUFFIX}")):
        pixels = state.with_name(state.name[: -len(STATE_SUFFIX)] + PIXELS_SUFFIX)
        described = describe_partial(state)
        if described is None:
            continue
        paths = (pixels, state) if pixels.exists() else (state,)
        claimed.update(paths)
        name = state.name[: -len(STATE_SUFFIX)]
        found.append(Stored(PARTIAL, f"{name}: {described}", paths, _size(paths), state.stat().st_mtime))
    for path in sorted(folder.iterdir()):
        leftover = path.suffix in (".npy", ".json", ".partial") or path.name.startswith(TMP_PREFIX)
        if path not in claimed and leftover:
            found.append(Stored(LEFTOVER, path.name, (path,), _size([path]), path.lstat().st_mtime))
    return found


def generated_data(roots: dict[str, Path]) -> list[Stored]:
    """Each generated option set of the synthetic databases, {database: its root folder}."""
    found = []
    for database, root in sorted(roots.items()):
        if not Path(root).is_dir():
            continue
        for path in sorted(Path(root).iterdir()):
            if not path.is_dir():
                continue
            kind = LEFTOVER if path.name.startswith(TMP_PREFIX) else GENERATED
            found.append(Stored(kind, f"{database}/{path.name}", (path,), _size([path]), path.stat().st_mtime))
    return found


def _size(paths) -> int:
    total = 0
    for path in paths:
        path = Path(path)
        if path.is_dir() and not path.is_symlink():
            for folder, _, files in os.walk(path):
                total += sum(_lsize(Path(folder) / f) for f in files)
        else:
            total += _lsize(path)
    return total


def _lsize(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def human_size(n: float) -> str:
    if n < 1000:
        return f"{n:.0f} B"
    for unit in ("KB", "MB"):
        n /= 1000
        if n < 1000:
            return f"{n:.1f} {unit}"
    return f"{n / 1000:.1f} GB"
