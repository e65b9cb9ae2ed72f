"""The built-in metrics, registered as plugins around `fbn_bench.metrics`."""

from fbn_bench import MetricSpec, hookimpl, metrics


@hookimpl
def register_metrics(register):
    register(
        MetricSpec(
            "ccc", metrics.ccc, task="va", description="concordance correlation coefficient (population statistics)"
        )
    )
    register(MetricSpec("accuracy", metrics.accuracy, task="expr", description="share of exactly right labels"))
    register(
        MetricSpec(
            "f1", metrics.f1, task="au", description="binary F1 of the positive class; 0 with no positives at all"
        )
    )
    register(MetricSpec("macro_f1", metrics.macro_f1, task="expr", description="unweighted mean of per-class F1"))
    register(
        MetricSpec(
            "mean_class_accuracy",
            metrics.mean_class_accuracy,
            task="expr",
            description="unweighted mean of per-class recall (RAF-DB's average accuracy)",
        )
    )
