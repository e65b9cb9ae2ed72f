"""The paired comparison of two rows on one metric: the difference of their seed means over the samples both
scored, its test-noise-only p, and (two seeds or more a side) the hierarchical p and interval, seeds and test
clusters resampled (docs/leaderboards.md, "Paired comparison against a baseline")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import bootstrap
from .samples import Clusters, restrict, row_identity
from .sums import layout_for, observed_scores, resampled_scores


@dataclass
class Comparison:
    metric: str
    difference: float
    p_value: float  # the primary p: seeds and test clusters resampled, Holm-adjusted within the table
    n_matched: int
    p_test: float = float("nan")  # test clusters resampled only (training noise ignored), unadjusted
    p_hierarchical: float = float("nan")  # seeds and clusters resampled, before the Holm adjustment
    # The interval of the difference at the table's confidence: percentiles of the distribution that gives
    # p_hierarchical (seeds and clusters resampled); None where that p is NaN (a side with one seed).
    interval: tuple[float, float] | None = None


def seed_distributions(
    frames, clusters: Clusters, weights: np.ndarray, tasks, aus, specs=None
) -> dict[str, np.ndarray]:
    """{metric: (n_seeds, B)}: each seed scored on every cluster resample."""
    per_seed = []
    for frame in frames:
        layout = layout_for(frame, tasks, aus, specs)
        if layout.tasks:
            per_seed.append(resampled_scores(frame, layout, clusters.codes(frame), len(clusters), weights))
    if not per_seed:
        return {}
    common = set.intersection(*(set(s) for s in per_seed))
    return {m: np.stack([s[m] for s in per_seed]) for m in common}


def _observed(frames, tasks, aus, specs=None) -> dict[str, float]:
    """The seed-mean score of each metric on exactly these frames (no resampling)."""
    per_seed = []
    for frame in frames:
        layout = layout_for(frame, tasks, aus, specs)
        if layout.tasks:
            per_seed.append(observed_scores(frame, layout))
    common = set.intersection(*(set(s) for s in per_seed)) if per_seed else set()
    return {m: float(np.mean([s[m] for s in per_seed])) for m in common}


def compare(
    frames_a,
    frames_b,
    clusters: Clusters,
    weights,
    tasks,
    aus,
    metric: str,
    known: tuple[dict, dict] | None = None,
    shares: tuple[np.ndarray, np.ndarray] | None = None,
    specs=None,
    confidence: float = bootstrap.CONFIDENCE,
) -> Comparison | None:
    """Paired bootstrap of mean(a) - mean(b) on `metric`, over the samples both sides scored.

    `known`: the two sides' per-seed resampled scores on all their samples, reused when every run scored
    the same samples (the usual case) instead of being computed again. `shares`: each side's seed draws
    (bootstrap.seed_weights); with them, and two seeds or more on each side, the comparison also gets the
    hierarchical p (seeds and clusters resampled) and the `confidence` interval of the same resampled
    differences. Its `p_value` is that p until `build_table` adjusts it.
    """
    ids = [set(row_identity(f)) for f in [*frames_a, *frames_b]]
    if not ids:
        return None
    shared = set.intersection(*ids)
    if not shared:
        return None
    if all(len(i) == len(shared) for i in ids) and known is not None:
        a, b = known
    else:
        frames_a = [restrict(f, shared) for f in frames_a]
        frames_b = [restrict(f, shared) for f in frames_b]
        a = seed_distributions(frames_a, clusters, weights, tasks, aus, specs)
        b = seed_distributions(frames_b, clusters, weights, tasks, aus, specs)
    if metric not in a or metric not in b:
        return None
    difference = _observed(frames_a, tasks, aus, specs)[metric] - _observed(frames_b, tasks, aus, specs)[metric]
    p_test = bootstrap.paired_p_value(a[metric].mean(axis=0) - b[metric].mean(axis=0))
    p_hierarchical, interval = float("nan"), None
    seeds = (len(a[metric]), len(b[metric]))
    if shares is not None and min(seeds) >= 2 and seeds == (shares[0].shape[1], shares[1].shape[1]):
        # (one seed says nothing of training noise: no hierarchical p then)
        d = bootstrap.hierarchical_distribution(a[metric], shares[0]) - bootstrap.hierarchical_distribution(
            b[metric], shares[1]
        )
        p_hierarchical = bootstrap.paired_p_value(d)
        interval = bootstrap.percentile_interval(d, confidence)
    return Comparison(metric, difference, p_hierarchical, len(shared), p_test, p_hierarchical, interval)
