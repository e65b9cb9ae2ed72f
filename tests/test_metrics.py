"""fbn_bench.metrics against independent references (sklearn, scipy, hand-computed cases)."""

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from fbn_bench import FbnError, metrics


def reference_ccc(x, y):
    """CCC from scipy's Pearson r: rho_c = 2 r s_x s_y / (s_x^2 + s_y^2 + (mu_x - mu_y)^2), population stds."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    r = stats.pearsonr(x, y).statistic
    sx, sy = x.std(), y.std()
    return 2 * r * sx * sy / (sx**2 + sy**2 + (x.mean() - y.mean()) ** 2)


@pytest.mark.parametrize("seed", range(5))
def test_ccc_matches_reference(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 200)
    y = 0.6 * x + rng.normal(0.1, 0.3, 200)
    assert metrics.ccc(x, y) == pytest.approx(reference_ccc(x, y), abs=1e-9)


def test_ccc_hand_computed_and_edge_cases():
    # x = (0, 1), y = (1, 2): cov = 0.25, var = 0.25 each, mean gap 1 -> 2*0.25 / (0.5 + 1) = 1/3
    assert metrics.ccc([0, 1], [1, 2]) == pytest.approx(1 / 3, abs=1e-12)
    assert metrics.ccc([0.1, 0.5, -0.3], [0.1, 0.5, -0.3]) == pytest.approx(1.0, abs=1e-12)
    assert metrics.ccc([0.2, -0.4, 0.9], [0.3, 0.3, 0.3]) == pytest.approx(0.0, abs=1e-12)  # constant: no covariance
    assert metrics.ccc(torch.tensor([0.0, 1.0]), np.array([1.0, 2.0])) == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")  # on purpose, below
def test_classification_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    t, p = rng.integers(0, 7, 300), rng.integers(0, 7, 300)
    assert metrics.accuracy(t, p) == pytest.approx(accuracy_score(t, p), abs=1e-12)
    assert metrics.macro_f1(t, p) == pytest.approx(f1_score(t, p, average="macro"), abs=1e-9)
    labels = list(range(7))
    assert metrics.macro_f1(t, p, labels=labels) == pytest.approx(
        f1_score(t, p, average="macro", labels=labels), abs=1e-9
    )
    b_t, b_p = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    assert metrics.f1(b_t, b_p) == pytest.approx(f1_score(b_t, b_p), abs=1e-12)
    # Imbalanced, with a class never predicted and one predicted but absent (it must not count).
    t = rng.choice(6, 300, p=[0.5, 0.2, 0.1, 0.1, 0.05, 0.05])
    p = np.where(rng.random(300) < 0.6, t, rng.integers(1, 7, 300))
    assert metrics.mean_class_accuracy(t, p) == pytest.approx(balanced_accuracy_score(t, p), abs=1e-12)


def test_mean_class_accuracy_hand_computed():
    # class 0: 2 of 3 right, class 1: 1 of 1 right -> (2/3 + 1) / 2; plain accuracy would be 3/4.
    assert metrics.mean_class_accuracy([0, 0, 0, 1], [0, 0, 1, 1]) == pytest.approx(5 / 6, abs=1e-12)


def test_f1_edge_cases():
    assert metrics.f1([0, 0, 0], [0, 0, 0]) == 0.0  # no positives anywhere: sklearn's zero_division=0
    assert metrics.f1([0, 0, 0], [0, 0, 0]) == f1_score([0, 0, 0], [0, 0, 0], zero_division=0)
    assert metrics.f1([1, 1], [1, 1]) == 1.0
    assert metrics.f1([1, 0], [0, 1]) == 0.0
    # a single class present in both: sklearn with labels=[3] agrees
    assert metrics.macro_f1([3, 3, 3], [3, 3, 1], labels=[3]) == pytest.approx(
        f1_score([3, 3, 3], [3, 3, 1], labels=[3], average="macro")
    )


def test_au_f1_masks_and_nan():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, (100, 4)).astype(float)
    p = rng.integers(0, 2, (100, 4)).astype(float)
    t[:50, 1] = np.nan  # AU column 1 half unannotated
    mask = np.ones_like(t, bool)
    mask[:, 3] = False  # AU column 3 not annotated at all
    per_au, mean = metrics.au_f1(t, p, mask=mask)
    expected = [f1_score(t[:, 0], p[:, 0]), f1_score(t[50:, 1], p[50:, 1]), f1_score(t[:, 2], p[:, 2])]
    assert per_au[:3] == pytest.approx(expected, abs=1e-12)
    assert np.isnan(per_au[3])
    assert mean == pytest.approx(np.mean(expected), abs=1e-12)
    # an AU without a positive label is undefined and left out of the mean (not scored as 0)
    per_au, mean = metrics.au_f1([[0, 1], [0, 1]], [[0, 1], [0, 1]])
    assert np.isnan(per_au[0]) and per_au[1] == 1.0 and mean == 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: metrics.ccc([], []), "empty"),
        (lambda: metrics.ccc([1, 2], [1]), "differ in shape"),
        (lambda: metrics.ccc([1, 2], [1, float("nan")]), "NaN"),
        (lambda: metrics.accuracy([1, float("nan")], [1, 1]), "NaN"),
        (lambda: metrics.f1([0, 2], [0, 1]), "only 0 and 1"),
        (lambda: metrics.au_f1([[np.nan]], [[1]]), "no AU has any annotated sample"),
    ],
)
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(FbnError, match=message):
        call()
