"""Scoring per-sample predictions with each database's own metrics.

Shared by `evaluate` (one score per database x metric) and the leaderboards (the same scores on
bootstrap resamples), so both always compute exactly the same thing.

A predictions frame holds the canonical target columns (`valence`, `arousal`, `expression`, `AU<n>`)
and the model's outputs: `pred_valence`, `pred_arousal`, `pred_expression` (a canonical name) and
`prob_AU<n>` (sigmoid probabilities).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import metrics
from .tasks import EXPRESSIONS

AU_THRESHOLD = 0.5

# The metric each task is ranked by, in leaderboards and summaries.
HEADLINE = {"va": "ccc_mean", "expr": "macro_f1", "au": "f1_mean"}

# Registered metrics the scoring below already computes, under its own names (ccc -> ccc_valence,
# ccc_arousal, ccc_mean; f1 -> f1_AU<n>, f1_mean). Every other registered metric is a plugin's, scored by
# `plugin_scores` on each database that labels its task.
CORE_METRICS = frozenset({"ccc", "accuracy", "f1", "macro_f1", "mean_class_accuracy"})


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


def score_predictions(
    df: pd.DataFrame, tasks: Iterable[str], aus: Iterable[int]
) -> dict[tuple[str, str], tuple[float, int]]:
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


def plugin_metrics(registry) -> list[Any]:
    """The registered MetricSpecs to score besides the core ones: third-party metrics with a task."""
    return [spec for spec in registry.specs("metrics") if spec.name not in CORE_METRICS and spec.task]


def plugin_inputs(df: pd.DataFrame, task: str, aus: Sequence[int]) -> tuple[np.ndarray, np.ndarray] | None:
    """(y_true, y_pred) a metric plugin of `task` receives, over the rows labelled for it; None if none are.

    va: float (N, 2) [valence, arousal] both; expr: int (N,) indices into EXPRESSIONS both; au: (N, K) over
    the database's K AUs, y_true 0/1 with NaN where an AU is not labelled, y_pred 0/1 (probability >= 0.5).
    """
    if task == "va" and "pred_valence" in df:
        rows = df[df["valence"].notna() & df["arousal"].notna()]
        pair = rows[["valence", "arousal"]].to_numpy(float), rows[["pred_valence", "pred_arousal"]].to_numpy(float)
    elif task == "expr" and "pred_expression" in df:
        codes = {e: i for i, e in enumerate(EXPRESSIONS)}
        rows = df[df["expression"].notna()]
        pair = rows["expression"].map(codes).to_numpy(int), rows["pred_expression"].map(codes).to_numpy(int)
    elif task == "au" and aus and all(f"prob_AU{a}" in df for a in aus):
        true = df[[f"AU{a}" for a in aus]].to_numpy(float)
        labelled = ~np.isnan(true).all(axis=1)
        pred = (df[[f"prob_AU{a}" for a in aus]].to_numpy(float) >= AU_THRESHOLD).astype(float)
        pair = true[labelled], pred[labelled]
    else:
        return None
    return pair if len(pair[0]) else None


def plugin_scores(
    df: pd.DataFrame, tasks: Iterable[str], aus: Iterable[int], specs: Sequence[Any]
) -> dict[tuple[str, str], tuple[float, int]]:
    """{(task, metric): (value, n_scored)} for metric plugins; one that raises or returns no number is
    left out with a warning, so a broken metric never costs a finished run its results."""
    tasks, aus = set(tasks), list(aus)
    scores: dict[tuple[str, str], tuple[float, int]] = {}
    for spec in specs:
        inputs = plugin_inputs(df, spec.task, aus) if spec.task in tasks else None
        if inputs is None:
            continue
        try:
            value = float(spec.fn(*inputs))
        except Exception as exc:  # a third party's bug: report it, keep every other score
            warnings.warn(f"metric {spec.name!r} failed and was left out: {type(exc).__name__}: {exc}", stacklevel=2)
            continue
        if not np.isfinite(value):  # a record must hold a number; leaderboards refuse nan
            warnings.warn(f"metric {spec.name!r} returned {value} and was left out", stacklevel=2)
            continue
        scores[(spec.task, spec.name)] = (value, len(inputs[0]))
    return scores
