"""Intervals of the leaderboards against independent references: fbn_bench.scoring on explicit
resamples, scipy.stats.bootstrap (percentile) and a hand-computed t-interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from leaderboard_helpers import predictions
from scipy import stats

from fbn_bench import metrics
from fbn_bench.leaderboard import bootstrap
from fbn_bench.leaderboard.samples import Clusters
from fbn_bench.leaderboard.sums import cluster_sums, layout_for, metrics_from_sums, row_features
from fbn_bench.scoring import score_predictions

AUS = (1, 2, 12)


def _scores_on(frame):
    return {m: v for (_, m), (v, _) in score_predictions(frame, ("va", "expr", "au"), AUS).items()}


def test_sums_score_exactly_like_scoring_on_explicit_resamples():
    frame = predictions(n_subjects=8, per_subject=6, quality=0.6, seed=3)
    layout = layout_for(frame, ("va", "expr", "au"), AUS)
    clusters = Clusters.of("subject", [frame])
    sums = cluster_sums(row_features(frame, layout), clusters.codes(frame), len(clusters))
    # Whole split: the sums give the record values.
    whole = metrics_from_sums(sums.sum(axis=0), layout)
    for metric, value in _scores_on(frame).items():
        assert whole[metric] == pytest.approx(value, abs=1e-9), metric
    # Resamples: weights @ sums must equal scoring the frame built from the drawn subjects.
    rng = np.random.default_rng(7)
    weights = bootstrap.resample_weights(len(clusters), 5, np.random.default_rng(7))
    index = rng.integers(0, len(clusters), (5, len(clusters)))  # the same draws resample_weights made
    scored = metrics_from_sums(weights @ sums, layout)
    names = clusters.names
    for b in range(5):
        picked = [frame[("g:" + frame["subject"]) == names[j]] for j in index[b]]
        resampled = __import__("pandas").concat(picked, ignore_index=True)
        for metric, value in _scores_on(resampled).items():
            assert scored[metric][b] == pytest.approx(value, abs=1e-9), (b, metric)


def test_resample_weights_take_whole_clusters_n_times():
    weights = bootstrap.resample_weights(12, 300, np.random.default_rng(0))
    assert weights.shape == (300, 12)
    assert (weights.sum(axis=1) == 12).all()
    # Each cluster is drawn with probability 1/12 per draw: mean count 1.
    assert weights.mean() == pytest.approx(1.0)
    assert abs(weights[:, 0].mean() - 1.0) < 0.2


@pytest.mark.parametrize("metric", ["accuracy", "ccc_valence"])
def test_row_bootstrap_matches_scipy_percentile_bootstrap(metric):
    frame = predictions(n_subjects=40, per_subject=3, tasks=("va", "expr"), quality=0.6, seed=1)
    layout = layout_for(frame, ("va", "expr"), ())
    clusters = Clusters.of("rows", [frame])
    sums = cluster_sums(row_features(frame, layout), clusters.codes(frame), len(clusters))
    # Clusters are sorted by image; scipy sees the rows in that same order.
    ordered = frame.iloc[np.argsort(frame["image"].to_numpy())].reset_index(drop=True)
    b = 2000
    ours = metrics_from_sums(bootstrap.resample_weights(len(clusters), b, np.random.default_rng(42)) @ sums, layout)[
        metric
    ]
    low, high = bootstrap.percentile_interval(ours, 0.95)

    if metric == "accuracy":
        data = ((ordered["expression"] == ordered["pred_expression"]).to_numpy(float),)
        ref = stats.bootstrap(
            data,
            np.mean,
            n_resamples=b,
            method="percentile",
            confidence_level=0.95,
            vectorized=True,
            rng=np.random.default_rng(42),
        )
    else:
        data = (ordered["valence"].to_numpy(), ordered["pred_valence"].to_numpy())
        ref = stats.bootstrap(
            data,
            metrics.ccc,
            n_resamples=b,
            method="percentile",
            confidence_level=0.95,
            paired=True,
            vectorized=False,
            rng=np.random.default_rng(42),
        )
    assert low == pytest.approx(ref.confidence_interval.low, abs=1e-9)
    assert high == pytest.approx(ref.confidence_interval.high, abs=1e-9)


def test_seed_interval_is_the_hand_computed_t_interval():
    values = [0.61, 0.65, 0.58]
    mean = sum(values) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    half = 4.302652729911275 * sd / math.sqrt(3)  # t(0.975, df=2), from tables
    low, high = bootstrap.seed_interval(values)
    assert low == pytest.approx(mean - half, abs=1e-9)
    assert high == pytest.approx(mean + half, abs=1e-9)
    assert bootstrap.seed_interval([0.5]) is None


def test_percentile_interval_ignores_empty_resamples_and_matches_numpy():
    samples = np.array([np.nan, *np.linspace(0, 1, 101)])
    assert bootstrap.percentile_interval(samples) == pytest.approx((0.025, 0.975))
    assert bootstrap.percentile_interval(np.array([np.nan])) is None


def test_cluster_bootstrap_is_wider_than_row_bootstrap_when_subjects_are_correlated():
    # Every subject is either all right or all wrong: resampling rows would pretend to 60 independent
    # samples, resampling subjects sees 6.
    frame = predictions(n_subjects=6, per_subject=10, tasks=("expr",), quality=0.0, seed=0)
    right = frame["subject"].isin(["s00", "s02", "s04"])
    frame.loc[right, "pred_expression"] = frame.loc[right, "expression"]
    frame.loc[~right, "pred_expression"] = frame.loc[~right, "expression"].map(
        lambda e: "anger" if e != "anger" else "fear"
    )
    layout = layout_for(frame, ("expr",), ())

    def width(column):
        clusters = Clusters.of(column, [frame])
        sums = cluster_sums(row_features(frame, layout), clusters.codes(frame), len(clusters))
        w = bootstrap.resample_weights(len(clusters), 2000, np.random.default_rng(0))
        low, high = bootstrap.percentile_interval(metrics_from_sums(w @ sums, layout)["accuracy"])
        return high - low

    assert width("subject") > 2 * width("rows")
