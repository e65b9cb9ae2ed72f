"""Per-sample sufficient statistics: each sample's contribution, one row per sample. Summing rows gives
a split's (or a cluster's, or a bootstrap resample's) statistics; `fbn_bench.metrics.formulas` turns
any such sums into scores. Unlabelled samples (NaN targets) contribute zeros."""

from __future__ import annotations

import numpy as np


def moments(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(N, 6): [labelled, t, p, t^2, p^2, t p] for CCC, Pearson and RMSE."""
    ok = ~np.isnan(t)
    t, p = np.where(ok, t, 0.0), np.where(ok, p, 0.0)
    return np.stack([ok.astype(np.float64), t, p, t * t, p * p, t * p], axis=1)


def sign_agreement(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(N, 2): [labelled, sign(p) == sign(t)] for SAGR."""
    ok = ~np.isnan(t)
    return np.stack([ok, ok & (np.sign(p) == np.sign(np.where(ok, t, 0.0)))], axis=1).astype(np.float64)


def abs_error(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(N, 2): [labelled, |p - t|] for MAE."""
    ok = ~np.isnan(t)
    return np.stack([ok, np.where(ok, np.abs(p - np.where(ok, t, 0.0)), 0.0)], axis=1).astype(np.float64)


def class_counts(t: np.ndarray, p: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(N, 3K): one-hot of the label, of the prediction, and of a hit, over `classes` (K of them).
    NaN labels contribute nothing; a prediction outside `classes` only misses."""
    ok = ~np.isnan(t)
    t_hot = ok[:, None] & (t[:, None] == classes)
    p_hot = ok[:, None] & (p[:, None] == classes)
    return np.concatenate([t_hot, p_hot, t_hot & p_hot], axis=1).astype(np.float64)


def au_counts(t: np.ndarray, decision: np.ndarray) -> np.ndarray:
    """(N, 4K) for K AUs, per AU [labelled, positive label, positive decision, both], NaN = unlabelled."""
    ok = ~np.isnan(t)
    truth = ok & (t == 1)
    pred = ok & (decision == 1)
    return np.stack([ok, truth, pred, truth & pred], axis=2).reshape(len(t), -1).astype(np.float64)


def score_histogram(t: np.ndarray, s: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """(N, 2B): one-hot of the sample's score among the ascending distinct scores `bins`, in a positives
    block then a negatives block (for AP and ROC-AUC). Every labelled score must be one of `bins`."""
    ok = ~np.isnan(t)
    index = np.searchsorted(bins, s)
    out = np.zeros((len(t), 2 * len(bins)))
    rows = np.flatnonzero(ok)
    out[rows, index[rows] + np.where(t[rows] == 1, 0, len(bins))] = 1.0
    return out


def group_sums(features: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups, width): the rows of `features` summed within each group (`codes`: each row's group)."""
    out = np.zeros((n_groups, features.shape[1]))
    np.add.at(out, codes, features)
    return out
