"""fbn-bench's one metric implementation (docs/metrics.md).

- `formulas`: every score as a function of sufficient statistics (sums that add across samples);
- `stats`: each sample's contribution to those sums;
- `functional`: array in, float out (`ccc`, `f1`, `roc_auc`, ...), built on the two above;
- `families`: the registered built-ins, bound to a predictions frame (statistics per row, score from sums),
  used by scoring and by the leaderboards' cluster bootstrap;
- `labelled`: which rows are labelled for a task (`au_int`: AU intensity, opt-in); `thresholds`: per-AU thresholds chosen on validation.
"""

from .families import BUILTIN, FIXED_THRESHOLD, Bound, Family, Scope
from .functional import (
    abaw_au,
    abaw_mtl,
    accuracy,
    au_f1,
    average_precision,
    ccc,
    confusion_matrix,
    f1,
    icc,
    intensity_pearson,
    macro_f1,
    mae,
    mean_class_accuracy,
    pearson,
    per_class_f1,
    per_class_recall,
    rmse,
    roc_auc,
    sagr,
)
from .thresholds import GRID, choose_thresholds

__all__ = [
    "BUILTIN",
    "FIXED_THRESHOLD",
    "GRID",
    "Bound",
    "Family",
    "Scope",
    "abaw_au",
    "abaw_mtl",
    "accuracy",
    "au_f1",
    "average_precision",
    "ccc",
    "choose_thresholds",
    "confusion_matrix",
    "f1",
    "icc",
    "intensity_pearson",
    "macro_f1",
    "mae",
    "mean_class_accuracy",
    "pearson",
    "per_class_f1",
    "per_class_recall",
    "rmse",
    "roc_auc",
    "sagr",
]
