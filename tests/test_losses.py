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
