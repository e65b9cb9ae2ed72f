"""The built-in zero-shot compound scorers (docs/compound.md states each formula).

Each maps the model's basic-expression and AU probabilities on compound images to a score per compound
class; none sees a compound label, and every option is fixed in advance.
"""

from __future__ import annotations

import numpy as np

from fbn_bench import Option, ZeroShotSpec, hookimpl
from fbn_bench.tasks import AUS, EXPRESSIONS

EPS = Option("eps", float, 0.05, above=0, high=0.5, help="template probability of an AU off the template")


def _component_columns(classes) -> tuple[np.ndarray, np.ndarray]:
    """Each class's two components as column indices of the 6 non-neutral expressions."""
    first = np.array([EXPRESSIONS.index(c.components[0]) - 1 for c in classes])
    second = np.array([EXPRESSIONS.index(c.components[1]) - 1 for c in classes])
    return first, second


def pair(inputs, *, rule: str, weights: str | None) -> np.ndarray:
    """From the 6 non-neutral expression probabilities renormalised (p'): p'(e1) p'(e2) (`product`) or
    p'(e1) + p'(e2) (`sum`), times an optional weight per class."""
    p = inputs.expr_prob[:, 1:]
    p = p / np.clip(p.sum(1, keepdims=True), 1e-12, None)
    first, second = _component_columns(inputs.classes)
    scores = p[:, first] * p[:, second] if rule == "product" else p[:, first] + p[:, second]
    return scores * _class_weights(weights, len(inputs.classes))


def _class_weights(text: str | None, n: int) -> np.ndarray:
    if not text:
        return np.ones(n)
    try:
        values = np.array([float(v) for v in text.split(";")])
    except ValueError:
        raise ValueError(
            f"weights={text!r}: give {n} numbers separated by ';', one per class in the database's order"
        ) from None
    if len(values) != n or (values < 0).any():
        raise ValueError(f"weights={text!r}: give {n} non-negative numbers separated by ';', one per class")
    return values


def _log_likelihood(au_prob: np.ndarray, template: np.ndarray) -> np.ndarray:
    """sum_j p_j log t_j + (1 - p_j) log(1 - t_j): the predicted AUs' expected log-likelihood under each
    class's template (N, C); `template` (C, 17)."""
    return au_prob @ np.log(template).T + (1 - au_prob) @ np.log1p(-template).T


def au_template(inputs, *, eps: float) -> np.ndarray:
    """Log-likelihood under the class's prototypical AUs: present with 1 - eps on them, eps elsewhere."""
    template = np.full((len(inputs.classes), len(AUS)), eps)
    for row, c in enumerate(inputs.classes):
        template[row, [AUS.index(a) for a in c.aus if a in AUS]] = 1 - eps
    return _log_likelihood(inputs.au_prob, template)


def au_components(inputs, *, eps: float) -> np.ndarray:
    """Log-likelihood under 1 - (1 - R[e1]) (1 - R[e2]) from the relatedness table (observational AUs
    included), clipped to [eps, 1 - eps]."""
    first, second = _component_columns(inputs.classes)
    R = inputs.relatedness[1:]  # rows of the 6 non-neutral expressions
    template = np.clip(1 - (1 - R[first]) * (1 - R[second]), eps, 1 - eps)
    return _log_likelihood(inputs.au_prob, template)


def _posterior(scores: np.ndarray, log_scale: bool) -> np.ndarray:
    if log_scale:
        z = np.exp(scores - scores.max(1, keepdims=True))
    else:
        z = np.clip(scores, 0, None)
    return z / np.clip(z.sum(1, keepdims=True), 1e-12, None)


def mix(inputs, *, weight: float, au: str, rule: str, eps: float) -> np.ndarray:
    """weight * pair + (1 - weight) * an AU scorer, each first made a distribution over the classes (the pair
    scores normalised, the AU log-likelihoods through a softmax), so the two are on one scale."""
    au_scores = (au_template if au == "au-template" else au_components)(inputs, eps=eps)
    return weight * _posterior(pair(inputs, rule=rule, weights=None), False) + (1 - weight) * _posterior(
        au_scores, True
    )


RULE = Option("rule", str, "product", choices=("product", "sum"), help="combine the two components' probabilities")


@hookimpl
def register_zero_shot(register):
    register(
        ZeroShotSpec(
            "pair",
            pair,
            description="the two component expressions' renormalised probabilities, multiplied or summed",
            options=(RULE, Option("weights", str, None, help="per-class weights, ';'-separated, in class order")),
        )
    )
    register(
        ZeroShotSpec(
            "au-template",
            au_template,
            description="predicted AUs' log-likelihood under the class's prototypical AU template (Du et al.)",
            options=(EPS,),
            needs={"au"},
        )
    )
    register(
        ZeroShotSpec(
            "au-components",
            au_components,
            description="predicted AUs' log-likelihood under the components' relatedness rows combined",
            options=(EPS,),
            needs={"au"},
        )
    )
    register(
        ZeroShotSpec(
            "mix",
            mix,
            description="weight * pair + (1 - weight) * an AU scorer, as class distributions",
            options=(
                Option("weight", float, 0.5, low=0, high=1, help="share of the pair scorer"),
                Option("au", str, "au-template", choices=("au-template", "au-components"), help="the AU scorer"),
                RULE,
                EPS,
            ),
            needs={"expr", "au"},
        )
    )
