"""The coupling losses as pure functions on tensors (torchmetrics-functional style).

Shapes: B samples, E = 7 expressions, J = 17 AUs, all in canonical order. `expr_logits` (B, E),
`au_logits` (B, J); labels `expr` (B,) int64 with -1 for missing, `au` (B, J) float 0/1, `au_mask`
(B, J) bool (True where the AU is annotated for that sample); `R` (E, J) = P(AU | expression).
Every loss returns a scalar tensor. A loss with nothing to average over returns a zero that still
depends on the logits, so backward works and every parameter stays "used" in distributed runs.
docs/coupling.md states each formula and the choices behind it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values` over the True entries of `mask` (same shape); 0 when `mask` is all False."""
    return values.masked_fill(~mask, 0.0).sum() / mask.sum().clamp(min=1)


def bce_with_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Elementwise -[t log s + (1 - t) log(1 - s)], s = sigmoid(logits); differentiable in both arguments."""
    return F.softplus(logits) - targets * logits


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample -sum_e t(e) log softmax(logits)(e), (B,)."""
    return -(targets * F.log_softmax(logits, dim=-1)).sum(-1)


# ---- hard co-annotation ---------------------------------------------------------------------------


def prototypical_mask(R: torch.Tensor, threshold: float = 0.7) -> torch.Tensor:
    """(E, J) bool: AU j is prototypical for expression e when R[e, j] > threshold (Du et al.: > 70%)."""
    return R > threshold


def co_annotation_au_targets(expr, au_mask, R, threshold: float = 0.7):
    """Pseudo AU labels from expression labels: (targets (B, J) float, mask (B, J) bool).

    A sample labelled with expression e gets label 1 for each prototypical AU of e that it has no
    real label for; every other AU stays unlabelled (neutral has no prototypical AU: no pseudo-label).
    """
    proto = prototypical_mask(R, threshold)
    mask = proto[expr.clamp(min=0)] & (expr >= 0)[:, None] & ~au_mask
    return mask.to(R.dtype), mask


def co_annotation_expr_targets(expr, au, au_mask, R, threshold: float = 0.7):
    """Pseudo expression labels from AU labels: (targets (B,) int64, mask (B,) bool).

    Expression e matches a sample when every prototypical AU of e is annotated AND active for it (an
    unannotated AU cannot confirm anything). A sample without an expression label that matches exactly
    one expression gets it. Neutral has no prototypical AU and is never assigned.
    """
    proto = prototypical_mask(R, threshold)  # (E, J)
    active = au_mask & (au > 0.5)  # (B, J)
    some_missing = (proto[None] & ~active[:, None]).any(-1)  # (B, E)
    matches = ~some_missing & proto.any(-1)[None]
    mask = (matches.sum(-1) == 1) & (expr < 0)
    return matches.to(torch.int64).argmax(-1), mask


def co_annotation_au_loss(au_logits, expr, au_mask, R, threshold: float = 0.7) -> torch.Tensor:
    """Mean BCE of the AU head over the pseudo-labelled (sample, AU) pairs."""
    targets, mask = co_annotation_au_targets(expr, au_mask, R, threshold)
    return masked_mean(bce_with_logits(au_logits, targets), mask)


def co_annotation_expr_loss(expr_logits, expr, au, au_mask, R, threshold: float = 0.7) -> torch.Tensor:
    """Mean cross-entropy of the expression head over the samples given a pseudo expression."""
    targets, mask = co_annotation_expr_targets(expr, au, au_mask, R, threshold)
    return masked_mean(F.cross_entropy(expr_logits, targets, reduction="none"), mask)


# ---- soft co-annotation ---------------------------------------------------------------------------


def soft_au_targets(expr, au_mask, R):
    """Soft AU targets R[e, j] for a sample labelled e, on the AUs it has no real label for.

    Returns (targets (B, J), mask (B, J) bool). Neutral's row is all zeros: a neutral image is taught
    that its unlabelled AUs are off.
    """
    mask = (expr >= 0)[:, None] & ~au_mask
    return R[expr.clamp(min=0)], mask


def au_log_likelihood(au, weights, R, eps: float = 0.05) -> torch.Tensor:
    """(B, E): sum_j w_j [a_j log r_ej + (1 - a_j) log(1 - r_ej)], r = R clipped to [eps, 1 - eps].

    `au` may be 0/1 labels or probabilities (then it is the expected log-likelihood); `weights` (B, J)
    selects the AUs that count (float 0/1 or bool).
    """
    r = R.clamp(eps, 1.0 - eps)
    w = weights.to(r.dtype)
    return (au * w) @ torch.log(r).T + ((1.0 - au) * w) @ torch.log1p(-r).T


def soft_expr_targets(expr, au, au_mask, R, temperature: float = 1.0, eps: float = 0.05):
    """Soft expression targets q(e) ~ exp(log P(annotated AUs | e) / T) for samples without an
    expression label and with at least one annotated AU. Returns (targets (B, E), mask (B,) bool)."""
    targets = torch.softmax(au_log_likelihood(au, au_mask, R, eps) / temperature, dim=-1)
    mask = au_mask.any(-1) & (expr < 0)
    return targets, mask


def soft_co_annotation_au_loss(au_logits, expr, au_mask, R) -> torch.Tensor:
    """Mean BCE against soft targets R[e, j] over the (sample, AU) pairs of `soft_au_targets`."""
    targets, mask = soft_au_targets(expr, au_mask, R)
    return masked_mean(bce_with_logits(au_logits, targets), mask)


def soft_co_annotation_expr_loss(
    expr_logits, expr, au, au_mask, R, temperature: float = 1.0, eps: float = 0.05
) -> torch.Tensor:
    """Mean soft cross-entropy over the samples of `soft_expr_targets`."""
    targets, mask = soft_expr_targets(expr, au, au_mask, R, temperature, eps)
    return masked_mean(soft_cross_entropy(expr_logits, targets), mask)


# ---- distribution matching -------------------------------------------------------------------------


def implied_au_probabilities(expr_logits, R) -> torch.Tensor:
    """q_j(x) = sum_e p(e | x) R[e, j], (B, J): the AU distribution the expression head implies."""
    return torch.softmax(expr_logits, dim=-1) @ R


def distribution_matching_loss(expr_logits, au_logits, R, au_weights=None) -> torch.Tensor:
    """mean_i sum_j BCE(q_j(x_i) as target, sigmoid(au_logits)_ij); gradients reach both heads.

    `au_weights` (B, J), optional: which (sample, AU) pairs count (default all 17 for every sample).
    """
    terms = bce_with_logits(au_logits, implied_au_probabilities(expr_logits, R))
    if au_weights is not None:
        terms = terms * au_weights.to(terms.dtype)
    return terms.sum(-1).mean()


def implied_expr_probabilities(au_logits, R, temperature: float = 1.0, eps: float = 0.05) -> torch.Tensor:
    """(B, E): softmax_e(E_{a ~ sigmoid(au_logits)}[log P(a | e)] / T), the expression distribution
    the AU head implies (each AU Bernoulli(R[e, j]), as in soft co-annotation)."""
    s = torch.sigmoid(au_logits)
    ll = au_log_likelihood(s, torch.ones_like(s), R, eps)
    return torch.softmax(ll / temperature, dim=-1)


def reverse_distribution_matching_loss(
    expr_logits, au_logits, R, temperature: float = 1.0, eps: float = 0.05
) -> torch.Tensor:
    """mean_i of the soft cross-entropy of the expression head against `implied_expr_probabilities`."""
    targets = implied_expr_probabilities(au_logits, R, temperature, eps)
    return soft_cross_entropy(expr_logits, targets).mean()
