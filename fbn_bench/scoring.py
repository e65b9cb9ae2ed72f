"""Scoring per-sample predictions with each database's own metrics.

Shared by `evaluate` (one score per database x metric) and the leaderboards (the same scores on
bootstrap resamples), so both always compute exactly the same thing.

A predictions frame holds the canonical target columns (`valence`, `arousal`, `expression`, `AU<n>`)
and the model's outputs: `pred_valence`, `pred_arousal`, `pred_expression` (a canonical name) and
`prob_AU<n>` (sigmoid probabilities).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from . import metrics
from .tasks import EXPRESSIONS

AU_THRESHOLD = 0.5

# The metric each task is ranked by, in leaderboards and summaries.
HEADLINE = {"va": "ccc_mean", "expr": "macro_f1", "au": "f1_mean"}


def metric_names(tasks: Iterable[str], aus: Iterable[int]) -> list[tuple[str, str]]:
    """(task, metric) pairs scored for a database, in display order."""
    names: list[tuple[str, str]] = []
    tasks = set(tasks)
    if "va" in tasks:
        names += [("va", "ccc_mean"), ("va", "ccc_valence"), ("va", "ccc_arousal")]
    if "expr" in tasks:
        names += [("expr", "macro_f1"), ("expr", "accuracy"), ("expr", "mean_class_accuracy")]
    if "au" in tasks:
        names += [("au", "f1_mean")] + [("au", f"f1_AU{a}") for a in aus]
    return names


def score_predictions(df: pd.DataFrame, tasks: Iterable[str], aus: Iterable[int]) -> dict[tuple[str, str], tuple[float, int]]:
    """{(task, metric): (value, n_scored)} over the rows that carry each task's labels.

    A task with no labelled rows is left out rather than scored on nothing.
    """
    tasks, aus = set(tasks), list(aus)
    scores: dict[tuple[str, str], tuple[float, int]] = {}
    if "va" in tasks and "pred_valence" in df:
        rows = df[df["valence"].notna() & df["arousal"].notna()]
        if len(rows):
            v = metrics.ccc(rows["valence"], rows["pred_valence"])
            a = metrics.ccc(rows["arousal"], rows["pred_arousal"])
            n = len(rows)
            scores[("va", "ccc_valence")] = (v, n)
            scores[("va", "ccc_arousal")] = (a, n)
            scores[("va", "ccc_mean")] = ((v + a) / 2, n)
    if "expr" in tasks and "pred_expression" in df:
        rows = df[df["expression"].notna()]
        if len(rows):
            codes = {e: i for i, e in enumerate(EXPRESSIONS)}
            t = rows["expression"].map(codes).to_numpy()
            p = rows["pred_expression"].map(codes).to_numpy()
            present = np.unique(t)  # macro F1 over the classes the split contains
            scores[("expr", "accuracy")] = (metrics.accuracy(t, p), len(rows))
            scores[("expr", "macro_f1")] = (metrics.macro_f1(t, p, labels=present), len(rows))
            scores[("expr", "mean_class_accuracy")] = (metrics.mean_class_accuracy(t, p), len(rows))
    if "au" in tasks and aus and f"prob_AU{aus[0]}" in df:
        true = df[[f"AU{a}" for a in aus]].to_numpy(np.float64)
        pred = (df[[f"prob_AU{a}" for a in aus]].to_numpy(np.float64) >= AU_THRESHOLD).astype(np.float64)
        labelled = ~np.isnan(true)
        if labelled.any():
            per_au, mean = metrics.au_f1(true, pred)
            for a, value, k in zip(aus, per_au, range(len(aus))):
                if not np.isnan(value):
                    scores[("au", f"f1_AU{a}")] = (value, int(labelled[:, k].sum()))
            scores[("au", "f1_mean")] = (mean, int(labelled.any(axis=1).sum()))
    return scores
