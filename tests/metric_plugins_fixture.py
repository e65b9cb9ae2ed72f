"""Metric plugins for tests/test_metric_plugins.py: one per task, plus one that is broken."""

import numpy as np

from fbn_bench import MetricSpec, hookimpl


def va_mae(y_true, y_pred):
    return float(np.abs(y_true - y_pred).mean())


def expr_kappa(y_true, y_pred):
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(y_true, y_pred))


def au_labelled_accuracy(y_true, y_pred):
    labelled = ~np.isnan(y_true)
    return float((y_true[labelled] == y_pred[labelled]).mean())


def broken(y_true, y_pred):
    raise ZeroDivisionError("oops")


def undefined(y_true, y_pred):
    return float("nan")


@hookimpl
def register_metrics(register):
    register(MetricSpec("va_mae", va_mae, task="va", higher_is_better=False))
    register(MetricSpec("kappa", expr_kappa, task="expr"))
    register(MetricSpec("au_acc", au_labelled_accuracy, task="au"))
    register(MetricSpec("broken", broken, task="expr"))
    register(MetricSpec("undefined", undefined, task="au"))
