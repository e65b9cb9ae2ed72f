"""Has the network learned anything from the pixels? The check beside the nan check.

A run can fail without diverging: with too high a learning rate the loss settles, finite, at what the label
prior alone gives, and every head predicts a constant. Such a run scores like a predictor that never looks at
the image, and its records would read as results. So, at the first validation past `CHECK_AT` of the budget,
each (database, task) on `val` is compared with the score that any image-blind (constant) predictor gets
on a metric where that score is known exactly, whatever the constant:

- valence-arousal: CCC 0 (a constant has no covariance with the labels);
- expressions: mean per-class recall 1/K, K the classes labelled in the split;
- action units: mean ROC-AUC 0.5 (a constant ties every pair);
- AU intensity (opt-in `au_int`): mean ICC(3,1) 0 (a constant has no covariance with the labels).

The run stops with one line naming the step when no pair beats that score by `MARGIN` (runs shorter than
`MIN_STEPS` are not checked). Threshold-based
metrics (F1) are not used: an always-present AU predictor can out-score an early, working model on them.
"""

from __future__ import annotations

import math

CHECK_AT = 0.5  # fraction of the budget: late enough that a working run has learned something
MARGIN = 0.02
MIN_STEPS = 200

# task -> (metric, how the image-blind value is found).
BLIND_METRIC = {"va": "ccc_mean", "expr": "mean_class_accuracy", "au": "auc_mean", "au_int": "icc_mean"}


def image_blind_value(task: str, frame) -> float | None:
    """What a constant predictor scores on `frame`'s labels in BLIND_METRIC[task] (None: nothing labelled)."""
    if task in ("va", "au_int"):
        return 0.0
    if task == "au":
        return 0.5
    if "expression" not in frame:
        return None
    classes = frame["expression"].dropna().nunique()
    return 1.0 / classes if classes else None


def learned_pairs(records: list[dict], frames: dict) -> tuple[list[str], list[str]]:
    """(pairs that beat the image-blind score by MARGIN, pairs that could be judged), as `dataset/task`."""
    judged, learned = [], []
    for r in records:
        task = r["task"]
        if r["metric"] != BLIND_METRIC.get(task) or r["dataset"] not in frames:
            continue
        value, blind = float(r["value"]), image_blind_value(task, frames[r["dataset"]])
        if blind is None or not math.isfinite(value):
            continue
        pair = f"{r['dataset']}/{task}"
        judged.append(pair)
        if value > blind + MARGIN:
            learned.append(pair)
    return learned, judged


def check_step(total_steps: int) -> int | None:
    """The step from which a run of `total_steps` is checked; None for a run shorter than MIN_STEPS (a smoke
    test of a few steps is not expected to have learned anything)."""
    return math.ceil(CHECK_AT * total_steps) if total_steps >= MIN_STEPS else None


def collapse_problem(records: list[dict], frames: dict, step: int) -> str | None:
    """The one-line error when, at `step`, no judged (database, task) pair on val beats an image-blind
    predictor; None when something was learned (or nothing could be judged)."""
    learned, judged = learned_pairs(records, frames)
    if not judged or learned:
        return None
    return (
        f"training collapsed: at step {step} no task on val beats a predictor that ignores the image "
        f"({', '.join(sorted(judged))}; CCC 0, expression recall 1/K, AU ROC-AUC 0.5, ICC 0, margin {MARGIN}); "
        "the loss is finite but nothing is learned: lower --lr, or check the data and the task weights"
    )
