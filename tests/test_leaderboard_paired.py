"""The paired bootstrap comparison on constructed cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from leaderboard_helpers import predictions
from sklearn.metrics import f1_score

from fbn_bench.leaderboard import bootstrap
from fbn_bench.leaderboard.paired import compare
from fbn_bench.leaderboard.samples import Clusters
from fbn_bench.tasks import EXPRESSIONS


def _setup(frames, column="rows", resamples=2000, seed=0):
    clusters = Clusters.of(column, frames)
    return clusters, bootstrap.resample_weights(len(clusters), resamples, np.random.default_rng(seed))


def _wrong(expression: str) -> str:
    return EXPRESSIONS[(EXPRESSIONS.index(expression) + 1) % len(EXPRESSIONS)]


def test_identical_predictions_differ_by_zero_with_p_one():
    a = predictions(n_subjects=10, per_subject=4, tasks=("expr",), quality=0.6, seed=1)
    clusters, w = _setup([a], "subject")
    result = compare([a], [a.copy()], clusters, w, ("expr",), (), "macro_f1")
    assert result.difference == 0.0
    assert result.p_test == 1.0
    assert result.n_matched == 40


def test_right_everywhere_beats_wrong_on_half_with_p_near_zero():
    base = predictions(n_subjects=30, per_subject=2, tasks=("expr",), quality=0.0, seed=0)
    perfect = base.copy()
    perfect["pred_expression"] = perfect["expression"]
    half = base.copy()
    half["pred_expression"] = [e if i % 2 == 0 else _wrong(e) for i, e in enumerate(half["expression"])]
    clusters, w = _setup([perfect, half], resamples=1000)
    result = compare([perfect], [half], clusters, w, ("expr",), (), "macro_f1")
    expected = 1.0 - f1_score(
        half["expression"],
        half["pred_expression"],
        average="macro",
        labels=sorted(set(half["expression"])),
        zero_division=0,
    )
    assert result.difference == pytest.approx(expected, abs=1e-12)
    assert result.p_test <= 2 / 1001 + 1e-12  # the smallest p 1000 resamples can give
    reverse = compare([half], [perfect], clusters, w, ("expr",), (), "macro_f1")
    assert reverse.difference == pytest.approx(-expected)
    assert reverse.p_test == result.p_test


def test_p_value_matches_the_binomial_answer():
    # 20 independent rows; A is right on all, B wrong on 2 of them. The resampled difference in
    # accuracy is <= 0 exactly when no wrong row is drawn: P = 0.9 ** 20, so p = 2 * 0.9 ** 20.
    n = 20
    a = predictions(n_subjects=n, per_subject=1, tasks=("expr",), quality=0.0, seed=0)
    a["pred_expression"] = a["expression"]
    b = a.copy()
    b.loc[[3, 11], "pred_expression"] = b.loc[[3, 11], "expression"].map(_wrong)
    clusters, w = _setup([a, b], resamples=40000, seed=5)
    result = compare([a], [b], clusters, w, ("expr",), (), "accuracy")
    assert result.difference == pytest.approx(2 / n)
    assert result.p_test == pytest.approx(2 * 0.9**20, abs=0.01)


def test_pairs_by_image_and_compares_only_shared_samples():
    a = predictions(n_subjects=10, per_subject=2, tasks=("expr",), quality=1.0, seed=0)
    b = a.sample(frac=1.0, random_state=3).iloc[:15]  # shuffled, and five samples missing
    clusters, w = _setup([a, b])
    result = compare([a], [b], clusters, w, ("expr",), (), "accuracy")
    assert result.n_matched == 15
    assert result.difference == 0.0 and result.p_test == 1.0


def test_several_seeds_are_averaged_before_differencing():
    a1 = predictions(n_subjects=10, per_subject=3, tasks=("expr",), quality=0.9, seed=1)
    a2 = predictions(n_subjects=10, per_subject=3, tasks=("expr",), quality=0.5, seed=2)
    b = predictions(n_subjects=10, per_subject=3, tasks=("expr",), quality=0.7, seed=3)
    clusters, w = _setup([a1, a2, b], "subject")
    result = compare([a1, a2], [b], clusters, w, ("expr",), (), "accuracy")
    acc = lambda f: (f["expression"] == f["pred_expression"]).mean()  # noqa: E731
    assert result.difference == pytest.approx((acc(a1) + acc(a2)) / 2 - acc(b))
