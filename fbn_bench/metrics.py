"""Metrics as plain functions: array-likes (lists, numpy arrays, torch tensors) in, float out.

Definitions follow docs/metrics.md: CCC with population statistics; F1 is 0 when there are neither
positive labels nor positive predictions (sklearn's zero_division=0). Bad input is an FbnError, never
a silent NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import FbnError


def _array(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == object:
        raise FbnError(f"{name} must be numeric, got objects such as {arr.flat[0]!r}")
    return arr.astype(np.float64)


def _pair(y_true, y_pred, *, allow_nan_true: bool = False) -> tuple[np.ndarray, np.ndarray]:
    t, p = _array(y_true, "y_true"), _array(y_pred, "y_pred")
    if t.shape != p.shape:
        raise FbnError(f"y_true and y_pred differ in shape: {t.shape} vs {p.shape}")
    if t.size == 0:
        raise FbnError("cannot score an empty set of samples")
    if np.isnan(p).any():
        raise FbnError(
            f"y_pred holds {int(np.isnan(p).sum())} NaN value(s); the model diverged or a prediction is missing"
        )
    if not allow_nan_true and np.isnan(t).any():
        raise FbnError(f"y_true holds {int(np.isnan(t).sum())} NaN value(s); drop unlabelled samples before scoring")
    return t, p


def ccc(y_true, y_pred) -> float:
    """Concordance correlation coefficient, population statistics (divide by N)."""
    t, p = _pair(y_true, y_pred)
    t, p = t.ravel(), p.ravel()
    mt, mp = t.mean(), p.mean()
    vt, vp = t.var(), p.var()
    cov = ((t - mt) * (p - mp)).mean()
    denom = vt + vp + (mt - mp) ** 2
    if denom == 0.0:  # both constant and equal: perfect agreement but no variance to correlate
        return 0.0
    return float(2.0 * cov / denom)


def accuracy(y_true, y_pred) -> float:
    t, p = _pair(y_true, y_pred)
    return float((t == p).mean())


def mean_class_accuracy(y_true, y_pred) -> float:
    """Unweighted mean over the classes present in `y_true` of the share of that class predicted right
    (per-class recall): what RAF-DB papers report as "average accuracy" (sklearn's balanced accuracy)."""
    t, p = _pair(y_true, y_pred)
    t, p = t.ravel(), p.ravel()
    classes = np.unique(t)
    if classes.size == 0:
        raise FbnError("mean_class_accuracy needs at least one labelled sample")
    return float(np.mean([(p[t == c] == c).mean() for c in classes]))


def _binary(arr: np.ndarray, name: str) -> np.ndarray:
    values = np.unique(arr)
    if not np.isin(values, (0.0, 1.0)).all():
        raise FbnError(
            f"{name} must hold only 0 and 1 for binary F1, found {values[~np.isin(values, (0.0, 1.0))][:5].tolist()}"
        )
    return arr.astype(bool)


def f1(y_true, y_pred) -> float:
    """Binary F1 of the positive class; 0 when there are no positive labels and no positive predictions."""
    t, p = _pair(y_true, y_pred)
    t, p = _binary(t.ravel(), "y_true"), _binary(p.ravel(), "y_pred")
    tp = np.sum(t & p)
    denom = t.sum() + p.sum()
    return float(2.0 * tp / denom) if denom else 0.0


def macro_f1(y_true, y_pred, labels: Sequence[int] | None = None) -> float:
    """Unweighted mean over classes of one-vs-rest F1. `labels` defaults to the classes present in either."""
    t, p = _pair(y_true, y_pred)
    t, p = t.ravel(), p.ravel()
    classes = np.unique(np.concatenate([t, p])) if labels is None else np.asarray(labels, dtype=np.float64)
    if classes.size == 0:
        raise FbnError("macro_f1 needs at least one class")
    return float(np.mean([f1(t == c, p == c) for c in classes]))


def au_f1(y_true, y_pred, mask=None) -> tuple[list[float], float]:
    """Per-AU F1 over annotated entries, and their unweighted mean over the AUs that have any labels.

    `y_true`, `y_pred`: (N, K) binary. An entry is unannotated where `mask` is False or `y_true` is NaN.
    AUs with no annotated entries get NaN in the per-AU list and are left out of the mean.
    """
    t, p = _pair(y_true, y_pred, allow_nan_true=True)
    if t.ndim != 2:
        raise FbnError(f"au_f1 expects (samples, AUs) arrays, got shape {t.shape}")
    annotated = ~np.isnan(t)
    if mask is not None:
        m = np.asarray(mask.detach().cpu().numpy() if hasattr(mask, "detach") else mask, dtype=bool)
        if m.shape != t.shape:
            raise FbnError(f"mask has shape {m.shape}, expected {t.shape}")
        annotated &= m
    per_au = [
        f1(t[annotated[:, k], k], p[annotated[:, k], k]) if annotated[:, k].any() else float("nan")
        for k in range(t.shape[1])
    ]
    scored = [v for v in per_au if not np.isnan(v)]
    if not scored:
        raise FbnError("au_f1: no AU has any annotated sample")
    return per_au, float(np.mean(scored))
