"""The task losses, masked per sample (and per AU). Each returns a scalar; a batch with no labels for a
task gives an exact zero that still carries a graph, so the step's arithmetic never special-cases it."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .metrics.formulas import concordance

# Bump when a change here changes what a run learns from the same settings: it enters every run's hash
# (identity.training_code), so seeds trained by different losses never pool as one configuration.
VERSION = 1


def _ccc_per_column(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """CCC along dim 0 with population statistics: `fbn_bench.metrics.formulas.concordance` (the formula
    scoring uses) on torch moments; the epsilon keeps a constant batch differentiable."""
    mx, my = x.mean(0), y.mean(0)
    cov = ((x - mx) * (y - my)).mean(0)
    return concordance(mx, my, x.var(0, unbiased=False), y.var(0, unbiased=False), cov, eps=1e-8)


def va_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """1 - mean of CCC(valence) and CCC(arousal) over the labelled samples (needs at least two)."""
    if int(mask.sum()) < 2:
        return pred.sum() * 0.0
    p, t = pred[mask].float(), target[mask].float()
    return 1.0 - _ccc_per_column(p, t).mean()


def expr_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the samples with an expression label (target >= 0)."""
    labelled = target >= 0
    if not labelled.any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits[labelled].float(), target[labelled])


def au_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy averaged over the annotated (sample, AU) entries only."""
    if not mask.any():
        return logits.sum() * 0.0
    per_entry = F.binary_cross_entropy_with_logits(logits.float(), target.float(), reduction="none")
    return (per_entry * mask).sum() / mask.sum()


def task_losses(
    outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], weights: dict[str, float] | None = None
) -> dict[str, torch.Tensor]:
    """{task: weighted loss} for the heads the model has."""
    weights = weights or {}
    terms: dict[str, torch.Tensor] = {}
    if "va" in outputs:
        terms["va"] = weights.get("va", 1.0) * va_loss(outputs["va"], batch["va"], batch["va_mask"])
    if "expr" in outputs:
        terms["expr"] = weights.get("expr", 1.0) * expr_loss(outputs["expr"], batch["expr"])
    if "au" in outputs:
        terms["au"] = weights.get("au", 1.0) * au_loss(outputs["au"], batch["au"], batch["au_mask"])
    return terms
