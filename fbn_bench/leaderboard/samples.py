"""Per-sample predictions of the runs behind a table: loading, the resampling unit, and pairing.

The resampling unit of a database is its registered `DatasetSpec.group_column` (people or videos);
for a database no installed plugin registers, `video` when the predictions have it, else `subject`,
else single rows. Rows are identified across runs by `image`, so every configuration and seed of a
database is resampled with the same clusters.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FbnError
from ..results import predictions_path
from .records import Entry

ROWS = "rows"

# What a damaged or foreign file raises: not gzip (a Git LFS pointer), cut short, empty, not CSV, not text.
_UNREADABLE = (OSError, EOFError, zlib.error, UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError)


def load_predictions(entry: Entry) -> dict[str, pd.DataFrame]:
    """run_id -> predictions frame, for the seeds that stored predictions (a file that is there but
    cannot be read is an error: it would otherwise be mistaken for a run that stored none). A frame
    carries the AU thresholds its run's records were scored with (`attrs["thresholds"]`), so that its
    resamples decide as its records did."""
    from .sums import THRESHOLDS_ATTR

    frames = {}
    for run in entry.runs:
        path = predictions_path(run.folder, entry.database)
        if path.is_file():
            frames[run.run_id] = read_frame(path)
            frames[run.run_id].attrs[THRESHOLDS_ATTR] = run.thresholds
    return frames


def read_frame(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype={"subject": "string", "video": "string", "image": "string"})
    except _UNREADABLE as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise FbnError(
            f"{path}: not readable predictions ({reason}); restore it (`git lfs pull` if it is a Git LFS "
            f"pointer), add the run again with `fbn-bench leaderboard add`, or delete it"
        ) from None


def group_column(registered: str | None, is_registered: bool, frames: list[pd.DataFrame]) -> str:
    """The column whose values are the bootstrap's clusters, or ROWS."""

    def everywhere(column: str) -> bool:
        return bool(frames) and all(column in f.columns and f[column].notna().any() for f in frames)

    if is_registered:
        return registered if registered and everywhere(registered) else ROWS
    for column in ("video", "subject"):
        if everywhere(column):
            return column
    return ROWS


def row_identity(frame: pd.DataFrame) -> np.ndarray:
    """What makes a row the same sample in two runs: its image, else its position."""
    if "image" in frame.columns and frame["image"].notna().all():
        return frame["image"].astype(str).to_numpy()
    return np.array([f"#row{i}" for i in range(len(frame))], dtype=object)


def cluster_ids(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Each row's cluster; a row whose group value is missing is a cluster of its own."""
    ids = row_identity(frame).astype(object)
    if column == ROWS:
        return ids
    values = frame[column]
    return np.where(values.notna().to_numpy(), "g:" + values.astype(str).to_numpy(dtype=object), "r:" + ids)


@dataclass
class Clusters:
    """The sorted cluster universe of one database (the union over every run's predictions)."""

    column: str
    names: np.ndarray

    @classmethod
    def of(cls, column: str, frames: list[pd.DataFrame]) -> Clusters:
        ids = [cluster_ids(f, column) for f in frames]
        names = np.unique(np.concatenate(ids)) if ids else np.array([], dtype=object)
        return cls(column, names)

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        return np.searchsorted(self.names, cluster_ids(frame, self.column))

    def __len__(self) -> int:
        return len(self.names)


def restrict(frame: pd.DataFrame, identities: set[str]) -> pd.DataFrame:
    """The rows of `frame` whose identity is in `identities` (for paired comparisons)."""
    return frame[pd.Series(row_identity(frame)).isin(identities).to_numpy()]
