"""Metrics as plain functions: array-likes (lists, numpy arrays, torch tensors) in, float out.

Each one computes the sufficient statistics of its samples (`fbn_bench.metrics.stats`) and applies
the one formula (`fbn_bench.metrics.formulas`), so it scores exactly as scoring and the leaderboards'
bootstrap do. Bad input is an FbnError, never a silent NaN; a metric that is undefined on valid
input (Pearson of a constant, AP without positives) is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import FbnError
from . import formulas, stats


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


def _binary(arr: np.ndarray, name: str) -> np.ndarray:
    values = np.unique(arr[~np.isnan(arr)])
    if not np.isin(values, (0.0, 1.0)).all():
        raise FbnError(f"{name} must hold only 0 and 1, found {values[~np.isin(values, (0.0, 1.0))][:5].tolist()}")
    return arr


def _moments(y_true, y_pred) -> np.ndarray:
    t, p = _pair(y_true, y_pred)
    return stats.moments(t.ravel(), p.ravel()).sum(axis=0)


def ccc(y_true, y_pred) -> float:
    """Concordance correlation coefficient, population statistics (divide by N)."""
    return float(formulas.ccc_from_sums(*_moments(y_true, y_pred)))


def pearson(y_true, y_pred) -> float:
    """Pearson's correlation coefficient; NaN when either side is constant."""
    return float(formulas.pearson_from_sums(*_moments(y_true, y_pred)))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error."""
    return float(formulas.rmse_from_sums(*_moments(y_true, y_pred)))


def sagr(y_true, y_pred) -> float:
    """Sign agreement: share of samples with sign(prediction) == sign(target)."""
    t, p = _pair(y_true, y_pred)
    return float(formulas.sagr_from_sums(*stats.sign_agreement(t.ravel(), p.ravel()).sum(axis=0)))


def accuracy(y_true, y_pred) -> float:
    t, p = _pair(y_true, y_pred)
    return float((t == p).mean())


def _class_counts(y_true, y_pred, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t, p = _pair(y_true, y_pred)
    t, p = t.ravel(), p.ravel()
    classes = np.unique(np.concatenate([t, p])) if labels is None else np.asarray(labels, dtype=np.float64)
    if classes.size == 0:
        raise FbnError("needs at least one class")
    true, pred, hit = stats.class_counts(t, p, classes).sum(axis=0).reshape(3, -1)
    return classes, true, pred, hit


def macro_f1(y_true, y_pred, labels: Sequence[int] | None = None) -> float:
    """Unweighted mean over classes of one-vs-rest F1 (0 for a class neither labelled nor predicted).
    `labels`: the class set (scoring passes the database's declared classes); default: those present."""
    _, true, pred, hit = _class_counts(y_true, y_pred, labels)
    return float(formulas.f1_from_counts(hit, true, pred).mean())


def mean_class_accuracy(y_true, y_pred) -> float:
    """Unweighted mean over the classes present in `y_true` of per-class recall: what RAF-DB papers
    report as "average accuracy" (sklearn's balanced accuracy)."""
    _, true, _, hit = _class_counts(y_true, y_pred, None)
    present = true > 0
    return float((hit[present] / true[present]).mean())


def per_class_f1(y_true, y_pred, labels: Sequence[int] | None = None) -> list[float]:
    """One-vs-rest F1 of each class of `labels` (default: those present), sklearn's `f1_score(average=None)`;
    NaN for a class without a labelled sample (sklearn's 0 there is a convention, not a measurement)."""
    _, true, pred, hit = _class_counts(y_true, y_pred, labels)
    return formulas.f1_where_labelled(hit, true, pred).tolist()


def per_class_recall(y_true, y_pred, labels: Sequence[int] | None = None) -> list[float]:
    """Recall (the per-class accuracy) of each class of `labels` (default: those present), sklearn's
    `recall_score(average=None)`; NaN for a class without a labelled sample."""
    _, true, _, hit = _class_counts(y_true, y_pred, labels)
    return formulas.ratio(hit, true).tolist()


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(C, C) int counts of class indices 0..C-1: rows the true class, columns the predicted one (sklearn's
    layout). A prediction outside 0..C-1 (a class the database does not declare) is a miss and is left out."""
    t, p = _pair(y_true, y_pred)
    t, p = t.ravel().astype(np.int64), p.ravel().astype(np.int64)
    if ((t < 0) | (t >= n_classes)).any():
        raise FbnError(f"y_true holds a class index outside 0..{n_classes - 1}: {t[(t < 0) | (t >= n_classes)][0]}")
    keep = (p >= 0) & (p < n_classes)
    return np.bincount(t[keep] * n_classes + p[keep], minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def f1(y_true, y_pred) -> float:
    """Binary F1 of the positive class; 0 when there are no positive labels and no positive predictions."""
    t, p = _pair(y_true, y_pred)
    t, p = _binary(t.ravel(), "y_true").astype(bool), _binary(p.ravel(), "y_pred").astype(bool)
    return float(formulas.f1_from_counts(np.sum(t & p), t.sum(), p.sum()))


def _ranked(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    t, s = _pair(y_true, y_score)
    t, s = _binary(t.ravel(), "y_true"), s.ravel()
    bins = np.unique(s)
    return stats.score_histogram(t, s, bins).sum(axis=0).reshape(2, -1)


def average_precision(y_true, y_score) -> float:
    """Average precision of binary labels ranked by a score (sklearn's definition); NaN without positives."""
    return float(formulas.ap_from_histogram(*_ranked(y_true, y_score)))


def roc_auc(y_true, y_score) -> float:
    """Area under the ROC curve; NaN without positives or without negatives."""
    return float(formulas.auc_from_histogram(*_ranked(y_true, y_score)))


def au_f1(y_true, y_pred, mask=None) -> tuple[list[float], float]:
    """Per-AU F1 over annotated entries, and their unweighted mean over the AUs where F1 is defined.

    `y_true`, `y_pred`: (N, K) binary. An entry is unannotated where `mask` is False or `y_true` is NaN.
    An AU with no annotated entry or no positive label is undefined (NaN) and left out of the mean.
    """
    t, p = _pair(y_true, y_pred, allow_nan_true=True)
    if t.ndim != 2:
        raise FbnError(f"au_f1 expects (samples, AUs) arrays, got shape {t.shape}")
    _binary(t, "y_true"), _binary(p, "y_pred")
    annotated = ~np.isnan(t)
    if mask is not None:
        m = np.asarray(mask.detach().cpu().numpy() if hasattr(mask, "detach") else mask, dtype=bool)
        if m.shape != t.shape:
            raise FbnError(f"mask has shape {m.shape}, expected {t.shape}")
        annotated &= m
    if not annotated.any():
        raise FbnError("au_f1: no AU has any annotated sample")
    counts = stats.au_counts(np.where(annotated, t, np.nan), p).sum(axis=0).reshape(-1, 4)
    per_au = formulas.f1_where_defined(counts)
    defined = per_au[~np.isnan(per_au)]
    return per_au.tolist(), float(defined.mean()) if defined.size else float("nan")


def abaw_au(y_true, y_pred) -> float:
    """ABAW's AU measure (P_AU): the mean binary F1 over the AUs, (N, K) arrays as `au_f1` takes (ABAW: its 12)."""
    return au_f1(y_true, y_pred)[1]


def abaw_mtl(va_true, va_pred, expr_true, expr_pred, au_true, au_pred, labels: Sequence[int] = range(7)) -> float:
    """ABAW's multi-task sum: (CCC_V + CCC_A) / 2 over (N, 2) [valence, arousal] arrays, plus macro-F1 over
    `labels` (ABAW's P_MTL: range(8), the 7 basic classes + Other; `abaw_mtl7`: the 7), plus `abaw_au`. Each term on its own samples."""
    va_t, va_p = _pair(va_true, va_pred)
    va = (ccc(va_t[:, 0], va_p[:, 0]) + ccc(va_t[:, 1], va_p[:, 1])) / 2
    return va + macro_f1(expr_true, expr_pred, labels) + abaw_au(au_true, au_pred)


def _intensity(formula, row_stats, y_true, y_pred) -> float:
    """One AU's score over 1-D arrays, or the mean over the AUs where it is defined of (N, K) arrays whose
    NaN targets are unlabelled (what scoring gives an `au_int` metric plugin)."""
    t, p = _pair(y_true, y_pred, allow_nan_true=True)
    if t.ndim == 1:
        t, p = t[:, None], p[:, None]
    if t.ndim != 2:
        raise FbnError(f"expects (samples,) or (samples, AUs) arrays, got shape {t.shape}")
    per_au = np.array([formula(*row_stats(t[:, k], p[:, k]).sum(axis=0)) for k in range(t.shape[1])])
    return float(formulas.mean_where_defined(per_au))


def icc(y_true, y_pred) -> float:
    """ICC(3,1) of truth and prediction as two raters (Shrout & Fleiss 1979): 2 cov / (var_t + var_p)."""
    return _intensity(formulas.icc31_from_sums, stats.moments, y_true, y_pred)


def intensity_pearson(y_true, y_pred) -> float:
    """Pearson's r of intensities (per AU; for (N, K) arrays their mean over the AUs where it is defined)."""
    return _intensity(formulas.pearson_from_sums, stats.moments, y_true, y_pred)


def mae(y_true, y_pred) -> float:
    """Mean absolute error (per AU; for (N, K) arrays their mean over the labelled AUs)."""
    return _intensity(formulas.mae_from_sums, stats.abs_error, y_true, y_pred)
