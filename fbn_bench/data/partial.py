"""A cache build that survives being killed: a 5-million-image split takes hours to decode, and a build stopped
part-way (a crash, a preempted job, Ctrl-C) continues where it stopped instead of starting again.

While a split is built, its cache folder holds, beside the finished files it will become:

- `<stem>.npy.partial`: every row's pixels at the row's own index (a memory-mapped .npy of all rows);
- `<stem>.json.partial`: which work units (data/decode.py: a chunk of pictures, or one video) are on disk, with
  what each found (rows skipped and why, video lengths, crops). It is rewritten atomically at most every
  SAVE_EVERY_S seconds, and only after the pixels it vouches for were flushed, so it never claims a row that is
  not on disk; a kill loses at most the units of those last seconds;
- `<stem>.lock`: held by the one process building that split; another process that wants it waits, then finds it
  built.

A complete cache is only ever the `.npy` + `.json` pair (data/cache.py), written once the last unit is done, so a
partial build is never mistaken for a complete one; `fbn-bench cache list` shows partial builds as such.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_text
from .decode import CHUNK, Decoded

SAVE_EVERY_S = 10.0
PIXELS_SUFFIX, STATE_SUFFIX = ".npy.partial", ".json.partial"


def partial_paths(npy: Path) -> tuple[Path, Path, Path]:
    """(pixels, state, lock) of the partial build of the cache file `npy`."""
    stem = npy.name[: -len(".npy")]
    return npy.with_name(stem + PIXELS_SUFFIX), npy.with_name(stem + STATE_SUFFIX), npy.with_name(stem + ".lock")


class PartialBuild:
    """`with PartialBuild(npy, key, n_rows, size) as build:` locks the split, then resumes the build a killed
    process left for the same key (else starts one): `build.pixels` (n_rows, size, size, 3) uint8, `build.done`
    the units on disk. `record(unit, decoded)` after each unit; `finish()` once the complete cache is in place.
    Leaving the block on an error saves what is done, for the next build."""

    def __init__(self, npy: Path, key: str, n_rows: int, image_size: int) -> None:
        self.pixels_path, self.state_path, self.lock_path = partial_paths(npy)
        self.header = {"key": key, "n_rows": n_rows, "image_size": image_size, "chunk": CHUNK}
        self.done: dict[str, dict] = {}
        self.pixels: np.ndarray | None = None
        self.resumed = 0  # units found on disk when the build started
        self._saved_at = time.monotonic()
        self._lock = None

    def __enter__(self) -> PartialBuild:
        self._lock = open(self.lock_path, "a+")
        try:
            import fcntl

            fcntl.flock(self._lock, fcntl.LOCK_EX)  # blocks while another process builds this split
        except ImportError:  # Windows: no advisory locks; concurrent builders write identical bytes
            pass
        n, size = self.header["n_rows"], self.header["image_size"]
        shape = (max(n, 1), size, size, 3)
        state = self._read_state()
        if state is not None:
            try:
                self.pixels = np.load(self.pixels_path, mmap_mode="r+")
                if self.pixels.shape != shape or self.pixels.dtype != np.uint8:
                    self.pixels = None
            except (OSError, ValueError):
                self.pixels = None
        if self.pixels is None or state is None:
            state = {}
            self.pixels = np.lib.format.open_memmap(self.pixels_path, mode="w+", dtype=np.uint8, shape=shape)
        self.done = state
        self.resumed = len(state)
        return self

    def _read_state(self) -> dict | None:
        try:
            saved = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or {k: saved.get(k) for k in self.header} != self.header:
            return None  # another key (labels' paths, options, decoder) or another chunking: start again
        return saved.get("units") if isinstance(saved.get("units"), dict) else None

    def record(self, unit: str, decoded: Decoded) -> None:
        self.done[unit] = decoded.to_json()
        if time.monotonic() - self._saved_at >= SAVE_EVERY_S:
            self.save()

    def save(self) -> None:
        """Flush the pixels, then say which units they hold (in that order: the state never runs ahead)."""
        if self.pixels is None:
            return
        self.pixels.flush()
        atomic_write_text(self.state_path, json.dumps({**self.header, "units": self.done}), "the partial cache state")
        self._saved_at = time.monotonic()

    @property
    def decoded(self) -> Decoded:
        """What every unit done so far found, merged (skipped rows ascending)."""
        merged = Decoded()
        for found in self.done.values():
            merged.merge(Decoded.from_json(found))
        merged.skipped.sort()
        return merged

    def finish(self) -> None:
        """The complete cache is in place (the pixels file may have become it): forget the partial build."""
        self.pixels = None
        for path in (self.pixels_path, self.state_path):
            path.unlink(missing_ok=True)

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is not None and self.pixels is not None:
                self.save()  # interrupted: keep what is done for the next build
        finally:
            self.pixels = None
            if self._lock is not None:
                if kind is None:
                    self.lock_path.unlink(missing_ok=True)  # still held: a waiter re-checks the finished cache
                self._lock.close()


def describe_partial(state_path: Path) -> str | None:
    """`'disfa/train 64px: partial build, 1,200 of 4,845 rows'` for `cache list`; None when unreadable."""
    try:
        saved = json.loads(state_path.read_text())
        units = saved["units"]
        done = sum(len(u["skipped"]) for u in units.values())
        return f"partial build, {len(units):,} units done ({saved['n_rows']:,} rows, {saved['image_size']}px)" + (
            f", {done:,} rows skipped so far" if done else ""
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
