"""Intervals: a t-interval over seeds, a cluster bootstrap over test samples, and a paired bootstrap test.

The bootstrap resamples clusters (subjects or videos, or single rows where a database has neither)
with replacement. `resample_weights` draws the resamples exactly as `scipy.stats.bootstrap` draws its
indices (`rng.integers(0, n, (n_resamples, n))`), so with the same generator the two agree
bit-for-bit; tests rely on that.
"""

from __future__ import annotations

import contextlib
import zlib

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
CONFIDENCE = 0.95
FEW_CLUSTERS = 10  # below this many clusters the tables warn that intervals and p-values are rough


def database_rng(seed: int, database: str) -> np.random.Generator:
    """A generator fixed by the build seed and the database name, so every table is reproducible and
    every configuration of one database is scored on the same resamples."""
    return np.random.default_rng([seed, zlib.crc32(database.encode())])


def resample_weights(n_clusters: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_resamples, n_clusters): how many times each resample takes each cluster."""
    index = rng.integers(0, n_clusters, (n_resamples, n_clusters))
    offsets = (np.arange(n_resamples) * n_clusters)[:, None]
    counts = np.bincount((index + offsets).ravel(), minlength=n_resamples * n_clusters)
    return counts.reshape(n_resamples, n_clusters).astype(np.float64)


def percentile_interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The percentile interval of a bootstrap distribution (NaN resamples left out), or None."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return None
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(samples, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def seed_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Student-t interval of the mean over seeds; None with fewer than two seeds."""
    from scipy.special import stdtrit  # the t quantile, without importing all of scipy.stats

    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return None
    mean = values.mean()
    half = stdtrit(values.size - 1, 0.5 + confidence / 2.0) * values.std(ddof=1) / np.sqrt(values.size)
    return float(mean - half), float(mean + half)


def single_threaded_blas():
    """A context that keeps BLAS on one thread: the resample products are small, and a busy machine
    makes threaded BLAS tens of times slower on them (and one thread fixes the summation order)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it only speed differs
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def paired_p_value(differences: np.ndarray) -> float:
    """Two-sided bootstrap p-value of 'no difference' from the resampled differences.

    p = 2 * min(P(d <= 0), P(d >= 0)), each proportion counted as (1 + hits) / (1 + B) so that B
    resamples can never claim p below 2 / (B + 1); capped at 1. Identical systems give p = 1.
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return float("nan")
    below = (1 + np.count_nonzero(d <= 0)) / (1 + d.size)
    above = (1 + np.count_nonzero(d >= 0)) / (1 + d.size)
    return float(min(1.0, 2.0 * min(below, above)))
