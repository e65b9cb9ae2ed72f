"""Compound expressions: each zero-shot scorer and few-shot learner against a hand-computed case or sklearn, and
a proof that no compound label reaches a zero-shot scorer."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

import fbn_bench.fewshot as fewshot
from fbn_bench import CompoundClass, FbnError
from fbn_bench.compound import Extracted, ZeroShotInputs, chance, class_metrics, zero_shot_records
from fbn_bench.fewshot import finetune_last_layer, logistic_regression, nearest_class_mean, support_indices
from fbn_bench.tasks import AUS, EXPRESSIONS
from fbn_plugins.zero_shot.builtin import au_components, au_template, mix, pair

CLASSES = (
    CompoundClass("happily surprised", ("happiness", "surprise"), (1, 2, 12, 25)),
    CompoundClass("sadly angry", ("sadness", "anger"), (4, 7, 15)),
)


def _expr(**probs):
    row = np.zeros(len(EXPRESSIONS))
    for name, p in probs.items():
        row[EXPRESSIONS.index(name)] = p
    return row


def test_pair_renormalises_without_neutral_then_multiplies_or_sums():
    # neutral 0.5 is dropped; the rest (0.2, 0.1, 0.1, 0.1) renormalise to (0.4, 0.2, 0.2, 0.2)
    p = np.array([_expr(neutral=0.5, happiness=0.2, surprise=0.1, sadness=0.1, anger=0.1)])
    inputs = ZeroShotInputs(p, None, CLASSES, np.zeros((7, 17)))
    assert pair(inputs, rule="product", weights=None)[0] == pytest.approx([0.4 * 0.2, 0.2 * 0.2])
    assert pair(inputs, rule="sum", weights=None)[0] == pytest.approx([0.6, 0.4])
    assert pair(inputs, rule="sum", weights="1;2")[0] == pytest.approx([0.6, 0.8])
    with pytest.raises(ValueError, match="give 2 non-negative numbers"):
        pair(inputs, rule="sum", weights="1;2;3")


def test_au_template_is_the_expected_log_likelihood_by_hand():
    au = np.full((1, 17), 0.5)
    au[0, AUS.index(12)] = 0.9
    inputs = ZeroShotInputs(None, au, CLASSES[:1], np.zeros((7, 17)))
    eps = 0.1
    on, off = (1, 2, 12, 25), [a for a in AUS if a not in (1, 2, 12, 25)]
    expected = sum(
        (au[0, AUS.index(a)] * math.log(1 - eps) + (1 - au[0, AUS.index(a)]) * math.log(eps)) for a in on
    ) + sum(0.5 * math.log(eps) + 0.5 * math.log(1 - eps) for a in off)
    assert au_template(inputs, eps=eps)[0, 0] == pytest.approx(expected)


def test_au_components_combines_the_two_relatedness_rows():
    R = np.zeros((7, 17))
    R[EXPRESSIONS.index("happiness"), 0] = 0.6
    R[EXPRESSIONS.index("surprise"), 0] = 0.5  # AU1: 1 - 0.4 * 0.5 = 0.8
    au = np.zeros((1, 17))
    au[0, 0] = 1.0  # AU1 surely present, every other AU surely absent
    inputs = ZeroShotInputs(None, au, CLASSES[:1], R)
    eps = 0.05  # the other 16 AUs: template 0 clipped to eps, so log(1 - eps) each
    assert au_components(inputs, eps=eps)[0, 0] == pytest.approx(math.log(0.8) + 16 * math.log(1 - eps))


def test_mix_weighs_the_two_scorers_as_class_distributions():
    p = np.array([_expr(happiness=0.5, surprise=0.3, sadness=0.1, anger=0.1)])
    au = np.full((1, 17), 0.5)
    inputs = ZeroShotInputs(p, au, CLASSES, np.zeros((7, 17)))
    pair_post = np.array([0.15, 0.01]) / 0.16
    ll = au_template(inputs, eps=0.05)[0]
    au_post = np.exp(ll - ll.max()) / np.exp(ll - ll.max()).sum()
    got = mix(inputs, weight=0.25, au="au-template", rule="product", eps=0.05)[0]
    assert got == pytest.approx(0.25 * pair_post + 0.75 * au_post)


def test_no_compound_label_reaches_a_zero_shot_scorer():
    seen = []

    class Spy:
        name, options = "spy", {}

        class spec:
            needs = frozenset({"expr"})

            @staticmethod
            def score(inputs, **_):
                seen.append(inputs)
                return np.zeros((len(inputs.expr_prob), len(inputs.classes)))

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(7), 20)
    labels = rng.integers(0, 2, 20)
    for shuffled in (labels, labels[::-1], 1 - labels):
        query = Extracted(np.zeros((20, 4)), probs, None, shuffled)
        zero_shot_records([Spy()], query, CLASSES, np.zeros((7, 17)), ("expr",), {})
    assert set(vars(seen[0])) == {"expr_prob", "au_prob", "classes", "relatedness"}  # no label field
    for other in seen[1:]:  # what the scorer got is the same whatever the labels were
        assert np.array_equal(other.expr_prob, seen[0].expr_prob) and other.classes == seen[0].classes


def test_a_scorer_needing_a_missing_head_is_noted_not_run():
    class NeedsAU:
        name, options = "needs-au", {}

        class spec:
            needs = frozenset({"au"})

    query = Extracted(np.zeros((3, 2)), np.full((3, 7), 1 / 7), None, np.array([0, 1, 0]))
    records, notes = zero_shot_records([NeedsAU()], query, CLASSES, np.zeros((7, 17)), ("expr",), {})
    assert records == [] and "no au head" in notes[0]


def test_metrics_against_sklearn():
    rng = np.random.default_rng(3)
    y, p = rng.integers(0, 5, 80), rng.integers(0, 5, 80)
    got = class_metrics(y, p, 6)  # a sixth class neither labelled nor predicted counts 0 in macro-F1
    assert got["uar"] == pytest.approx(balanced_accuracy_score(y, p))
    assert got["macro_f1"] == pytest.approx(f1_score(y, p, average="macro", labels=range(6), zero_division=0))
    assert got["accuracy"] == pytest.approx(accuracy_score(y, p))
    assert chance(np.array([0, 0, 0, 1]), 2)["uar"] == 0.5 and chance(np.array([0, 0, 0, 1]), 2)["accuracy"] == 0.75


def test_confusion_counts_true_rows_and_predicted_columns():
    from fbn_bench.compound import confusion

    got = confusion(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), 3)
    assert got.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_support_sets_are_k_per_class_seeded_and_differ_by_episode():
    labels = np.array([0] * 10 + [1] * 10 + [2] * 2)
    a = support_indices(labels, 3, 5, seed=0, episode=0)
    assert np.bincount(labels[a]).tolist() == [5, 5, 2]  # a class with fewer images gives all it has
    assert np.array_equal(a, support_indices(labels, 3, 5, seed=0, episode=0))
    assert not np.array_equal(a, support_indices(labels, 3, 5, seed=0, episode=1))


def test_logistic_regression_matches_sklearn():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(c, 1.0, (15, 4)) for c in range(3)])
    y = np.repeat(np.arange(3), 15)
    q = rng.normal(1, 1.5, (40, 4))
    ours = logistic_regression(x, y, 3)(q)
    mean, sd = x.mean(0), x.std(0) + 1e-6
    reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit((x - mean) / sd, y)
    theirs = reference.decision_function((q - mean) / sd)
    # Softmax scores are defined up to a per-row constant: compare centred scores.
    assert ours - ours.mean(1, keepdims=True) == pytest.approx(theirs - theirs.mean(1, keepdims=True), abs=1e-3)


def test_nearest_class_mean_by_hand():
    x = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    y = np.array([0, 0, 1])
    scores = nearest_class_mean(x, y, 3)(np.array([[1.0, 1.0]]))
    assert scores[0, :2] == pytest.approx([1 / math.sqrt(2), 1 / math.sqrt(2)])
    assert scores[0, 2] == -np.inf  # no support image for class 2


def test_finetune_one_step_by_hand(monkeypatch):
    """One Adam step from a zero head: the head moves by -lr * sign(its gradient) (Adam's first step), the
    layer not at all (a zero head passes it no gradient); scores computed here with numpy."""
    monkeypatch.setattr(fewshot, "FINETUNE_STEPS", 1)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 4)), np.array([0, 1, 2, 0, 0, 0])  # counts 4, 1, 1: no bias gradient is ~0
    weight, bias = rng.normal(size=(5, 4)), rng.normal(size=5)
    q = rng.normal(size=(3, 4))
    hidden = np.maximum(x @ weight.T + bias, 0)
    grad_logits = np.full((6, 3), 1 / 3) - np.eye(3)[y]  # softmax of zero logits minus the one-hot targets
    lr = fewshot.FINETUNE_LR
    head_w, head_b = -lr * np.sign(grad_logits.T @ hidden), -lr * np.sign(grad_logits.sum(0))
    expected = np.maximum(q @ weight.T + bias, 0) @ head_w.T + head_b
    got = finetune_last_layer(x, y, 3, (weight, bias))(q)
    assert got == pytest.approx(expected, abs=1e-5)


def test_finetune_trains_the_last_layer_where_its_frozen_features_fail():
    """Classes that differ only in a direction the frozen layer discards: logistic regression on its features
    is at chance, fine-tuning the layer separates them."""
    rng = np.random.default_rng(3)
    n = 40
    y = np.repeat(np.arange(2), n)
    x = np.concatenate([rng.normal(0, 1, (2 * n, 1)), (2 * y - 1)[:, None] * 3 + rng.normal(0, 0.3, (2 * n, 1))], 1)
    weight, bias = np.array([[1.0, 0.0], [-1.0, 0.0]]), np.zeros(2)  # sees only the uninformative column
    q_y = np.repeat(np.arange(2), 50)
    q = np.concatenate([rng.normal(0, 1, (100, 1)), (2 * q_y - 1)[:, None] * 3 + rng.normal(0, 0.3, (100, 1))], 1)
    frozen = logistic_regression(np.maximum(x @ weight.T + bias, 0), y, 2)(np.maximum(q @ weight.T + bias, 0))
    assert (frozen.argmax(1) == q_y).mean() < 0.7
    tuned = finetune_last_layer(x, y, 2, (weight, bias))
    assert (tuned(q).argmax(1) == q_y).mean() > 0.95
    assert np.array_equal(tuned(q), finetune_last_layer(x, y, 2, (weight, bias))(q))  # deterministic


def test_a_compound_class_with_a_wrong_component_is_refused():
    with pytest.raises(FbnError, match="components must be two of"):
        CompoundClass("oddly calm", ("neutral", "happiness"), (12,))
