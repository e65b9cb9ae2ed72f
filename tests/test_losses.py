"""Task losses against hand-computed cases, including masks and empty tasks."""

import math

import numpy as np
import pytest
import torch

from fbn_bench import metrics
from fbn_bench.losses import au_loss, expr_loss, task_losses, va_loss


def test_va_loss_is_one_minus_mean_ccc_over_labelled_samples():
    pred = torch.tensor([[0.0, 0.5], [1.0, 0.0], [0.3, 0.3], [9.0, 9.0]])
    target = torch.tensor([[1.0, 0.5], [2.0, -0.5], [0.1, 0.2], [0.0, 0.0]])
    mask = torch.tensor([True, True, True, False])  # the last sample is unlabelled: its wild values must not count
    expected = 1 - (metrics.ccc([1, 2, 0.1], [0, 1, 0.3]) + metrics.ccc([0.5, -0.5, 0.2], [0.5, 0, 0.3])) / 2
    assert va_loss(pred, target, mask).item() == pytest.approx(expected, abs=1e-5)


def test_va_loss_needs_two_labelled_samples_and_stays_differentiable():
    pred = torch.zeros(3, 2, requires_grad=True)
    loss = va_loss(pred, torch.zeros(3, 2), torch.tensor([True, False, False]))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros(3, 2))


def test_expr_loss_hand_computed():
    logits = torch.tensor([[2.0, 0.0, 0, 0, 0, 0, 0], [0.0] * 7, [5.0] * 7])
    target = torch.tensor([0, 3, -1])
    # sample 0: -log(e^2 / (e^2 + 6)); sample 1: -log(1/7); sample 2 unlabelled
    expected = (-math.log(math.exp(2) / (math.exp(2) + 6)) + math.log(7)) / 2
    assert expr_loss(logits, target).item() == pytest.approx(expected, abs=1e-6)


def test_au_loss_averages_over_annotated_entries_only():
    logits = torch.zeros(2, 17)
    logits[0, 0] = 2.0
    target = torch.zeros(2, 17)
    target[0, 0] = 1.0
    mask = torch.zeros(2, 17, dtype=torch.bool)
    mask[0, 0] = mask[0, 1] = mask[1, 0] = True
    # entries: (x=2, y=1): log(1+e^-2); (0, 0): log 2; (0, 0): log 2
    expected = (math.log(1 + math.exp(-2)) + 2 * math.log(2)) / 3
    assert au_loss(logits, target, mask).item() == pytest.approx(expected, abs=1e-6)
    assert au_loss(logits, target, torch.zeros_like(mask)).item() == 0.0


def test_task_losses_only_for_present_heads_and_weighted():
    batch = {
        "va": torch.zeros(4, 2),
        "va_mask": torch.ones(4, dtype=torch.bool),
        "expr": torch.tensor([0, 1, 2, 3]),
        "au": torch.zeros(4, 17),
        "au_mask": torch.ones(4, 17, dtype=torch.bool),
    }
    outputs = {"expr": torch.zeros(4, 7)}
    terms = task_losses(outputs, batch, {"expr": 0.5})
    assert set(terms) == {"expr"}
    assert terms["expr"].item() == pytest.approx(0.5 * np.log(7), abs=1e-6)


def _boolean_index_reference(outputs, batch):
    """The losses as first written, with boolean indexing and branches on counts (an independent formulation
    of the same definitions): the fixed-shape versions must give the same values."""
    mask = batch["va_mask"]
    if int(mask.sum()) < 2:
        va = torch.tensor(0.0)
    else:
        p, t = outputs["va"][mask].double(), batch["va"][mask].double()
        va = (
            1
            - (
                2
                * ((p - p.mean(0)) * (t - t.mean(0))).mean(0)
                / (p.var(0, unbiased=False) + t.var(0, unbiased=False) + (p.mean(0) - t.mean(0)) ** 2 + 1e-8)
            ).mean()
        )
    labelled = batch["expr"] >= 0
    expr = (
        torch.nn.functional.cross_entropy(outputs["expr"][labelled].double(), batch["expr"][labelled])
        if labelled.any()
        else torch.tensor(0.0)
    )
    au_mask = batch["au_mask"]
    per = torch.nn.functional.binary_cross_entropy_with_logits(
        outputs["au"].double(), batch["au"].double(), reduction="none"
    )
    au = per[au_mask].mean() if au_mask.any() else torch.tensor(0.0)
    return {"va": float(va), "expr": float(expr), "au": float(au)}


@pytest.mark.parametrize("labelled_fraction", [0.0, 0.02, 0.3, 1.0])
def test_fixed_shape_losses_equal_the_boolean_index_formulation(labelled_fraction):
    g = torch.Generator().manual_seed(int(labelled_fraction * 100))
    b = 50
    outputs = {
        "va": torch.tanh(torch.randn(b, 2, generator=g)),
        "expr": torch.randn(b, 7, generator=g),
        "au": torch.randn(b, 17, generator=g),
    }
    keep = torch.rand(b, generator=g) < labelled_fraction
    if labelled_fraction == 0.02:  # exactly one labelled sample: VA needs two, expression and AU use it
        keep = torch.zeros(b, dtype=torch.bool)
        keep[7] = True
    batch = {
        "va": torch.where(keep[:, None], torch.rand(b, 2, generator=g) * 2 - 1, 0.0),
        "va_mask": keep,
        "expr": torch.where(keep, torch.randint(0, 7, (b,), generator=g), -1),
        "au": torch.where(keep[:, None], (torch.rand(b, 17, generator=g) < 0.3).float(), 0.0),
        "au_mask": keep[:, None] & (torch.rand(b, 17, generator=g) < 0.8),
    }
    got = {k: float(v) for k, v in task_losses(outputs, batch).items()}
    want = _boolean_index_reference(outputs, batch)
    assert got == pytest.approx(want, abs=2e-6)


def _data_dependent_ops(fn, *args) -> set[str]:
    """The operations of `fn`, traced with fake tensors (no values), whose output shape or value needs the
    data: each makes the host wait for the device. A branch on a value fails the trace itself."""
    from torch.fx.experimental.proxy_tensor import make_fx

    graph = make_fx(fn, tracing_mode="fake")(*args)
    ops = {str(node.target) for node in graph.graph.nodes if node.op == "call_function"}
    return ops & {"aten.nonzero.default", "aten.index.Tensor", "aten._local_scalar_dense.default"}


def test_losses_have_no_data_dependent_shapes_or_branches():
    b = 8
    assert not _data_dependent_ops(va_loss, torch.zeros(b, 2), torch.zeros(b, 2), torch.ones(b, dtype=torch.bool))
    assert not _data_dependent_ops(lambda lo, t: expr_loss(lo, t), torch.zeros(b, 7), torch.zeros(b, dtype=torch.int64))
    nine = torch.ones(b, 9, dtype=torch.bool)
    assert not _data_dependent_ops(
        lambda lo, t, e, c: expr_loss(lo, t, e, c),
        torch.zeros(b, 7),
        torch.zeros(b, dtype=torch.int64),
        torch.zeros(b, 2),
        nine,
    )
    assert not _data_dependent_ops(au_loss, torch.zeros(b, 17), torch.zeros(b, 17), torch.ones(b, 17, dtype=torch.bool))


def test_the_trace_catches_a_boolean_index():
    """The check above is not vacuous: the boolean-index formulation fails it."""

    def indexed(logits, target):
        labelled = target >= 0
        return torch.nn.functional.cross_entropy(logits[labelled], target[labelled])

    assert _data_dependent_ops(indexed, torch.zeros(8, 7), torch.zeros(8, dtype=torch.int64))


def test_an_eight_class_loss_is_the_cross_entropy_over_each_samples_own_classes():
    """Hand-computed: sample 0 (an 8-class database with contempt) takes the softmax over its 8 logits, sample 1
    (a 7-class one) over the 7 only, so the extra logits cannot pull its loss; sample 2 is unlabelled."""
    g = torch.Generator().manual_seed(3)
    logits, extra = torch.randn(3, 7, generator=g), torch.randn(3, 2, generator=g)
    target = torch.tensor([7, 2, -1])  # contempt, fear, none
    classes = torch.zeros(3, 9, dtype=torch.bool)
    classes[:, :7] = True
    classes[0, 7] = True  # contempt for sample 0 only
    all_nine = torch.cat([logits, extra], 1)
    want0 = -(all_nine[0, 7] - torch.logsumexp(all_nine[0, :8], 0))
    want1 = -(logits[1, 2] - torch.logsumexp(logits[1], 0))
    got = expr_loss(logits, target, extra, classes)
    assert float(got) == pytest.approx(float((want0 + want1) / 2), abs=1e-6)
    # Without a mask the extra head's logits stay out: the 7-class cross-entropy, as without the head.
    seven = torch.tensor([1, 2, -1])
    assert float(expr_loss(logits, seven, extra)) == pytest.approx(float(expr_loss(logits, seven)), abs=1e-6)


def test_the_extra_logits_of_a_seven_class_sample_get_no_gradient():
    logits, extra = torch.zeros(1, 7, requires_grad=True), torch.zeros(1, 2, requires_grad=True)
    classes = torch.zeros(1, 9, dtype=torch.bool)
    classes[:, :7] = True
    expr_loss(logits, torch.tensor([3]), extra, classes).backward()
    assert torch.all(extra.grad == 0) and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
