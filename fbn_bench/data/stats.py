"""Label statistics of one split: what `fbn-bench datasets stats` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..specs import DatasetSpec
from ..tasks import EXPRESSIONS
from .roots import resolve_image


def table_stats(df: pd.DataFrame, spec: DatasetSpec, split: str, root: Path) -> dict[str, Any]:
    """Counts as plain JSON-ready values. `missing_images`: rows whose image file does not exist."""
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
        counts = {name: int(expr_counts.get(name, 0)) for name in EXPRESSIONS}
        stats["expr"] = {"n": int(sum(counts.values())), "counts": counts}
    if "au" in spec.tasks:
        stats["au"] = {
            f"AU{a}": {"n": int(df[f"AU{a}"].notna().sum()), "positive": int(np.nansum(df[f"AU{a}"].to_numpy()))}
            for a in spec.aus
        }
    if "compound" in df.columns:  # RAF-DB compound: an extra label column, counted as it is
        counts = df["compound"].dropna().astype(str).value_counts().sort_index()
        stats["compound"] = {"n": int(counts.sum()), "counts": {k: int(v) for k, v in counts.items()}}
    return stats
