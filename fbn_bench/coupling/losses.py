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

from ..losses import masked_mean


def bce_with_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Elementwise -[t log s + (1 - t) log(1 - s)], s = sigmoid(logits); differentiable in both arguments."""
    return F.softplus(logits) - targets * logits


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample -sum_e t(e) log softmax(logits)(e), (B,)."""
    return -(targets * F.log_softmax(logits, dim=-1)).sum(-1)


# What an unlisted (zero) cell of the relatedness table means; docs/coupling.md, "Unlisted cells".
UNLISTED_CHOICES = ("impossible", "base_rate", "masked")
DEFAULT_BASE_RATE = 0.05
# q log q is evaluated on q clipped this far from 0 and 1, where its gradient stays finite.
_ENTROPY_CLIP = 1e-6


def resolve_unlisted(R, unlisted: str = "impossible", base_rate: float = DEFAULT_BASE_RATE):
    """(R', known): the table with its unlisted cells read as `unlisted` says, and (E, J) bool `known`.

    A cell is unlisted when R[e, j] == 0 for an expression other than neutral (neutral's all-zero row is
    the definition of neutral, not a gap). `impossible`: P = 0 (the table as written); `base_rate`: P =
    `base_rate`; `masked`: unknown, `known` is False there and the losses leave the cell out.
    """
    unlisted_cells = R == 0
    unlisted_cells[0] = False  # neutral, index 0 in the canonical order
    known = torch.ones_like(R, dtype=torch.bool)
    if unlisted == "base_rate":
        R = torch.where(unlisted_cells, torch.full_like(R, base_rate), R)
    elif unlisted == "masked":
        known = ~unlisted_cells
    elif unlisted != "impossible":
        raise ValueError(f"unlisted must be one of {UNLISTED_CHOICES}, got {unlisted!r}")
    return R, known


def bernoulli_kl_with_logits(q: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Elementwise KL(Bernoulli(q) || Bernoulli(sigmoid(logits))) = BCE(q, logits) - H(q).

    Its gradient in `logits` is sigmoid(logits) - q, as BCE's; in `q` it is logit(q) - logits, zero where
    the two agree (BCE's is -logits: it pushes q towards 0 or 1 whatever the other side says).
    """
    inside = (q > _ENTROPY_CLIP) & (q < 1.0 - _ENTROPY_CLIP)
    safe = q.clamp(_ENTROPY_CLIP, 1.0 - _ENTROPY_CLIP)
    # -H(q); at q in {0, 1} it is 0, and the where keeps the gradient finite there.
    negative_entropy = torch.where(inside, safe * torch.log(safe) + (1.0 - safe) * torch.log1p(-safe), 0.0)
    return bce_with_logits(logits, q) + negative_entropy


def categorical_kl_with_logits(log_targets: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Per-sample KL(r || softmax(logits)) from log r, (B,): soft cross-entropy minus H(r). Zero gradient
    into both sides where they agree."""
    return (log_targets.exp() * (log_targets - F.log_softmax(logits, dim=-1))).sum(-1)


# ---- hard co-annotation ---------------------------------------------------------------------------


def prototypical_mask(R: torch.Tensor, threshold: float = 0.7) -> torch.Tensor:
    """(E, J) bool: AU j is prototypical for expression e when R[e, j] > threshold (Du et al.: > 70%)."""
    return R > threshold


def co_annotation_au_targets(expr, au_mask, R, threshold: float = 0.7, observational: bool = False):
    """Pseudo AU labels from expression labels: (targets (B, J) float, mask (B, J) bool).

    A sample labelled with expression e gets label 1 for each prototypical AU of e that it has no
    real label for; every other AU stays unlabelled (neutral has no prototypical AU: no pseudo-label).
    With `observational`, each observational AU of e (0 < R[e, j] <= threshold) it has no label for gets
    the soft target R[e, j] as well; unlisted (zero) cells still stay unlabelled.
    """
    proto = prototypical_mask(R, threshold)
    row = expr.clamp(min=0)
    labelled = (expr >= 0)[:, None] & ~au_mask
    if not observational:
        mask = proto[row] & labelled
        return mask.to(R.dtype), mask
    mask = (R > 0)[row] & labelled
    return torch.where(proto[row], torch.ones_like(R[row]), R[row]), mask


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


def co_annotation_au_loss(
    au_logits, expr, au_mask, R, threshold: float = 0.7, observational: bool = False
) -> torch.Tensor:
    """Mean BCE of the AU head over the pseudo-labelled (sample, AU) pairs."""
    targets, mask = co_annotation_au_targets(expr, au_mask, R, threshold, observational)
    return masked_mean(bce_with_logits(au_logits, targets), mask)


def co_annotation_expr_loss(expr_logits, expr, au, au_mask, R, threshold: float = 0.7) -> torch.Tensor:
    """Mean cross-entropy of the expression head over the samples given a pseudo expression."""
    targets, mask = co_annotation_expr_targets(expr, au, au_mask, R, threshold)
    return masked_mean(F.cross_entropy(expr_logits, targets, reduction="none"), mask)


# ---- soft co-annotation ---------------------------------------------------------------------------


def soft_au_targets(expr, au_mask, R, known=None):
    """Soft AU targets R[e, j] for a sample labelled e, on the AUs it has no real label for.

    Returns (targets (B, J), mask (B, J) bool). Neutral's row is all zeros: a neutral image is taught
    that its unlabelled AUs are off. `known` (E, J) bool, optional: cells left out (`resolve_unlisted`).
    """
    mask = (expr >= 0)[:, None] & ~au_mask
    if known is not None:
        mask = mask & known[expr.clamp(min=0)]
    return R[expr.clamp(min=0)], mask


def au_log_likelihood(au, weights, R, eps: float = 0.05, known=None) -> torch.Tensor:
    """(B, E): sum_j w_j [a_j log r_ej + (1 - a_j) log(1 - r_ej)], r = R clipped to [eps, 1 - eps].

    `au` may be 0/1 labels or probabilities (then it is the expected log-likelihood); `weights` (B, J)
    selects the AUs that count (float 0/1 or bool). `known` (E, J) bool, optional: a cell outside it
    contributes nothing (the AU says nothing for or against that expression).
    """
    r = R.clamp(eps, 1.0 - eps)
    w = weights.to(r.dtype)
    log_on, log_off = torch.log(r), torch.log1p(-r)
    if known is not None:
        log_on, log_off = log_on * known, log_off * known
    return (au * w) @ log_on.T + ((1.0 - au) * w) @ log_off.T


def soft_expr_targets(expr, au, au_mask, R, temperature: float = 1.0, eps: float = 0.05, known=None):
    """Soft expression targets q(e) ~ exp(log P(annotated AUs | e) / T) for samples without an
    expression label and with at least one annotated AU. Returns (targets (B, E), mask (B,) bool)."""
    targets = torch.softmax(au_log_likelihood(au, au_mask, R, eps, known) / temperature, dim=-1)
    mask = au_mask.any(-1) & (expr < 0)
    return targets, mask


def soft_co_annotation_au_loss(au_logits, expr, au_mask, R, known=None) -> torch.Tensor:
    """Mean BCE against soft targets R[e, j] over the (sample, AU) pairs of `soft_au_targets`."""
    targets, mask = soft_au_targets(expr, au_mask, R, known)
    return masked_mean(bce_with_logits(au_logits, targets), mask)


def soft_co_annotation_expr_loss(
    expr_logits, expr, au, au_mask, R, temperature: float = 1.0, eps: float = 0.05, known=None
) -> torch.Tensor:
    """Mean soft cross-entropy over the samples of `soft_expr_targets` (their targets come from labels,
    so no gradient flows into them and the entropy of the target is a constant)."""
    targets, mask = soft_expr_targets(expr, au, au_mask, R, temperature, eps, known)
    return masked_mean(soft_cross_entropy(expr_logits, targets), mask)


# ---- distribution matching -------------------------------------------------------------------------
# Both directions are KL divergences, not cross-entropies: the side that acts as the target is itself a
# prediction, and a cross-entropy H(q) + KL(q || s) would reward it for being certain (the global minimum
# of the old BCE form was every face neutral with every AU off). docs/coupling.md, "dm".


def implied_au_probabilities(expr_logits, R, known=None):
    """q_j(x) = sum_e p(e | x) R[e, j], (B, J): the AU distribution the expression head implies.

    With `known` (E, J) bool, returns (q, coverage): q averages over the expressions whose cell is known,
    sum_e p_e K_ej R_ej / sum_e p_e K_ej, and coverage = sum_e p_e K_ej (detached) is how much of the
    expression belief the table speaks for at that AU."""
    p = torch.softmax(expr_logits, dim=-1)
    if known is None:
        return p @ R
    k = known.to(p.dtype)
    coverage = p @ k
    return (p @ (R * k)) / coverage.clamp(min=1e-12), coverage.detach()


def distribution_matching_loss(expr_logits, au_logits, R, au_weights=None, known=None) -> torch.Tensor:
    """mean_i sum_j KL(Bernoulli(q_j(x_i)) || Bernoulli(sigmoid(au_logits)_ij)); gradients reach both heads
    and vanish in both where the heads agree.

    `au_weights` (B, J), optional: which (sample, AU) pairs count (default all 17 for every sample).
    `known` (E, J) bool, optional: cells of R left out; each pair is then weighted by its coverage.
    """
    if known is None:
        q, weights = implied_au_probabilities(expr_logits, R), None
    else:
        q, weights = implied_au_probabilities(expr_logits, R, known)
    terms = bernoulli_kl_with_logits(q, au_logits)
    if au_weights is not None:
        weights = au_weights.to(terms.dtype) if weights is None else weights * au_weights.to(terms.dtype)
    if weights is not None:
        terms = terms * weights
    return terms.sum(-1).mean()


def implied_expr_log_probabilities(
    au_logits, R, temperature: float = 1.0, eps: float = 0.05, known=None
) -> torch.Tensor:
    """(B, E): log softmax_e(E_{a ~ sigmoid(au_logits)}[log P(a | e)] / T), the expression distribution
    the AU head implies (each AU Bernoulli(R[e, j]), as in soft co-annotation)."""
    s = torch.sigmoid(au_logits)
    ll = au_log_likelihood(s, torch.ones_like(s), R, eps, known)
    return F.log_softmax(ll / temperature, dim=-1)


def implied_expr_probabilities(au_logits, R, temperature: float = 1.0, eps: float = 0.05, known=None):
    """`implied_expr_log_probabilities`, exponentiated."""
    return implied_expr_log_probabilities(au_logits, R, temperature, eps, known).exp()


def reverse_distribution_matching_loss(
    expr_logits, au_logits, R, temperature: float = 1.0, eps: float = 0.05, known=None
) -> torch.Tensor:
    """mean_i KL(r_i || p(. | x_i)), r = `implied_expr_probabilities`: zero gradient into either head where
    the expression head already equals the AU-implied distribution."""
    log_r = implied_expr_log_probabilities(au_logits, R, temperature, eps, known)
    return categorical_kl_with_logits(log_r, expr_logits).mean()
