"""`co`: hard co-annotation. Expression labels give pseudo AU labels (the prototypical AUs of the
expression), AU labels give a pseudo expression label (when they match exactly one expression)."""

from __future__ import annotations

from fbn_bench import CouplingSpec, FbnError, Option
from fbn_bench.coupling import losses
from fbn_bench.coupling.inputs import check_relatedness, common_options, coupling_inputs

NAME = "co"
DEFAULT_WEIGHT = 0.1  # chosen on val by the coupling-tuning sweep (docs/coupling.md, "Default weights")


def build(relatedness, *, weight, threshold, stop_gradient, observational):
    """The core passes every option of SPEC, checked against its schema."""
    R = check_relatedness(relatedness, NAME)
    if not losses.prototypical_mask(R, threshold).any():  # e.g. a flat empirical table
        raise FbnError(
            f"coupling {NAME!r}: no relatedness value exceeds threshold={threshold}, so no AU is "
            f"prototypical and the coupling would do nothing; lower the threshold (co:threshold=0.5)"
        )
    return CoAnnotation(R, weight, threshold, stop_gradient, observational)


class CoAnnotation:
    def __init__(self, R, weight, threshold, stop_gradient, observational):
        self.R, self.weight, self.threshold, self.stop_gradient = R, weight, threshold, stop_gradient
        self.observational = observational

    def __call__(self, outputs, batch):
        x = coupling_inputs(outputs, batch, self.R, self.stop_gradient)
        au = losses.co_annotation_au_loss(x.au_logits, x.expr, x.au_mask, x.R, self.threshold, self.observational)
        return {
            "au": self.weight * au,
            "expr": self.weight
            * losses.co_annotation_expr_loss(x.expr_logits, x.expr, x.au, x.au_mask, x.R, self.threshold),
        }

    def __repr__(self):
        return (
            f"CoAnnotation(weight={self.weight}, threshold={self.threshold}, stop_gradient={self.stop_gradient!r}, "
            f"observational={self.observational})"
        )


SPEC = CouplingSpec(
    name=NAME,
    build=build,
    description="hard co-annotation: prototypical AUs as pseudo AU labels, AU patterns as pseudo expressions",
    options=(
        *common_options(DEFAULT_WEIGHT),
        Option(
            "threshold", float, 0.7, low=0.0, high=1.0, help="an AU is prototypical when P(AU | expression) > threshold"
        ),
        Option(
            "observational",
            bool,
            False,
            help="also give each observational AU (0 < P(AU | expression) <= threshold) its P as a soft "
            "pseudo-label (false: prototypical AUs only)",
        ),
    ),
)
