"""The validation split: carved from a database's training subjects (or videos, or images) by a stable hash.

Every database has `train`, `val` and `test`. Where a database's own validation set already serves as
`test` (Aff-Wild2, AffectNet), or it comes in folds (DISFA, BP4D), `val` is the training units whose hash
falls below VAL_FRACTION. The hash is sha256 of "<database>:<unit>", so the carving depends on nothing but
the database's name and the unit's id: the same on every machine, every run and every fold, and a unit
never moves because another was added or removed (except for the two guarantees below).

Guarantees, for two or more training units: at least one is in `val` (the lowest hash) and at least one stays
in `train` (the highest). With one unit there is nothing to carve: it stays in `train` and `val` is empty.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable

import pandas as pd

from ..errors import FbnError

VAL_FRACTION = 0.15
TRAIN_SIDE = ("train", "val")  # the splits carved from a database's training units


def unit_hash(database: str, unit: object) -> float:
    """sha256 of "<database>:<unit>" as a number in [0, 1)."""
    digest = hashlib.sha256(f"{database}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def val_units(database: str, units: Iterable[object], fraction: float = VAL_FRACTION) -> set[str]:
    """The units (as strings) of `units` that go to `val` (see the module docstring)."""
    ranked = sorted({str(u) for u in units}, key=lambda u: (unit_hash(database, u), u))
    if len(ranked) < 2:
        return set()
    chosen = {u for u in ranked if unit_hash(database, u) < fraction}
    chosen.add(ranked[0])
    chosen.discard(ranked[-1])
    return chosen


def carve_units(database: str, units: Iterable[object], split: str, fraction: float = VAL_FRACTION) -> set[str]:
    """The units of the training side (`units`) that belong to `split` ("train" or "val")."""
    if split not in TRAIN_SIDE:
        raise ValueError(f"only train and val are carved from the training units, not {split!r}")
    units = {str(u) for u in units}
    val = val_units(database, units, fraction)
    return val if split == "val" else units - val


def carve(table, database: str, split: str, column: str):
    """The rows of a training-side table (a DataFrame or a LoadedTable) whose `column` unit belongs to
    `split` ("train" or "val"), in the form it came; the loader's skip counts and notes stay with `train`.
    Rows with no unit are an error: they could land anywhere."""
    from .table import LoadedTable

    if split not in TRAIN_SIDE:
        raise ValueError(f"only train and val are carved from the training table, not {split!r}")
    frame = table.frame if isinstance(table, LoadedTable) else table
    if len(frame) and (column not in frame.columns or frame[column].isna().any()):
        raise FbnError(
            f"{database}: cannot carve the val split by {column!r}: "
            f"{'the table has no such column' if column not in frame.columns else 'some rows have none'}"
        )
    units = frame[column].astype(str) if len(frame) else pd.Series([], dtype=str)
    keep = units.isin(carve_units(database, units.unique(), split))
    carved = frame[keep.to_numpy()].reset_index(drop=True)
    if not isinstance(table, LoadedTable):
        return carved
    # Rows the loader dropped and its notes belong to the training side as a whole; they are reported once,
    # with train, rather than twice (which unit a dropped row had is not known).
    return LoadedTable(carved, table.skipped, table.notes) if split == "train" else LoadedTable(carved)


def derived_unit_column(spec, table: pd.DataFrame) -> str:
    """The unit a plugin without its own `val` split is carved by: its bootstrap unit (`group_column`) when
    every row has one, else the image."""
    column = spec.group_column
    if column and column in table.columns and table[column].notna().all():
        return column
    return "image"


def val_carved(database: str, column: str):
    """Decorator for a loader `load(root, split, **options)` whose database has no validation set of its own:
    `val` and `train` become the two carvings of the loader's own `train` table by `column` (the unit that
    must not straddle them: "subject", "video" or "image"); `test` is the loader's as it was. The wrapped
    function keeps the loader's signature (inspect follows __wrapped__), so its options read the same."""

    def wrap(load):
        @functools.wraps(load)
        def load_with_val(root, split, *args, **kwargs):
            if split in TRAIN_SIDE:
                return carve(load(root, "train", *args, **kwargs), database, split, column)
            return load(root, split, *args, **kwargs)

        return load_with_val

    return wrap
