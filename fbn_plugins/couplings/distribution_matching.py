"""`dm`: distribution matching. The AU head is matched to the AU distribution the expression head
implies through R (a KL divergence, zero where they agree); optionally also the reverse (expression head to
the AU-implied expressions)."""

from __future__ import annotations

from fbn_bench import CouplingSpec
from fbn_bench.coupling import losses
from fbn_bench.coupling.inputs import (
    COMMON_OPTIONS,
    STOP_GRADIENT_CHOICES,
    check_choice,
    check_flag,
    check_number,
    check_relatedness,
    coupling_inputs,
)

from . import unlisted as unlisted_cells

NAME = "dm"
# The term sums a binary cross-entropy over all 17 AUs, so at weight 1 it outweighs the AU loss (a mean
# over entries) about 17 to 1 and drowns the AU head: in the synthetic ablation dm at weight 1 lost to no
# coupling on every AU database, while 0.1 matched or beat it (docs/coupling.md, "Default weights").
DEFAULT_WEIGHT = 0.1
# 2: both directions became KL divergences (version 1 used cross-entropies, which pushed the prediction
# acting as the target towards certainty). Enters the run's configuration hash through its plugins.
VERSION = "2"


def build(
    relatedness,
    weight=DEFAULT_WEIGHT,
    reverse=False,
    unlabelled_only=False,
    temperature=1.0,
    eps=0.05,
    stop_gradient="none",
    unlisted="impossible",
    base_rate=losses.DEFAULT_BASE_RATE,
):
    R, known, unlisted, base_rate = unlisted_cells.resolve(
        NAME, check_relatedness(relatedness, NAME), unlisted, base_rate
    )
    return DistributionMatching(
        R,
        known,
        unlisted=unlisted,
        weight=check_number(NAME, "weight", weight, low=0.0),
        reverse=check_flag(NAME, "reverse", reverse),
        unlabelled_only=check_flag(NAME, "unlabelled_only", unlabelled_only),
        temperature=check_number(NAME, "temperature", temperature, positive=True),
        eps=check_number(NAME, "eps", eps, positive=True, high=0.5),
        stop_gradient=check_choice(NAME, "stop_gradient", stop_gradient, STOP_GRADIENT_CHOICES),
    )


class DistributionMatching:
    def __init__(self, R, known, *, unlisted, weight, reverse, unlabelled_only, temperature, eps, stop_gradient):
        self.R, self.known, self.unlisted = R, known, unlisted
        self.weight, self.reverse, self.unlabelled_only = weight, reverse, unlabelled_only
        self.temperature, self.eps, self.stop_gradient = temperature, eps, stop_gradient

    def __call__(self, outputs, batch):
        x = coupling_inputs(outputs, batch, self.R, self.stop_gradient)
        known = None if self.known is None else self.known.to(x.R.device)
        weights = ~x.au_mask if self.unlabelled_only else None
        # "" is the coupling's main term: it is logged under the bare name `dm`.
        forward = losses.distribution_matching_loss(x.expr_logits, x.au_logits, x.R, weights, known)
        terms = {"": self.weight * forward}
        if self.reverse:
            terms["reverse"] = self.weight * losses.reverse_distribution_matching_loss(
                x.expr_logits, x.au_logits, x.R, self.temperature, self.eps, known
            )
        return terms

    def __repr__(self):
        return (
            f"DistributionMatching(weight={self.weight}, reverse={self.reverse}, temperature={self.temperature}, "
            f"eps={self.eps}, unlabelled_only={self.unlabelled_only}, stop_gradient={self.stop_gradient!r}, "
            f"unlisted={self.unlisted!r})"
        )


SPEC = CouplingSpec(
    name=NAME,
    build=build,
    description="distribution matching: AU head vs. the AU distribution implied by the expression head",
    options={
        **COMMON_OPTIONS,
        "weight": f"multiplies every term of this coupling (default {DEFAULT_WEIGHT}: the term is a sum over 17 AUs)",
        "reverse": "also match the expression head to the expression distribution implied by the AU head "
        "(term dm/reverse; default false)",
        "unlabelled_only": "match only the AUs a sample has no label for (default false: all 17, every sample)",
        "temperature": "T of the reverse direction's softmax over expression log-likelihoods (default 1.0)",
        "eps": "P(AU | expression) is clipped to [eps, 1 - eps] in the reverse direction (default 0.05)",
        **unlisted_cells.OPTIONS,
    },
    version=VERSION,
)
