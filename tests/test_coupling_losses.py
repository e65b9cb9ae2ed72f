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


def kl_bernoulli(q, s):
    """KL(Bernoulli(q) || Bernoulli(s)) in plain math, 0 log 0 = 0."""
    on = q * math.log(q / s) if q > 0 else 0.0
    off = (1 - q) * math.log((1 - q) / (1 - s)) if q < 1 else 0.0
    return on + off


def hand_dm(z, a, weights=None):
    total = 0.0
    for i in range(z.shape[0]):
        p = softmax(z[i].tolist())
        for j in range(17):
            q = sum(p[e] * RL[e][j] for e in range(7))
            w = 1.0 if weights is None else float(weights[i][j])
            total += w * kl_bernoulli(q, sig(a[i, j].item()))
    return total / z.shape[0]


def test_dm_is_a_bernoulli_kl_summed_over_aus_and_averaged_over_samples():
    z, a = logits(3, 7, 4), logits(3, 17, 5)
    assert losses.distribution_matching_loss(z, a, R).item() == pytest.approx(hand_dm(z, a), rel=1e-4)
    _, _, mask = labels(3, [None] * 3, [{1: 1, 2: 0}, {}, {a_num: 0 for a_num in AUS}])
    w = (~mask).tolist()
    got = losses.distribution_matching_loss(z, a, R, ~mask).item()
    assert got == pytest.approx(hand_dm(z, a, w), rel=1e-4)


def hand_reverse(z, a, eps, t, known=None):
    total = 0.0
    for i in range(z.shape[0]):
        s = [sig(v) for v in a[i].tolist()]
        ll = []
        for e in range(7):
            value = 0.0
            for j, (sj, x) in enumerate(zip(s, RL[e])):
                if known is None or known[e][j]:
                    rj = min(max(x, eps), 1 - eps)
                    value += sj * math.log(rj) + (1 - sj) * math.log(1 - rj)
            ll.append(value / t)
        r, p = softmax(ll), softmax(z[i].tolist())
        total += sum(re * math.log(re / pe) for re, pe in zip(r, p))
    return total / z.shape[0]


def test_reverse_dm_is_the_kl_from_the_au_implied_expressions():
    z, a = logits(2, 7, 6), logits(2, 17, 7)
    got = losses.reverse_distribution_matching_loss(z, a, R, 1.5, 0.05)
    assert got.item() == pytest.approx(hand_reverse(z, a, 0.05, 1.5), rel=1e-4)


def test_dm_gradients_are_right_for_both_heads():
    z = logits(3, 7, 8).double().requires_grad_()
    a = logits(3, 17, 9).double().requires_grad_()
    Rd = R.double()
    _, known = losses.resolve_unlisted(Rd, "masked")
    assert torch.autograd.gradcheck(lambda z, a: losses.distribution_matching_loss(z, a, Rd), (z, a))
    # (The masked forward term is left out: its coverage weight is detached on purpose, so that the
    # expression head is not paid for leaning on expressions whose cells are unknown.)
    assert torch.autograd.gradcheck(lambda z, a: losses.reverse_distribution_matching_loss(z, a, Rd), (z, a))
    assert torch.autograd.gradcheck(
        lambda z, a: losses.reverse_distribution_matching_loss(z, a, Rd, known=known), (z, a)
    )


def old_bce_dm(z, a):
    """The version-1 forward term, BCE(q, s) with gradients into q, for contrast."""
    return losses.bce_with_logits(a, losses.implied_au_probabilities(z, R)).sum(-1).mean()


def matched_au_logits(z):
    """AU logits whose sigmoid is exactly the AU distribution the expression logits imply."""
    q = losses.implied_au_probabilities(z, R).double().clamp(1e-7, 1 - 1e-7)
    return torch.log(q / (1 - q)).float()


def test_dm_sends_no_gradient_into_either_head_where_the_au_head_equals_q():
    z = logits(4, 7, 12).requires_grad_()
    a = matched_au_logits(z.detach()).requires_grad_()
    gz, ga = torch.autograd.grad(losses.distribution_matching_loss(z, a, R), (z, a))
    assert gz.abs().max().item() < 1e-5 and ga.abs().max().item() < 1e-5
    # The old cross-entropy pushed the expression head even here (the issue measured about +-0.14).
    gz_old, _ = torch.autograd.grad(old_bce_dm(z, a), (z, a))
    assert gz_old.abs().max().item() > 0.05


def test_reverse_dm_sends_no_gradient_where_the_expression_head_equals_the_au_implied_one():
    a = logits(4, 17, 13).requires_grad_()
    z = losses.implied_expr_log_probabilities(a.detach(), R).clone().requires_grad_()
    gz, ga = torch.autograd.grad(losses.reverse_distribution_matching_loss(z, a, R), (z, a))
    assert gz.abs().max().item() < 1e-6 and ga.abs().max().item() < 1e-6
    old = losses.soft_cross_entropy(z, losses.implied_expr_probabilities(a, R)).mean()
    _, ga_old = torch.autograd.grad(old, (z, a))
    assert ga_old.abs().max().item() > 0.01  # the cross-entropy rewarded a confident AU-implied target


def one_hot_logits(e, n=1, scale=30.0):
    z = torch.full((n, 7), -scale / 2)
    z[:, e] = scale / 2
    return z


def test_dm_no_longer_prefers_the_collapse_over_a_matched_face():
    z = logits(1, 7, 14)  # a non-degenerate expression belief
    a = matched_au_logits(z)
    collapse_z, collapse_a = one_hot_logits(E["neutral"]), torch.full((1, 17), -30.0)
    # Both heads free: the collapse (every face neutral, every AU off) ties with any matched pair at 0
    # instead of beating it, as the old cross-entropy did (its matched value is the entropy of q).
    new_matched = losses.distribution_matching_loss(z, a, R).item()
    new_collapse = losses.distribution_matching_loss(collapse_z, collapse_a, R).item()
    assert abs(new_matched) < 1e-5 and new_collapse >= new_matched - 1e-5
    assert old_bce_dm(collapse_z, collapse_a).item() < 1e-6 < 0.5 < old_bce_dm(z, a).item()
    # The AU head fixed at a non-degenerate value: every certain expression now costs more than the
    # matching belief; under the old loss some certain expression cost less (it is linear in q).
    certain = [one_hot_logits(e) for e in range(7)]
    assert min(losses.distribution_matching_loss(c, a, R).item() for c in certain) > new_matched + 0.1
    assert min(old_bce_dm(c, a).item() for c in certain) < old_bce_dm(z, a).item()


# ---- unlisted cells and observational AUs ---------------------------------------------------------


def test_unlisted_cells_read_as_impossible_base_rate_or_masked():
    same, known = losses.resolve_unlisted(R, "impossible")
    assert torch.equal(same, R) and bool(known.all())
    base, known = losses.resolve_unlisted(R, "base_rate", 0.1)
    assert bool(known.all())
    assert base[E["anger"], J[1]].item() == pytest.approx(0.1)  # unlisted for anger
    assert base[E["anger"], J[10]].item() == pytest.approx(RL[E["anger"]][J[10]])  # listed: kept
    assert (base[E["neutral"]] == 0).all()  # neutral's row is its definition, not a gap
    table, known = losses.resolve_unlisted(R, "masked")
    assert torch.equal(table, R)
    expected = [[e == 0 or RL[e][j] > 0 for j in range(17)] for e in range(7)]
    assert known.tolist() == expected


def test_masked_cells_leave_soft_targets_likelihoods_and_dm_out():
    _, known = losses.resolve_unlisted(R, "masked")
    expr, au, mask = labels(2, ["happiness", "neutral"], [{}, {}])
    _, m = losses.soft_au_targets(expr, mask, R, known)
    assert [a for a in AUS if m[0, J[a]]] == [6, 12, 25]  # only happiness' listed AUs are taught
    assert int(m[1].sum()) == 17  # neutral: all off, all known
    a = logits(2, 17, 15)
    z = logits(2, 7, 16)
    got = losses.reverse_distribution_matching_loss(z, a, R, 1.0, 0.05, known)
    assert got.item() == pytest.approx(hand_reverse(z, a, 0.05, 1.0, known.tolist()), rel=1e-4)
    # Forward: q averages over the expressions whose cell is known, weighted by their share of belief.
    total = 0.0
    for i in range(2):
        p = softmax(z[i].tolist())
        for j in range(17):
            cover = sum(p[e] for e in range(7) if known[e, j])
            q = sum(p[e] * RL[e][j] for e in range(7) if known[e, j]) / cover
            total += cover * kl_bernoulli(q, sig(a[i, j].item()))
    assert losses.distribution_matching_loss(z, a, R, known=known).item() == pytest.approx(total / 2, rel=1e-4)


def test_co_observational_gives_soft_pseudo_labels_to_observational_aus_only():
    expr, au, mask = labels(2, ["sadness", "neutral"], [{15: 0}, {}])
    targets, m = losses.co_annotation_au_targets(expr, mask, R, observational=True)
    assert [a for a in AUS if m[0, J[a]]] == [1, 4, 6, 17]  # 15 has a real label; unlisted stay unlabelled
    assert targets[0, J[4]].item() == 1.0  # prototypical: hard
    assert targets[0, J[1]].item() == pytest.approx(0.60) and targets[0, J[17]].item() == pytest.approx(0.67)
    assert not m[1].any()  # neutral still gets nothing
    plain, pm = losses.co_annotation_au_targets(expr, mask, R)
    assert [a for a in AUS if pm[0, J[a]]] == [4]


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
