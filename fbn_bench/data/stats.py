"""Label statistics of one split: what `fbn-bench datasets stats` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..specs import DatasetSpec
from ..tasks import EXPRESSION_VOCABULARY, EXPRESSIONS
from .roots import resolve_image


def table_stats(df: pd.DataFrame, spec: DatasetSpec, split: str, root: Path, units: bool = False) -> dict[str, Any]:
    """Counts as plain JSON-ready values. `missing_images`: rows whose image file does not exist. `units`: also
    the split's subject and video ids and how many carry each task's labels (unit_stats)."""
    missing = int(sum(not resolve_image(root, img).is_file() for img in df["image"]))
    has_subject = "subject" in df.columns and df["subject"].notna().any()
    expr_counts = df["expression"].value_counts()
    stats: dict[str, Any] = {
        "dataset": spec.name,
        "split": split,
        "n_samples": int(len(df)),
        "n_subjects": int(df["subject"].nunique()) if has_subject else None,
        "missing_images": missing,
    }
    if "va" in spec.tasks:
        stats["va"] = {"n": int((df["valence"].notna() & df["arousal"].notna()).sum())}
    if "expr" in spec.tasks:
        # The 7, then any extra class the table holds (a `classes=8` protocol).
        present = [name for name in EXPRESSION_VOCABULARY if name in EXPRESSIONS or expr_counts.get(name, 0)]
        counts = {name: int(expr_counts.get(name, 0)) for name in present}
        stats["expr"] = {"n": int(sum(counts.values())), "counts": counts}
    if "au" in spec.tasks:
        stats["au"] = {
            f"AU{a}": {"n": int(df[f"AU{a}"].notna().sum()), "positive": int(np.nansum(df[f"AU{a}"].to_numpy()))}
            for a in spec.aus
        }
    if units:
        stats.update(unit_stats(df, spec))
    if "compound" in df.columns:  # RAF-DB compound: an extra label column, counted as it is
        counts = df["compound"].dropna().astype(str).value_counts().sort_index()
        stats["compound"] = {"n": int(counts.sum()), "counts": {k: int(v) for k, v in counts.items()}}
    return stats


UNIT_COLUMNS = ("subject", "video")


def task_rows(df: pd.DataFrame, spec: DatasetSpec) -> dict[str, pd.Series]:
    """Per task of the database, which rows carry its labels (VA both values, AU at least one)."""
    rows = {}
    if "va" in spec.tasks:
        rows["va"] = df["valence"].notna() & df["arousal"].notna()
    if "expr" in spec.tasks:
        rows["expr"] = df["expression"].notna()
    if "au" in spec.tasks:
        rows["au"] = df[[f"AU{a}" for a in spec.aus]].notna().any(axis=1)
    return rows


def unit_stats(df: pd.DataFrame, spec: DatasetSpec) -> dict[str, Any]:
    """The split's subject and video ids (so anyone can check that splits are disjoint) and, per task, how many
    of them carry that task's labels (the clusters a bootstrap resamples)."""
    present = [c for c in UNIT_COLUMNS if c in df.columns and df[c].notna().any()]
    labelled = task_rows(df, spec)
    return {
        "units": {c: sorted(df[c].dropna().astype(str).unique().tolist()) for c in present},
        "units_labelled": {
            task: {c: int(df.loc[rows.to_numpy(), c].dropna().nunique()) for c in present}
            for task, rows in labelled.items()
        },
    }
