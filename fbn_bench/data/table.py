"""The annotation-table contract between dataset plugins and the core.

A loader returns one row per face image; `normalize_table` checks it and brings it to the canonical
shape: identity columns, then `valence`, `arousal`, `expression` (a canonical name or None) and the 17
`AU<n>` columns (1.0 / 0.0 / NaN); a database whose spec.tasks has `au_int` also the 17 `AU<n>_int` columns
(intensity 0-5 / NaN), after them. Labels a database does not annotate are NaN, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import FbnError
from ..specs import DatasetSpec
from ..tasks import AU_COLUMNS, AU_INT_COLUMNS, AUS, EXPRESSION_VOCABULARY, EXPRESSIONS, MAX_INTENSITY, VA_COLUMNS

ID_COLUMNS = ("image", "subject", "video", "frame")
BBOX_COLUMNS = ("bbox_x", "bbox_y", "bbox_w", "bbox_h")
# Eye centres in pixels of the picture, `l` the eye on the image's left: what --face-crop align aligns on.
EYE_COLUMNS = ("eye_l_x", "eye_l_y", "eye_r_x", "eye_r_y")
# A row whose `image` is a video file names its frame here: 0-based, counted as the decoder returns them.
FRAME_INDEX = "frame_index"
LABEL_COLUMNS = (*VA_COLUMNS, "expression", *AU_COLUMNS)


@dataclass
class LoadedTable:
    """What a loader returns when it has more to say than the rows: a bare DataFrame means nothing skipped.

    `skipped`: rows dropped on purpose, {reason in plain words: count}; the run reports the counts with the
    images that failed to decode, and `datasets check` shows them. `notes`: one-line things worth telling
    the user that are not dropped rows (a subject folder outside the standard folds, a stray file); the run
    prints each as a warning when it prepares the split and `datasets check` lists them, never as skipped.
    """

    frame: pd.DataFrame
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.skipped = {str(reason): int(n) for reason, n in sorted(dict(self.skipped).items()) if int(n)}
        notes = [self.notes] if isinstance(self.notes, str) else list(self.notes or [])
        self.notes = [" ".join(str(n).split()) for n in notes if str(n).strip()]


def as_loaded(result) -> LoadedTable:
    """A loader's result as a LoadedTable (a bare DataFrame skipped nothing; anything else is left for
    normalize_table to reject with the contract's message)."""
    return result if isinstance(result, LoadedTable) else LoadedTable(result)


def normalize_table(table, spec: DatasetSpec, split: str, classes: tuple[str, ...] = EXPRESSIONS) -> pd.DataFrame:
    """Validate a loader's table and return it in canonical form (a new DataFrame). `classes`: the expression
    classes the database labels under its options (DatasetSpec.expression_classes)."""
    where = f"dataset {spec.name!r} split {split!r}"
    if not isinstance(table, pd.DataFrame):
        raise FbnError(f"{where}: the loader returned {type(table).__name__}, expected a pandas DataFrame")
    if "image" not in table.columns:
        raise FbnError(
            f"{where}: the annotation table has no 'image' column (columns: {', '.join(map(str, table.columns))})"
        )
    df = table.reset_index(drop=True).copy()
    df["image"] = df["image"].astype(str)
    for column in ("subject", "video"):
        if column in df.columns:
            df[column] = df[column].astype("string")

    for column in VA_COLUMNS:
        values = (
            pd.to_numeric(df[column], errors="coerce") if column in df.columns else pd.Series(np.nan, index=df.index)
        )
        bad = values.notna() & ((values < -1) | (values > 1))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise FbnError(f"{where}: {column} {values.iloc[i]} at row {i} ({df['image'].iloc[i]}) is outside [-1, 1]")
        df[column] = values.astype(np.float64)

    if "expression" in df.columns:
        expr = df["expression"].astype(object).where(df["expression"].notna(), None)
        bad = expr.map(lambda e: e is not None and e not in classes)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise FbnError(
                f"{where}: expression {expr.iloc[i]!r} at row {i} is not a canonical name ({', '.join(classes)}); map the database's codes in its loader"
            )
        df["expression"] = expr
    else:
        df["expression"] = None

    annotated = {f"AU{a}" for a in spec.aus}
    for column in AU_COLUMNS:
        if column in df.columns and column in annotated:
            values = pd.to_numeric(df[column], errors="coerce").astype(np.float64)
            bad = values.notna() & ~values.isin((0.0, 1.0))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise FbnError(f"{where}: {column} = {values.iloc[i]} at row {i} is not 0, 1 or missing (NaN)")
            df[column] = values
        else:  # not annotated by this database: unlabelled, whatever the loader put there
            df[column] = np.nan
    # Only a database that declares au_int gets intensity columns, so every other table keeps its shape.
    intensity = list(AU_INT_COLUMNS) if "au_int" in spec.tasks else []
    for column in intensity:
        if column in df.columns and column.removesuffix("_int") in annotated:
            values = pd.to_numeric(df[column], errors="coerce").astype(np.float64)
            bad = values.notna() & ~values.between(0, MAX_INTENSITY)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise FbnError(f"{where}: {column} = {values.iloc[i]} at row {i} is not an intensity 0-5 or missing")
            df[column] = values
        else:
            df[column] = np.nan

    if "va" not in spec.tasks:
        df[list(VA_COLUMNS)] = np.nan
    if "expr" not in spec.tasks:
        df["expression"] = None

    first = [c for c in (*ID_COLUMNS, FRAME_INDEX, *BBOX_COLUMNS, *EYE_COLUMNS) if c in df.columns]
    extra = [c for c in df.columns if c not in first and c not in LABEL_COLUMNS and not str(c).startswith("AU")]
    return df[[*first, *LABEL_COLUMNS, *intensity, *extra]]


def label_arrays(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Canonical label arrays: `va` (N, 2) float with NaN, `expr` (N,) int64 index into
    tasks.EXPRESSION_VOCABULARY (the 7, then contempt and other) with -1 for missing,
    `au` (N, 17) float with NaN for unannotated, `au_int` (N, 17) intensities 0-5, all NaN for a table
    without intensity columns."""
    codes = {name: i for i, name in enumerate(EXPRESSION_VOCABULARY)}
    expr = df["expression"].map(lambda e: codes.get(e, -1) if isinstance(e, str) else -1).to_numpy(np.int64)
    return {
        "va": df[list(VA_COLUMNS)].to_numpy(np.float64),
        "expr": expr,
        "au": df[list(AU_COLUMNS)].to_numpy(np.float64),
        "au_int": df.reindex(columns=list(AU_INT_COLUMNS)).to_numpy(np.float64),
    }


def annotated_aus(df: pd.DataFrame) -> list[int]:
    """AU numbers with at least one label in the table."""
    return [a for a, c in zip(AUS, AU_COLUMNS) if df[c].notna().any()]


def has_bbox(table: pd.DataFrame) -> bool:
    return all(c in table.columns for c in BBOX_COLUMNS)


def bbox_array(table: pd.DataFrame) -> np.ndarray:
    """(N, 4) float64 face boxes; a non-numeric entry becomes NaN (and that row a "bad bbox" to the cache)."""
    return np.stack([pd.to_numeric(table[c], errors="coerce").to_numpy(np.float64) for c in BBOX_COLUMNS], axis=1)
