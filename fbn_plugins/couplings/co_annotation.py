"""`co`: hard co-annotation. Expression labels give pseudo AU labels (the prototypical AUs of the
expression), AU labels give a pseudo expression label (when they match exactly one expression)."""

from __future__ import annotations

from fbn_bench import CouplingSpec, FbnError
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

NAME = "co"


def build(relatedness, weight=1.0, threshold=0.7, stop_gradient="none", observational=False):
    R = check_relatedness(relatedness, NAME)
    weight = check_number(NAME, "weight", weight, low=0.0)
    threshold = check_number(NAME, "threshold", threshold, low=0.0, high=1.0)
    stop_gradient = check_choice(NAME, "stop_gradient", stop_gradient, STOP_GRADIENT_CHOICES)
    if not losses.prototypical_mask(R, threshold).any():  # e.g. a flat empirical table
        raise FbnError(
            f"coupling {NAME!r}: no relatedness value exceeds threshold={threshold}, so no AU is "
            f"prototypical and the coupling would do nothing; lower the threshold (co:threshold=0.5)"
        )
    return CoAnnotation(R, weight, threshold, stop_gradient, check_flag(NAME, "observational", observational))


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
    options={
        **COMMON_OPTIONS,
        "threshold": "an AU is prototypical for an expression when P(AU | expression) > threshold (default 0.7)",
        "observational": "also give each observational AU (0 < P(AU | expression) <= threshold) its P as a soft "
        "pseudo-label (default false: prototypical AUs only)",
    },
)
