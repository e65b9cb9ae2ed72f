"""The decoded image cache: each split's faces decoded once, resized, and kept as a uint8 memmap.

Files in the cache folder (`$FBN_BENCH_CACHE`, see `roots.default_cache_dir`), per split:
`<dataset>-<split>-<size>px-<key>.npy` (N_ok, size, size, 3) uint8, and `.json` beside it with the
rows that were skipped and why. The key hashes what decides the pixels: the table's image paths and
bounding boxes in loader order, the image size, the dataset name, its loader_version, the resolved
root and the decoder's own version. Labels are not part of it (they are read from the table on every
run), so fixing an annotation does not re-decode anything.

The `.json` also holds the SHA-256 of the `.npy`, checked the first time a process uses the cache (and again
whenever the file changes): a damaged cache (a disk error, a partial copy, an edit) is rebuilt with a one-line
warning, never used. Hashing reads the file once, a small fraction of what decoding it took (see
docs/data-path.md). A build that stops part-way is continued by the next one (data/partial.py); temporary files
of a write killed mid-way (`.tmp-*`) are removed on a later run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import clean_stale_temporaries, write_error
from ..errors import FbnError
from ..faces.frontend import FaceFrontEnd
from ..specs import DatasetSpec
from ..tasks import EXPRESSIONS
from .decode import decode_units
from .images import MISSING, UNREADABLE, BadImageError, decode_face, open_picture
from .partial import PartialBuild
from .report import crop_notes, skip_warning, video_notes
from .roots import default_cache_dir, read_split
from .sources import RowSources
from .table import BBOX_COLUMNS, LoadedTable, label_arrays

# Bump when decode_face or the file layout changes: old caches then stop matching.
DECODER_VERSION = "1"
N_EXAMPLES = 5
_verified: set[tuple[str, int, int, str]] = set()  # (path, size, mtime_ns, sha256) checked in this process
_cleaned: set[Path] = set()  # cache folders whose stale temporaries this process removed


@dataclass
class PreparedSplit:
    """One split of one database, ready for training: its table, its decoded faces and their labels."""

    name: str
    spec: DatasetSpec
    split: str
    root: Path
    table: pd.DataFrame  # the canonical table: all rows, loader order
    images: np.ndarray  # uint8 (N_ok, H, W, 3), read-only memmap; only the rows that decoded
    rows: np.ndarray  # int64 (N_ok,): each image's row in `table`
    labels: dict[str, np.ndarray]  # label_arrays(table.iloc[rows])
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    skipped_examples: list[tuple[str, str]] = field(default_factory=list)  # first few (path, reason)
    notes: list[str] = field(default_factory=list)  # the loader's notes (LoadedTable.notes); not skipped rows
    cache_path: Path | None = None
    # The expression classes its protocol labels (DatasetSpec.expression_classes): what its `expr` codes may be
    # and what its predictions are scored over.
    classes: tuple[str, ...] = EXPRESSIONS

    @property
    def n_skipped(self) -> int:
        return int(sum(self.skipped.values()))

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])

    def __len__(self) -> int:
        return int(len(self.rows))


def cache_key(
    table: pd.DataFrame,
    spec: DatasetSpec,
    root: Path,
    image_size: int,
    sources: RowSources | None = None,
    front: FaceFrontEnd | None = None,
) -> str:
    """Hex digest of everything that decides the decoded pixels (see the module docstring). Video frames, eye
    centres, full-frame pictures and, where they matter, the face front end's settings are part of it."""
    sources = sources or RowSources.from_table(table, root, spec)
    h = hashlib.sha256()
    header = {
        "decoder": DECODER_VERSION,
        "dataset": spec.name,
        "loader_version": str(spec.loader_version),
        "root": str(Path(root).expanduser().resolve()),
        "image_size": int(image_size),
        "n": len(table),
    }
    h.update(json.dumps(header, sort_keys=True).encode())
    h.update("\0".join(table["image"].astype(str)).encode())
    h.update(sources.bboxes.tobytes() if sources.bboxes is not None else b"no-bbox")
    h.update(sources.extra_key_bytes())
    if sources.uses_front_end():
        h.update(json.dumps(sources.front_end_key((front or FaceFrontEnd()).describe()), sort_keys=True).encode())
    return h.hexdigest()


def prepare_split(
    spec: DatasetSpec,
    split: str,
    options: dict[str, Any] | None = None,
    *,
    image_size: int,
    data_root: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    workers: int | None = None,
    report: bool = True,
    loaded: tuple[LoadedTable, Path] | None = None,
    front: FaceFrontEnd | None = None,
) -> PreparedSplit:
    """Load a split's table and return it with its decoded faces, building the cache on first use.
    `loaded`: the (table, root) `read_split` already returned, to read every database's annotations
    before decoding any image (so a wrong path fails in seconds, not after decoding another database).
    `front`: the face front end (detector and crop) for full-frame databases, videos and eye centres; None is
    `--face-detector none` with box crops.

    Bad images (missing, unreadable, bad bbox) are left out, counted by reason, and announced in one
    line on stderr per split; they never stop the run. The loader's notes (LoadedTable.notes)
    follow, one line each, and are not counted. A reused cache re-tries only its skipped images, and
    is rebuilt if one of them decodes now. `workers`: decoding threads (default: the CPUs this process
    may use). `report=False` silences the stderr lines (e.g. on all but the main process). With
    several processes, let one build first (e.g. Accelerate's `main_process_first()`); concurrent
    builders are safe but duplicate the work.
    """
    from_loader, root = loaded or read_split(spec, split, options, data_root)
    table = from_loader.frame
    present = [c for c in BBOX_COLUMNS if c in table.columns]
    if present and len(present) < len(BBOX_COLUMNS):
        raise FbnError(
            f"dataset {spec.name!r} split {split!r}: the table has {', '.join(present)} but not all of "
            f"{', '.join(BBOX_COLUMNS)}; give all four bounding-box columns or none"
        )
    folder = Path(cache_dir or default_cache_dir()).expanduser()
    if folder not in _cleaned:  # what a build killed mid-way left behind
        _cleaned.add(folder)
        clean_stale_temporaries(folder)
    sources = RowSources.from_table(table, root, spec)
    key = cache_key(table, spec, root, image_size, sources, front)
    stem = f"{_safe(spec.name)}-{_safe(split)}-{image_size}px-{key[:24]}"
    npy, meta_path = folder / f"{stem}.npy", folder / f"{stem}.json"

    loaded = _load(npy, meta_path, key, len(table), image_size)
    if loaded is not None and _any_recovered(sources, image_size, loaded[1]["skipped"]):
        loaded = None  # a bad file was fixed or put in place since: decode again
    if loaded is None:
        _check_room(folder, len(table), image_size)
        if front is not None and front.detector is not None and sources.uses_detector():
            _check_detector(front, spec)
        try:
            _build(sources, root, image_size, npy, meta_path, key, spec, split, progress, workers, front)
        except OSError as exc:  # decoding reports unreadable images itself: this is the cache folder
            raise write_error(folder, "the image cache in", exc) from None
        loaded = _load(npy, meta_path, key, len(table), image_size)
        if loaded is None:  # only if someone deletes the files between our write and read
            raise RuntimeError(f"the image cache {npy} vanished right after it was written")
    images, meta = loaded

    bad_rows = np.array([r for r, _ in meta["skipped"]], dtype=np.int64)
    rows = np.setdiff1d(np.arange(len(table), dtype=np.int64), bad_rows)
    # Rows the loader dropped on purpose (LoadedTable.skipped) are reported with the images that failed.
    skipped: dict[str, int] = dict(from_loader.skipped)
    for _, reason in meta["skipped"]:
        skipped[reason] = skipped.get(reason, 0) + 1
    examples = [(sources.describe(r), reason) for r, reason in meta["skipped"][:N_EXAMPLES]]
    prepared = PreparedSplit(
        name=spec.name,
        spec=spec,
        split=split,
        root=root,
        table=table,
        images=images,
        rows=rows,
        labels=label_arrays(table.iloc[rows]),
        skipped=skipped,
        skipped_examples=examples,
        notes=list(from_loader.notes) + video_notes(meta) + crop_notes(meta, front),
        cache_path=npy,
        classes=spec.expression_classes(options),
    )
    if report:
        if prepared.n_skipped:
            print(skip_warning(prepared), file=sys.stderr)
        for note in prepared.notes:
            print(f"warning: {prepared.name}/{split}: {note}", file=sys.stderr)
    return prepared


def _load(npy: Path, meta_path: Path, key: str, n_rows: int, image_size: int):
    """(images, meta) when a complete, intact cache for `key` is there, else None (a damaged one is
    announced on stderr)."""
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("key") != key or meta.get("n_rows") != n_rows:
        return None
    shape = (n_rows - len(meta["skipped"]), image_size, image_size, 3)
    if shape[0] == 0:  # an empty file cannot be memory-mapped
        return np.zeros(shape, dtype=np.uint8), meta
    if not isinstance(meta.get("sha256"), str):
        return None  # written before caches were checksummed: cannot be checked, so build it again
    try:
        images = np.load(npy, mmap_mode="r")
        intact = images.shape == shape and images.dtype == np.uint8 and _intact(npy, meta["sha256"])
    except (OSError, ValueError):
        intact = False
    if not intact:
        print(
            f"warning: the image cache {npy} is damaged (its size or checksum is not what was written); "
            f"decoding {meta.get('dataset')}/{meta.get('split')} again",
            file=sys.stderr,
        )
        return None
    with contextlib.suppress(OSError):
        os.utime(meta_path)  # the .json's time says when the cache was last used (`fbn-bench cache list`)
    return images, meta


def file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _intact(npy: Path, expected: str) -> bool:
    """Whether the file's SHA-256 is `expected`; hashed once per process for each version of the file."""
    stat = npy.stat()
    seen = (str(npy.resolve()), stat.st_size, stat.st_mtime_ns, expected)
    if seen in _verified:
        return True
    if file_sha256(npy) != expected:
        return False
    _verified.add(seen)
    return True


def _check_detector(front: FaceFrontEnd, spec: DatasetSpec) -> None:
    """Build the detector once before decoding, so a missing extra or model file is one line now, naming the
    database that needs it, not a failure inside a worker thread."""
    try:
        front.detect(np.zeros((64, 64, 3), dtype=np.uint8))
    except FbnError as err:
        raise FbnError(f"{spec.name} ships full frames, so its faces are found by a detector: {err}") from None


def _any_recovered(sources: RowSources, image_size: int, skipped: list) -> bool:
    """Whether any image skipped as missing or unreadable decodes now (a face the detector did not find, or a
    label past a video's end, is no file problem). Cheap: bad files are few, and a missing file costs one stat;
    a video is only re-checked for being there."""
    for row, reason in skipped:
        path = sources.paths[row]
        if reason not in (MISSING, UNREADABLE):
            continue
        if sources.frame_index[row] >= 0:
            if reason == MISSING and Path(path).is_file():
                return True
            continue
        try:
            if sources.needs_detector(row) or sources.eye_pair(row) is not None:
                open_picture(path)
            else:
                decode_face(path, image_size, None if sources.bboxes is None else sources.bboxes[row])
            return True
        except BadImageError:
            continue
    return False


def _build(sources, root, image_size, npy, meta_path, key, spec, split, progress, workers, front) -> None:
    """Decode every row into the split's partial build (data/partial.py: resumed if a killed build left one), then
    write the decoded rows in order to a temporary file and move the files into place (data first, meta last), so
    a reader never sees a half-written cache. One process builds a split at a time; another waits, then reuses."""
    npy.parent.mkdir(parents=True, exist_ok=True)
    n = len(sources)
    before = _identity(meta_path)  # what made us build (no cache, a damaged or outdated one)
    with PartialBuild(npy, key, n, image_size) as build:
        if _identity(meta_path) != before and _load(npy, meta_path, key, n, image_size) is not None:
            return  # built by the process we waited for
        if build.resumed:
            print(f"{spec.name}/{split}: continuing a cache build that stopped part-way", file=sys.stderr)
        decode_units(
            sources,
            image_size,
            build.pixels,
            front=front,
            workers=workers,
            progress=progress,
            desc=f"decoding {spec.name}/{split}",
            done=build.done,
            on_unit=build.record,
        )
        build.save()
        decoded = build.decoded
        good = np.setdiff1d(np.arange(n, dtype=np.int64), np.array([r for r, _ in decoded.skipped], dtype=np.int64))
        tmp_files: list[Path] = []
        try:
            if len(good) == n:  # every row decoded: the partial file is the cache (no second copy on disk)
                build.pixels.flush()
                build.pixels = None
                final = build.pixels_path
            else:
                final = _tmp(npy.parent, tmp_files)
            if 0 < len(good) < n:  # the decoded rows, in row order, in a file of the exact size
                exact = np.lib.format.open_memmap(
                    final, mode="w+", dtype=np.uint8, shape=(len(good), image_size, image_size, 3)
                )
                for start in range(0, len(good), 4096):
                    exact[start : start + 4096] = build.pixels[good[start : start + 4096]]
                exact.flush()
                del exact
            meta = {
                "key": key,
                "decoder": DECODER_VERSION,
                "dataset": spec.name,
                "split": split,
                "loader_version": str(spec.loader_version),
                "root": str(root),
                "image_size": image_size,
                "n_rows": n,
                "n_images": len(good),
                "skipped": [[int(r), reason] for r, reason in decoded.skipped],
                "videos": decoded.videos,
                "crops": decoded.crops,
                "front_end": (front or FaceFrontEnd()).describe() if sources.uses_front_end() else None,
                "sha256": file_sha256(final) if len(good) else None,
            }
            if len(good):
                os.replace(final, npy)
                stat = npy.stat()  # just hashed: the load that follows need not read it again
                _verified.add((str(npy.resolve()), stat.st_size, stat.st_mtime_ns, meta["sha256"]))
            tmp_meta = _tmp(npy.parent, tmp_files, suffix=".json")
            tmp_meta.write_text(json.dumps(meta, indent=1))
            os.replace(tmp_meta, meta_path)
        finally:
            for f in tmp_files:
                f.unlink(missing_ok=True)
        build.finish()


def _identity(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _check_room(folder: Path, n_rows: int, image_size: int) -> None:
    """A build writes through a memory map, where a full disk is a crash (SIGBUS), not an error: say so
    first. The build may briefly hold two copies (all rows, then the rows that decoded)."""
    import shutil

    from .stored import human_size

    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise FbnError(f"the image cache folder {probe} is a file; point $FBN_BENCH_CACHE at a folder")
    need = 2 * n_rows * image_size * image_size * 3
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return  # cannot tell: let the build try
    if free < need:
        raise FbnError(
            f"the image cache in {folder} needs {human_size(need)} to build {n_rows:,} faces at {image_size} px "
            f"but the disk has {human_size(free)} free; free some space (`fbn-bench cache prune`) or point "
            "$FBN_BENCH_CACHE elsewhere"
        )


def _tmp(folder: Path, registry: list[Path], suffix: str = ".npy") -> Path:
    fd, name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    os.chmod(name, 0o644)  # mkstemp makes 0600; a shared cache folder should stay readable by others
    registry.append(Path(name))
    return Path(name)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text))
