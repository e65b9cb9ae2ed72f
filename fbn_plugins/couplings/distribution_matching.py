"""`dm`: distribution matching. The AU head is matched to the AU distribution the expression head
implies through R (a KL divergence, zero where they agree); optionally also the reverse (expression head to
the AU-implied expressions)."""

from __future__ import annotations

from fbn_bench import CouplingSpec, Option
from fbn_bench.coupling import losses
from fbn_bench.coupling.inputs import check_relatedness, common_options, coupling_inputs

from . import unlisted as unlisted_cells

NAME = "dm"
# Chosen on val by the coupling-tuning sweep (docs/coupling.md, "Default weights"). The term sums over all
# 17 AUs, so at weight 1 it outweighs the AU loss (a mean over entries) and drowns the AU head.
DEFAULT_WEIGHT = 0.3
# 2: both directions became KL divergences (version 1 used cross-entropies, which pushed the prediction
# acting as the target towards certainty). Enters the run's configuration hash through its plugins.
VERSION = "2"


def build(relatedness, *, weight, reverse, unlabelled_only, temperature, eps, stop_gradient, unlisted, base_rate):
    """The core passes every option of SPEC, checked against its schema."""
    R, known, unlisted, base_rate = unlisted_cells.resolve(
        NAME, check_relatedness(relatedness, NAME), unlisted, base_rate
    )
    return DistributionMatching(
        R,
        known,
        unlisted=unlisted,
        weight=weight,
        reverse=reverse,
        unlabelled_only=unlabelled_only,
        temperature=temperature,
        eps=eps,
        stop_gradient=stop_gradient,
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
    options=(
        *common_options(DEFAULT_WEIGHT, "multiplies every term of this coupling (the term is a sum over 17 AUs)"),
        Option(
            "reverse",
            bool,
            False,
            help="also match the expression head to the expression distribution implied by the AU head "
            "(term dm/reverse)",
        ),
        Option("unlabelled_only", bool, False, help="match only the AUs a sample has no label for (else all 17)"),
        Option("temperature", float, 1.0, above=0, help="T of the reverse direction's softmax over log-likelihoods"),
        Option("eps", float, 0.05, above=0, high=0.5, help="P(AU | expression) is clipped to [eps, 1 - eps] (reverse)"),
        *unlisted_cells.OPTIONS,
    ),
    version=VERSION,
)
