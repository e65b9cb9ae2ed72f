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
    resamples can never claim p below 2 / (B + 1); capped at 1. Identical systems give p = 1. A
    difference within rounding of zero (|d| <= 1e-12) is a tie and counts on both sides: scores are
    ratios of sums, and whether an exact tie comes out as +1e-17 or -1e-17 must not decide p.
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[~np.isnan(d)]
    d = np.where(np.abs(d) <= 1e-12, 0.0, d)
    if d.size == 0:
        return float("nan")
    below = (1 + np.count_nonzero(d <= 0)) / (1 + d.size)
    above = (1 + np.count_nonzero(d >= 0)) / (1 + d.size)
    return float(min(1.0, 2.0 * min(below, above)))


# ---- training noise: seeds --------------------------------------------------------------------------

ALPHA = 0.05  # two-sided level of the smallest resolvable difference
POWER = 0.80  # its power


def seed_rng(seed: int, database: str, config_hash: str) -> np.random.Generator:
    """The generator of one row's seed draws: fixed by the build seed, the database and the row, so a row
    is resampled the same way whichever row it is compared with."""
    return np.random.default_rng([seed, zlib.crc32(database.encode()), zlib.crc32(config_hash.encode())])


def seed_weights(n_seeds: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_resamples, n_seeds): each resample's share of each seed when seeds are drawn with replacement
    (counts / n_seeds, so a row of it averages the drawn seeds)."""
    return resample_weights(n_seeds, n_resamples, rng) / n_seeds


def hierarchical_distribution(per_seed: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """(B,): resample b's mean over its drawn seeds, each seed scored on resample b's clusters.

    `per_seed` (n_seeds, B): every seed on every cluster resample; `shares` (B, n_seeds) from
    `seed_weights`. The clusters are drawn once per resample for every seed and both arms of a comparison,
    because all of them were scored on the one test set whose sampling noise the clusters stand for; the
    seeds are drawn per row, because each row's seeds are its own independent training runs."""
    return np.einsum("sb,bs->b", per_seed, shares)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted in the family): the i-th
    smallest of m is max over k <= i of min(1, (m - k + 1) p_(k))."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    order = present[np.argsort(p[present], kind="stable")]
    m = order.size
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def pooled_seed_sd(groups) -> tuple[float, int, int] | None:
    """(s, rows, fewest seeds): the seed s.d. pooled over the groups (rows) with at least two seeds,
    sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)), or None when no row has two seeds."""
    groups = [np.asarray(g, dtype=np.float64) for g in groups if len(g) >= 2]
    if not groups:
        return None
    dof = sum(g.size - 1 for g in groups)
    variance = sum((g.size - 1) * g.var(ddof=1) for g in groups) / dof
    return float(np.sqrt(variance)), len(groups), min(g.size for g in groups)


def resolvable_difference(
    sd: float, n_seeds: int, other_sd: float | None = None, alpha: float = ALPHA, power: float = POWER
) -> float:
    """The smallest true difference between two rows of `n_seeds` seeds each that a two-sided test at
    `alpha` detects with probability `power`, from training noise alone (normal approximation):
    (z_{1 - alpha/2} + z_power) * sqrt((sd^2 + other_sd^2) / n_seeds), `other_sd` the other row's seed s.d.
    (default: the same, giving 2.80 * sd * sqrt(2 / n_seeds) at 0.05 and 80%)."""
    from scipy.special import ndtri

    other = sd if other_sd is None else other_sd
    return float((ndtri(1 - alpha / 2) + ndtri(power)) * np.sqrt((sd**2 + other**2) / n_seeds))
