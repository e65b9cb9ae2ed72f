"""The task losses, masked per sample (and per AU). Each returns a scalar; a batch with no labels for a
task gives an exact zero that still carries a graph, so the step's arithmetic never special-cases it.

Fixed shapes throughout (weights, never boolean indexing or a branch on a count): nothing here makes the
host wait for the device, so a GPU step is queued while the previous one computes (tests/test_losses.py
traces each loss with fake tensors, which fails on any data-dependent shape or branch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .metrics.formulas import concordance
from .tasks import EXTRA_HEAD, MAX_INTENSITY

# Bump when a change here changes what a run learns from the same settings: it enters every run's hash
# (identity.training_code), so seeds trained by different losses never pool as one configuration.
VERSION = 2  # 2: masked weights instead of boolean indexing (same values, other rounding)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values` over the True entries of `mask` (same shape); 0 when `mask` is all False."""
    return values.masked_fill(~mask, 0.0).sum() / mask.sum().clamp(min=1)


def va_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """1 - mean of CCC(valence) and CCC(arousal) over the labelled samples (needs at least two).

    The moments are weighted sums over the whole batch, not means over `pred[mask]`: a boolean index and
    an `if` on the count would each make the host wait for the device on every step."""
    w = mask.to(torch.float32)[:, None]
    n = w.sum()
    p, t = pred.float(), target.float()
    mean = lambda x: x.sum(0) / n.clamp(min=1)  # noqa: E731 - over the labelled rows (w zeroes the others)
    mp, mt = mean(w * p), mean(w * t)
    dp, dt = w * (p - mp), w * (t - mt)
    vp, vt, cov = mean(dp * dp), mean(dt * dt), mean(dp * dt)
    # The epsilon keeps a constant batch differentiable; population moments, as scoring uses.
    ccc = concordance(mp, mt, vp, vt, cov, eps=1e-8)
    return torch.where(n >= 2, 1.0 - ccc.mean(), p.sum() * 0.0)


# A logit this low has softmax weight 0 in float32 (and, unlike -inf, no NaN in any gradient).
_EXCLUDED = -1e9


def expr_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    extra: torch.Tensor | None = None,
    classes: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy over the samples with an expression label (target >= 0).

    With `extra` (B, 2), the logits of contempt and other (a run on an 8-class protocol), one softmax over
    all 9, each sample's restricted to the classes its database labels (`classes`, the batch's
    `expr_classes` (B, 9); absent: the 7): a 7-class database's face is never pushed away from classes its
    annotators could not choose. Without `extra` the values are those of every earlier version."""
    if extra is not None:
        logits = torch.cat([logits.float(), extra.float()], dim=1)
        if classes is None:
            classes = torch.zeros(logits.shape, dtype=torch.bool, device=logits.device)
            classes[:, : logits.shape[1] - extra.shape[1]] = True
        logits = logits.masked_fill(~classes.to(logits.device, torch.bool), _EXCLUDED)
    per_sample = F.cross_entropy(logits.float(), target.clamp(min=0), reduction="none")
    return masked_mean(per_sample, target >= 0)


def au_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy averaged over the annotated (sample, AU) entries only."""
    per_entry = F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none")
    return masked_mean(per_entry, mask)


def au_int_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Squared error of intensity / 5 (0-1) averaged over the labelled (sample, AU) entries: the opt-in `au_int`
    task. On the 0-1 scale so its size is near the other losses' whatever the intensities."""
    per_entry = (pred.float() - target.float() / MAX_INTENSITY) ** 2
    return masked_mean(per_entry, mask)


def task_losses(
    outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], weights: dict[str, float] | None = None
) -> dict[str, torch.Tensor]:
    """{task: weighted loss} for the heads the model has."""
    weights = weights or {}
    terms: dict[str, torch.Tensor] = {}
    if "va" in outputs:
        terms["va"] = weights.get("va", 1.0) * va_loss(outputs["va"], batch["va"], batch["va_mask"])
    if "expr" in outputs:
        terms["expr"] = weights.get("expr", 1.0) * expr_loss(
            outputs["expr"], batch["expr"], outputs.get(EXTRA_HEAD), batch.get("expr_classes")
        )
    if "au" in outputs:
        terms["au"] = weights.get("au", 1.0) * au_loss(outputs["au"], batch["au"], batch["au_mask"])
    if "au_int" in outputs:
        terms["au_int"] = weights.get("au_int", 1.0) * au_int_loss(
            outputs["au_int"], batch["au_int"], batch["au_int_mask"]
        )
    return terms
