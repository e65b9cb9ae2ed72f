"""Each coupling loss against a small case computed by hand (plain Python math, not torch)."""

from __future__ import annotations

import math

import pytest
import torch

from fbn_bench import AUS, EXPRESSIONS
from fbn_bench.coupling import losses, relatedness, relatedness_tensor

R = relatedness_tensor(relatedness("du2014"))
RL = R.tolist()
E = {e: i for i, e in enumerate(EXPRESSIONS)}
J = {a: j for j, a in enumerate(AUS)}


def sig(x):
    return 1 / (1 + math.exp(-x))


def bce(target, logit):
    return -(target * math.log(sig(logit)) + (1 - target) * math.log(1 - sig(logit)))


def softmax(xs):
    m = max(xs)
    ex = [math.exp(x - m) for x in xs]
    return [v / sum(ex) for v in ex]


def labels(n, expr, au_labels):
    """expr: list of expression names or None; au_labels: list of {AU number: 0/1} (annotated AUs)."""
    e = torch.tensor([E[x] if x else -1 for x in expr])
    au = torch.zeros(n, 17)
    mask = torch.zeros(n, 17, dtype=torch.bool)
    for i, d in enumerate(au_labels):
        for a, v in d.items():
            au[i, J[a]] = v
            mask[i, J[a]] = True
    return e, au, mask


def logits(n, k, seed):
    return torch.randn(n, k, generator=torch.Generator().manual_seed(seed)).mul(1.5)


# ---- hard co-annotation --------------------------------------------------------------------------


def test_co_au_pseudo_labels_skip_labelled_aus_neutral_and_missing():
    expr, au, mask = labels(4, ["happiness", "neutral", None, "anger"], [{12: 0}, {}, {1: 1}, {}])
    targets, m = losses.co_annotation_au_targets(expr, mask, R)
    on = lambda i: [a for a in AUS if m[i, J[a]]]
    assert on(0) == [25]  # AU12 has a real label (0): the real label wins, no pseudo-label
    assert on(1) == [] and on(2) == []  # neutral has no prototypical AU; no expression, nothing
    assert on(3) == [4, 7, 24]
    assert (targets[m] == 1).all()

    a = logits(4, 17, 0)
    expected = (bce(1, a[0, J[25]].item()) + sum(bce(1, a[3, J[x]].item()) for x in (4, 7, 24))) / 4
    assert losses.co_annotation_au_loss(a, expr, mask, R).item() == pytest.approx(expected, rel=1e-5)


def test_co_expr_pseudo_label_needs_all_prototypical_aus_annotated_and_unique():
    all_off = {a: 0 for a in AUS}
    surprise = {**all_off, 1: 1, 2: 1, 25: 1, 26: 1}
    bp4d_like = {12: 1, 6: 1, 4: 0}  # AU25 not annotated: happiness cannot be confirmed
    both = {**all_off, 1: 1, 2: 1, 12: 1, 25: 1, 26: 1}  # happiness and surprise both match
    expr, au, mask = labels(5, [None, None, None, None, "fear"], [surprise, bp4d_like, both, all_off, surprise])
    targets, m = losses.co_annotation_expr_targets(expr, au, mask, R)
    assert m.tolist() == [True, False, False, False, False]  # all-off never gives neutral; a real label wins
    assert targets[0].item() == E["surprise"]

    z = logits(5, 7, 1)
    expected = -math.log(softmax(z[0].tolist())[E["surprise"]])
    assert losses.co_annotation_expr_loss(z, expr, au, mask, R).item() == pytest.approx(expected, rel=1e-5)


def test_co_threshold_decides_what_is_prototypical():
    expr, au, mask = labels(1, ["sadness"], [{}])
    _, m = losses.co_annotation_au_targets(expr, mask, R, threshold=0.55)
    assert [a for a in AUS if m[0, J[a]]] == [1, 4, 15, 17]  # 0.60 and 0.67 now count, 0.50 does not


# ---- soft co-annotation --------------------------------------------------------------------------


def test_soft_au_targets_are_the_relatedness_row_on_unlabelled_aus_neutral_included():
    expr, au, mask = labels(3, ["anger", "neutral", None], [{4: 0, 17: 1}, {}, {}])
    a = logits(3, 17, 2)
    total, count = 0.0, 0
    for i, e in ((0, "anger"), (1, "neutral")):
        for a_num in AUS:
            if i == 0 and a_num in (4, 17):
                continue
            total += bce(RL[E[e]][J[a_num]], a[i, J[a_num]].item())
            count += 1
    assert count == 15 + 17
    assert losses.soft_co_annotation_au_loss(a, expr, mask, R).item() == pytest.approx(total / count, rel=1e-5)
    targets, m = losses.soft_au_targets(expr, mask, R)
    assert (targets[1][m[1]] == 0).all()  # neutral: its unlabelled AUs are taught to be off


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_soft_expr_targets_follow_the_clipped_bernoulli_likelihood(temperature):
    eps = 0.05
    annotated = {1: 1, 2: 1, 4: 0, 12: 0, 25: 1}  # a surprise-like pattern on 5 annotated AUs
    expr, au, mask = labels(3, [None, None, "anger"], [annotated, {}, annotated])
    z = logits(3, 7, 3)
    ll = []
    for e in EXPRESSIONS:
        s = 0.0
        for a_num, y in annotated.items():
            r = min(max(RL[E[e]][J[a_num]], eps), 1 - eps)
            s += y * math.log(r) + (1 - y) * math.log(1 - r)
        ll.append(s / temperature)
    q = softmax(ll)
    targets, m = losses.soft_expr_targets(expr, au, mask, R, temperature, eps)
    assert m.tolist() == [True, False, False]  # no AU labels / a real expression label: no soft target
    assert targets[0].tolist() == pytest.approx(q, rel=1e-5)
    assert max(q) == q[E["surprise"]]
    p = softmax(z[0].tolist())
    expected = -sum(qe * math.log(pe) for qe, pe in zip(q, p))
    got = losses.soft_co_annotation_expr_loss(z, expr, au, mask, R, temperature, eps)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_soft_expr_neutral_wins_when_all_annotated_aus_are_off():
    expr, au, mask = labels(1, [None], [{a: 0 for a in AUS}])
    targets, _ = losses.soft_expr_targets(expr, au, mask, R)
    assert targets[0].argmax().item() == E["neutral"]


# ---- distribution matching -----------------------------------------------------------------------


def hand_dm(z, a, weights=None):
    total = 0.0
    for i in range(z.shape[0]):
        p = softmax(z[i].tolist())
        for j in range(17):
            q = sum(p[e] * RL[e][j] for e in range(7))
            w = 1.0 if weights is None else float(weights[i][j])
            total += w * bce(q, a[i, j].item())
    return total / z.shape[0]


def test_dm_is_bce_summed_over_aus_and_averaged_over_samples():
    z, a = logits(3, 7, 4), logits(3, 17, 5)
    assert losses.distribution_matching_loss(z, a, R).item() == pytest.approx(hand_dm(z, a), rel=1e-5)
    _, _, mask = labels(3, [None] * 3, [{1: 1, 2: 0}, {}, {a_num: 0 for a_num in AUS}])
    w = (~mask).tolist()
    got = losses.distribution_matching_loss(z, a, R, ~mask).item()
    assert got == pytest.approx(hand_dm(z, a, w), rel=1e-5)


def test_reverse_dm_uses_the_expected_log_likelihood_of_the_au_predictions():
    z, a = logits(2, 7, 6), logits(2, 17, 7)
    eps, t = 0.05, 1.5
    total = 0.0
    for i in range(2):
        s = [sig(v) for v in a[i].tolist()]
        ll = []
        for e in range(7):
            r = [min(max(x, eps), 1 - eps) for x in RL[e]]
            ll.append(sum(sj * math.log(rj) + (1 - sj) * math.log(1 - rj) for sj, rj in zip(s, r)) / t)
        q, p = softmax(ll), softmax(z[i].tolist())
        total += -sum(qe * math.log(pe) for qe, pe in zip(q, p))
    got = losses.reverse_distribution_matching_loss(z, a, R, t, eps)
    assert got.item() == pytest.approx(total / 2, rel=1e-5)


def test_dm_gradients_are_right_for_both_heads():
    z = logits(3, 7, 8).double().requires_grad_()
    a = logits(3, 17, 9).double().requires_grad_()
    Rd = R.double()
    assert torch.autograd.gradcheck(lambda z, a: losses.distribution_matching_loss(z, a, Rd), (z, a))
    assert torch.autograd.gradcheck(lambda z, a: losses.reverse_distribution_matching_loss(z, a, Rd), (z, a))


def test_losses_with_nothing_to_average_are_zero_and_backward_safely():
    expr, au, mask = labels(2, [None, None], [{}, {}])
    z = logits(2, 7, 10).requires_grad_()
    a = logits(2, 17, 11).requires_grad_()
    terms = [
        losses.co_annotation_au_loss(a, expr, mask, R),
        losses.co_annotation_expr_loss(z, expr, au, mask, R),
        losses.soft_co_annotation_au_loss(a, expr, mask, R),
        losses.soft_co_annotation_expr_loss(z, expr, au, mask, R),
    ]
    for term in terms:
        assert term.item() == 0.0
    sum(terms).backward()
    assert torch.equal(z.grad, torch.zeros_like(z)) and torch.equal(a.grad, torch.zeros_like(a))
