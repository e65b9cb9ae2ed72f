"""What decides each row's pixels: its file, the frame of a video, a shipped box or eye centres, and whether the
face must be found. `RowSources` is read once from the canonical table; the decoder and the cache key use it."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FbnError
from ..specs import DatasetSpec
from .table import EYE_COLUMNS, FRAME_INDEX, bbox_array, has_bbox


@dataclass
class RowSources:
    paths: list[str]  # each row's file (an image, or a video when frame_index >= 0), resolved against the root
    bboxes: np.ndarray | None  # (N, 4) x, y, w, h; NaN rows have none
    eyes: np.ndarray | None  # (N, 4) image-left eye x, y, image-right eye x, y; NaN rows have none
    frame_index: np.ndarray  # (N,) int64; -1 for a picture file
    full_frames: bool  # the database ships scenes or frames: a row without a box needs the detector

    @classmethod
    def from_table(cls, table: pd.DataFrame, root: Path, spec: DatasetSpec | None = None) -> RowSources:
        # What roots.resolve_image gives (an absolute path stays itself), as plain strings: pathlib takes seconds
        # on a million rows, and this runs on every run, cache or not.
        prefix, isabs = os.path.join(str(root), ""), os.path.isabs
        paths = [p if isabs(p) else prefix + p for p in table["image"].astype(str).tolist()]
        eyes = None
        if any(c in table.columns for c in EYE_COLUMNS):
            missing = [c for c in EYE_COLUMNS if c not in table.columns]
            if missing:
                raise FbnError(f"{_owner(spec)}: the table has eye columns but not {', '.join(missing)}")
            eyes = np.stack([pd.to_numeric(table[c], errors="coerce").to_numpy(np.float64) for c in EYE_COLUMNS], 1)
        frames = np.full(len(table), -1, dtype=np.int64)
        if FRAME_INDEX in table.columns:
            given = pd.to_numeric(table[FRAME_INDEX], errors="coerce")
            bad = given.notna() & ((given < 0) | (given != given.round()))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise FbnError(
                    f"{_owner(spec)}: {FRAME_INDEX} {given.iloc[i]} at row {i} ({table['image'].iat[i]}) is "
                    "not a whole number >= 0 (the 0-based frame of the video)"
                )
            frames = given.fillna(-1).to_numpy(np.int64)
        boxes = bbox_array(table) if has_bbox(table) else None
        return cls(paths, boxes, eyes, frames, bool(spec is not None and spec.full_frames))

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, rows: slice) -> RowSources:
        pick = lambda a: None if a is None else a[rows]
        return RowSources(
            self.paths[rows], pick(self.bboxes), pick(self.eyes), self.frame_index[rows], self.full_frames
        )

    def describe(self, row: int) -> str:
        """The row's file as a user can find it: a video's path with its frame."""
        frame = int(self.frame_index[row])
        return f"{self.paths[row]} [frame {frame}]" if frame >= 0 else self.paths[row]

    def has_box(self, row: int) -> bool:
        return self.bboxes is not None and not np.isnan(self.bboxes[row]).all()

    def eye_pair(self, row: int) -> np.ndarray | None:
        if self.eyes is None or not np.isfinite(self.eyes[row]).all():
            return None
        return self.eyes[row].reshape(2, 2)

    def needs_detector(self, row: int) -> bool:
        return bool(self.detector_rows[row])

    @functools.cached_property
    def detector_rows(self) -> np.ndarray:
        """(N,) bool: the rows whose face the detector must find (a full-frame database's rows with neither a box
        nor both eyes). One vectorised pass: the cache asks for every row of million-row tables."""
        n = len(self)
        if not self.full_frames:
            return np.zeros(n, dtype=bool)
        boxed = np.zeros(n, bool) if self.bboxes is None else ~np.isnan(self.bboxes).all(axis=1)
        eyed = np.zeros(n, bool) if self.eyes is None else np.isfinite(self.eyes).all(axis=1)
        return ~boxed & ~eyed

    def uses_front_end(self) -> bool:
        """Whether the face front end's settings can change any pixel (then they are part of the cache key)."""
        return self.eyes is not None or self.uses_detector()

    def uses_detector(self) -> bool:
        return bool(self.detector_rows.any())

    def front_end_key(self, described: dict) -> dict:
        """The part of a front end's description (FaceFrontEnd.describe) that can change these rows' pixels: the
        crop where there are eyes or faces to find, the detector only where faces must be found."""
        if not self.uses_detector():
            described = {k: v for k, v in described.items() if k not in ("detector", "detector_options")}
        return described

    def extra_key_bytes(self) -> bytes:
        """What the cache key adds to the paths and boxes it has always hashed: nothing for a table of picture
        files without eyes (so their caches stay valid), else the eyes, the frames and the framing."""
        parts = []
        if self.eyes is not None:
            parts.append(b"eyes" + self.eyes.tobytes())
        if (self.frame_index >= 0).any():
            parts.append(b"frames" + self.frame_index.tobytes())
        if self.full_frames:
            parts.append(b"full-frames")
        return b"\0".join(parts)


def _owner(spec: DatasetSpec | None) -> str:
    return f"dataset {spec.name!r}" if spec is not None else "the table"
