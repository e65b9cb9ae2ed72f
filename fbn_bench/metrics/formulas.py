"""Every metric's formula, as a function of sufficient statistics: sums over samples that add across
batches, clusters or bootstrap resamples. Plain arithmetic, so the same formula serves numpy arrays (any
leading shape: one split, or a stack of resamples) and torch tensors (the VA training loss).

The one place each formula is written; docs/metrics.md states them.
"""

from __future__ import annotations

import numpy as np


def ratio(num, den):
    """num / den, NaN where den is 0 (numpy)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


# --- valence-arousal: moments (n, sum t, sum p, sum t^2, sum p^2, sum tp) ------------------------------------


def concordance(mean_t, mean_p, var_t, var_p, cov, eps=0.0):
    """Lin's concordance correlation: 2 cov / (var_t + var_p + (mean_t - mean_p)^2), population moments."""
    return 2.0 * cov / (var_t + var_p + (mean_t - mean_p) ** 2 + eps)


def central_moments(n, t, p, tt, pp, tp):
    """(mean_t, mean_p, var_t, var_p, cov) from raw sums, population statistics (divide by n)."""
    mean_t, mean_p = ratio(t, n), ratio(p, n)
    return mean_t, mean_p, ratio(tt, n) - mean_t**2, ratio(pp, n) - mean_p**2, ratio(tp, n) - mean_t * mean_p


_FLAT = 1e-12  # below this a variance is rounding noise of the raw sums, not spread


def ccc_from_sums(n, t, p, tt, pp, tp):
    """CCC; 0 when both sides are constant and equal (no variance to agree on); NaN with no samples."""
    mean_t, mean_p, var_t, var_p, cov = central_moments(n, t, p, tt, pp, tp)
    denom = var_t + var_p + (mean_t - mean_p) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(np.abs(denom) < _FLAT, 0.0, concordance(mean_t, mean_p, var_t, var_p, cov))
    return np.where(n > 0, value, np.nan)


def pearson_from_sums(n, t, p, tt, pp, tp):
    """Pearson's r = cov / (sd_t sd_p); NaN when either side is constant (scipy's convention)."""
    _, _, var_t, var_p, cov = central_moments(n, t, p, tt, pp, tp)
    flat = (var_t < _FLAT) | (var_p < _FLAT)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = cov / np.sqrt(np.where(flat, 1.0, var_t * var_p))
    return np.where(flat | ~(n > 0), np.nan, np.clip(value, -1.0, 1.0))


def rmse_from_sums(n, t, p, tt, pp, tp):
    """Root mean squared error: sqrt(sum (p - t)^2 / n) = sqrt((pp - 2 tp + tt) / n)."""
    return np.sqrt(np.maximum(ratio(pp - 2.0 * tp + tt, n), 0.0))


def icc31_from_sums(n, t, p, tt, pp, tp):
    """ICC(3,1) of two raters (truth, prediction), Shrout & Fleiss (1979): (BMS - EMS) / (BMS + EMS), which
    for k = 2 is 2 cov / (var_t + var_p) (the n - 1 of the mean squares cancels). Consistency, not absolute
    agreement: unlike CCC, a constant offset costs nothing. 0 when both sides are constant (no variance to
    agree on, as CCC); NaN with no samples."""
    _, _, var_t, var_p, cov = central_moments(n, t, p, tt, pp, tp)
    denom = var_t + var_p
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(np.abs(denom) < _FLAT, 0.0, 2.0 * cov / np.where(np.abs(denom) < _FLAT, 1.0, denom))
    return np.where(n > 0, value, np.nan)


def mae_from_sums(n, abs_error):
    """Mean absolute error: sum |p - t| / n."""
    return ratio(abs_error, n)


def sagr_from_sums(n, same_sign):
    """Sign agreement: the share of samples whose prediction has the sign of the target."""
    return ratio(same_sign, n)


# --- counts: true positives, labelled positives, predicted positives ----------------------------------------


def f1_from_counts(tp, true, pred):
    """2 tp / (true + pred); 0 with neither positive labels nor positive predictions (sklearn's zero_division=0)."""
    den = np.asarray(true, dtype=np.float64) + pred
    return np.where(den > 0, ratio(2.0 * np.asarray(tp, dtype=np.float64), den), 0.0)


def f1_where_labelled(tp, true, pred):
    """One class's (or AU's) F1, NaN where it has no labelled sample: undefined, not sklearn's 0."""
    return np.where(np.asarray(true, dtype=np.float64) > 0, f1_from_counts(tp, true, pred), np.nan)


# --- ranks: positives and negatives per distinct score, scores ascending along the last axis ----------------


def auc_from_histogram(pos, neg):
    """ROC-AUC = P(score of a positive > score of a negative), ties counted half (Mann-Whitney U / (P N)),
    which is the area under sklearn's ROC curve. NaN without positives or without negatives."""
    pos, neg = np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)
    below = np.cumsum(neg, axis=-1) - neg
    wins = (pos * (below + 0.5 * neg)).sum(axis=-1)
    return ratio(wins, pos.sum(axis=-1) * neg.sum(axis=-1))


def ap_from_histogram(pos, neg):
    """Average precision = sum over distinct thresholds, high to low, of (R_k - R_k-1) P_k (sklearn's
    `average_precision_score`: a step function, no interpolation). NaN without positives."""
    pos, neg = np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)
    tp = np.cumsum(pos[..., ::-1], axis=-1)  # scores at or above each threshold, from the highest down
    fp = np.cumsum(neg[..., ::-1], axis=-1)
    precision = ratio(tp, tp + fp)
    gain = pos[..., ::-1]  # recall rises only where positives sit
    total = pos.sum(axis=-1)
    return ratio(np.where(gain > 0, gain * precision, 0.0).sum(axis=-1), total)


def f1_where_defined(counts):
    """Per-AU F1 from (..., K, 4) counts [labelled, positive labels, positive predictions, true positives];
    NaN where an AU has no positive label (undefined, not 0: see docs/metrics.md)."""
    counts = np.asarray(counts, dtype=np.float64)
    return f1_where_labelled(counts[..., 3], counts[..., 1], counts[..., 2])


def mean_where_defined(values):
    """Mean over the last axis of the values that are not NaN; NaN where none is."""
    values = np.asarray(values, dtype=np.float64)
    defined = ~np.isnan(values)
    return ratio(np.where(defined, values, 0.0).sum(axis=-1), defined.sum(axis=-1))
