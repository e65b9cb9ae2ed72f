"""The built-in metrics, registered as plugins: each MetricSpec carries the functional form (`fn`) and the
sufficient-statistics form (`statistics`) of the one implementation in `fbn_bench.metrics`."""

from functools import partial

from fbn_bench import MetricSpec, hookimpl, metrics

# The functional form of each family (the array-in, float-out function a third-party caller can use).
_FUNCTIONS = {
    "ccc": metrics.ccc,
    "pearson": metrics.pearson,
    "rmse": metrics.rmse,
    "sagr": metrics.sagr,
    "macro_f1": metrics.macro_f1,
    "accuracy": metrics.accuracy,
    "mean_class_accuracy": metrics.mean_class_accuracy,
    "class_f1": metrics.per_class_f1,
    "class_recall": metrics.per_class_recall,
    "f1": metrics.f1,
    "f1@0.5": metrics.f1,
    "ap": metrics.average_precision,
    "auc": metrics.roc_auc,
    "abaw_au": metrics.abaw_au,
    "abaw_mtl": partial(metrics.abaw_mtl, labels=range(8)),  # the 7 and Other (codes 0-7)
    "abaw_mtl7": metrics.abaw_mtl,
    "icc": metrics.icc,
    "pcc": metrics.intensity_pearson,
    "mae": metrics.mae,
}


@hookimpl
def register_metrics(register):
    for family in metrics.BUILTIN:
        register(
            MetricSpec(
                family.name,
                _FUNCTIONS[family.name],
                task=family.task,
                higher_is_better=family.higher_is_better,
                description=family.description,
                statistics=family,
            )
        )
