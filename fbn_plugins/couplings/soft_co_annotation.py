"""`soft`: soft co-annotation. Expression labels give soft AU targets R[e, j]; AU labels give a soft
expression target from the likelihood of the annotated AUs under each expression."""

from __future__ import annotations

from fbn_bench import CouplingSpec, Option
from fbn_bench.coupling import losses
from fbn_bench.coupling.inputs import check_relatedness, common_options, coupling_inputs

from . import unlisted as unlisted_cells

NAME = "soft"
# Chosen on val by the coupling-tuning sweep (docs/coupling.md, "Default weights").
DEFAULT_WEIGHT, DEFAULT_TEMPERATURE = 0.3, 2.0


def build(relatedness, *, weight, temperature, eps, stop_gradient, unlisted, base_rate):
    """The core passes every option of SPEC, checked against its schema."""
    R, known, unlisted, base_rate = unlisted_cells.resolve(
        NAME, check_relatedness(relatedness, NAME), unlisted, base_rate
    )
    return SoftCoAnnotation(
        R,
        known,
        weight=weight,
        temperature=temperature,
        eps=eps,
        stop_gradient=stop_gradient,
        unlisted=unlisted,
    )


class SoftCoAnnotation:
    def __init__(self, R, known, *, weight, temperature, eps, stop_gradient, unlisted):
        self.R, self.known, self.weight, self.temperature, self.eps = R, known, weight, temperature, eps
        self.stop_gradient, self.unlisted = stop_gradient, unlisted

    def __call__(self, outputs, batch):
        x = coupling_inputs(outputs, batch, self.R, self.stop_gradient)
        known = None if self.known is None else self.known.to(x.R.device)
        au = losses.soft_co_annotation_au_loss(x.au_logits, x.expr, x.au_mask, x.R, known)
        expr = losses.soft_co_annotation_expr_loss(
            x.expr_logits, x.expr, x.au, x.au_mask, x.R, self.temperature, self.eps, known
        )
        return {"au": self.weight * au, "expr": self.weight * expr}

    def __repr__(self):
        return (
            f"SoftCoAnnotation(weight={self.weight}, temperature={self.temperature}, eps={self.eps}, "
            f"stop_gradient={self.stop_gradient!r}, unlisted={self.unlisted!r})"
        )


SPEC = CouplingSpec(
    name=NAME,
    build=build,
    description="soft co-annotation: R[e, :] as soft AU targets, AU likelihoods as soft expression targets",
    options=(
        *common_options(DEFAULT_WEIGHT),
        Option(
            "temperature",
            float,
            DEFAULT_TEMPERATURE,
            above=0,
            help="T in q(e) ~ exp(log P(AUs | e) / T); larger is softer",
        ),
        Option("eps", float, 0.05, above=0, high=0.5, help="P(AU | expression) is clipped to [eps, 1 - eps]"),
        *unlisted_cells.OPTIONS,
    ),
)
