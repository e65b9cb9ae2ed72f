"""Scoring a predictions frame with every registered metric: one call for evaluation (one score per
database x metric) and the same implementation the leaderboards resample (`fbn_bench.metrics`).

A metric is a MetricSpec. The built-ins (and any plugin that gives `statistics`, a
`fbn_bench.metrics.Family`) are scored from sufficient statistics; a plugin that gives only
`fn(y_true, y_pred)` gets the inputs of `fn_inputs` and is recomputed on resampled rows for its
bootstrap interval. A predictions frame is described in `fbn_bench.metrics.labelled`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .metrics import BUILTIN, FIXED_THRESHOLD, Family, Scope, labelled
from .metrics.families import CLASS_PREFIXES, INTENSITY_FORMULAS
from .specs import DEFAULT_HEADLINE
from .tasks import ALL_TASKS, AUS, EXPRESSION_VOCABULARY, EXPRESSIONS

_PER_AU = re.compile(r"^[a-z0-9]+_AU(\d+)(@[\d.]+)?$")


def headlines(spec=None) -> dict[str, str]:
    """{task: the metric it is ranked by} for a database (its DatasetSpec's `headline`; the defaults
    for a database no installed plugin registers)."""
    return dict(getattr(spec, "headline", None) or DEFAULT_HEADLINE)


def au_of(metric: str) -> int | None:
    """The AU a per-AU metric name (`f1_AU12`, `ap_AU12`, `f1_AU12@0.5`) is about, else None."""
    found = _PER_AU.match(metric)
    return int(found.group(1)) if found else None


def class_of(metric: str) -> str | None:
    """The expression class a per-class metric name (`f1_happiness`, `recall_fear`) is about, else None."""
    prefix, _, name = str(metric).partition("_")
    return name if prefix in CLASS_PREFIXES.values() and name in EXPRESSION_VOCABULARY else None


def per_item(metric: str) -> bool:
    """Whether a metric is about one AU or one expression class (the detail views), not a summary."""
    return au_of(metric) is not None or class_of(metric) is not None


def families_of(specs: Sequence[Any] | None) -> list[Family]:
    """The statistics-based metrics among `specs` (None: the built-ins)."""
    if specs is None:
        return list(BUILTIN)
    return [s.statistics for s in specs if getattr(s, "statistics", None) is not None and s.task]


def fn_metrics(specs: Sequence[Any] | None) -> list[Any]:
    """The MetricSpecs among `specs` that give only `fn(y_true, y_pred)`."""
    return [s for s in specs or () if getattr(s, "statistics", None) is None and s.task]


def specs_scoring(metrics: Iterable[str], specs: Sequence[Any] | None = None) -> list[Any]:
    """The MetricSpecs (None: the built-ins) that score any of `metrics`, so a table resamples only what it shows."""
    from .specs import MetricSpec

    if specs is None:
        specs = [MetricSpec(f.name, lambda *_: float("nan"), f.task, f.higher_is_better, statistics=f) for f in BUILTIN]
    wanted = set(metrics)
    return [
        s
        for s in specs
        if s.name in wanted or (getattr(s, "statistics", None) is not None and wanted & set(s.statistics.names(AUS)))
    ]


def metric_names(tasks: Iterable[str], aus: Iterable[int], specs: Sequence[Any] | None = None) -> list[tuple[str, str]]:
    """(task, metric) pairs scored for a database, in display order: per task its summary metrics,
    then its per-AU (or per-class) ones."""
    tasks, aus = set(tasks), tuple(aus)
    names: list[tuple[str, str]] = []
    for task in ALL_TASKS:
        if task in tasks:
            mine = [n for f in families_of(specs) if f.task == task for n in f.names(aus)]
            mine += [s.name for s in fn_metrics(specs) if s.task == task]
            names += [(task, n) for n in sorted(mine, key=per_item)]
    return names


_TASK_OF = dict((m, t) for t, m in metric_names(ALL_TASKS, ()))


def intensity_metric(metric: str) -> bool:
    """Whether a metric name is an AU-intensity one (`icc_AU12`, `mae_mean`: the opt-in `au_int` task)."""
    prefix = str(metric).partition("_")[0]
    return prefix in INTENSITY_FORMULAS and (au_of(metric) is not None or metric == f"{prefix}_mean")


def task_of(metric: str) -> str | None:
    """The task of a built-in metric name, None for names fbn-bench does not score."""
    if intensity_metric(metric):
        return "au_int"
    return "au" if au_of(metric) is not None else _TASK_OF.get(metric)


def lower_is_better(specs: Sequence[Any]) -> frozenset[str]:
    """The metric names whose best value is the smallest (registered so)."""
    out = set()
    for spec in specs:
        if not spec.higher_is_better:
            out.add(spec.name)
            if getattr(spec, "statistics", None) is not None:
                out.update(spec.statistics.names(AUS))
    return frozenset(out)


def make_scope(tasks, aus, thresholds: Mapping[int, float] | None = None, classes=EXPRESSIONS) -> Scope:
    return Scope(tuple(t for t in ALL_TASKS if t in set(tasks)), tuple(aus), tuple(classes), thresholds or None)


def score_predictions(
    df: pd.DataFrame,
    tasks: Iterable[str],
    aus: Iterable[int],
    specs: Sequence[Any] | None = None,
    thresholds: Mapping[int, float] | None = None,
    classes: Sequence[str] | None = None,
) -> dict[tuple[str, str], tuple[float, int]]:
    """{(task, metric): (value, n_scored)} over the rows labelled for each task.

    `specs`: the registered MetricSpecs (None: the built-ins). `thresholds`: per-AU decision thresholds
    chosen on validation (`fbn_bench.metrics.choose_thresholds`); without them `f1_*` use 0.5.
    `classes`: the expression classes (default: those the frame was scored over, labelled.frame_classes).
    A task with no labelled rows is left out; so is a metric undefined on this split (an AU without a
    positive label, a constant prediction's Pearson r), with a warning, never scored as 0.
    """
    scope = make_scope(tasks, aus, thresholds, classes or labelled.frame_classes(df))
    scores: dict[tuple[str, str], tuple[float, int]] = {}
    undefined: list[str] = []
    for family in families_of(specs):
        if family.task not in scope.tasks or not labelled.labelled(df, family.task, scope.aus).any():
            continue
        bound = family.bind(df, scope)
        if bound is None:
            continue
        sums = bound.features.sum(axis=0)
        counts = bound.counts(sums)
        for name, value in bound.compute(sums).items():
            if np.isfinite(value):
                scores[(family.task, name)] = (float(value), int(counts[name]))
            else:
                undefined.append(name)
    scores.update(_fn_scores(df, scope, fn_metrics(specs)))
    if undefined:
        warnings.warn(_undefined_note(undefined), stacklevel=2)
    return scores


def _undefined_note(names: list[str]) -> str:
    intensity = sorted({au_of(n) for n in names if intensity_metric(n)} - {None})
    names = [n for n in names if not intensity_metric(n)]
    aus = sorted({au_of(n) for n in names} - {None})
    classes = [c for c in EXPRESSION_VOCABULARY if c in {class_of(n) for n in names}]
    other = [n for n in names if not per_item(n) and not n.endswith("_mean") and not n.endswith("_mean@0.5")]
    parts = []
    if aus:
        parts.append(
            f"AU{', AU'.join(map(str, aus))}: no positive label in this split, so F1/AP/ROC-AUC are undefined; "
            f"left out of every mean"
        )
    if classes:
        parts.append(f"{', '.join(classes)}: no labelled sample in this split, so per-class F1/recall are undefined")
    if intensity:
        parts.append(
            f"AU{', AU'.join(map(str, intensity))} intensity: unlabelled or constant in this split, so its "
            "ICC/PCC/MAE (unlabelled) or PCC (constant) is undefined; left out of the means"
        )
    if other:
        parts.append(f"{', '.join(other)} undefined on this split (e.g. a constant prediction); left out")
    return "; ".join(parts)


def fn_inputs(df: pd.DataFrame, task: str, scope: Scope) -> tuple[np.ndarray, np.ndarray] | None:
    """(y_true, y_pred) a metric plugin of `task` receives, over the rows labelled for it; None if none are.

    va: float (N, 2) [valence, arousal] both; expr: int (N,) indices into the database's classes both;
    au: (N, K) over the database's K AUs, y_true 0/1 with NaN where an AU is not labelled, y_pred 0/1 at
    the AU's decision threshold (the validated one, else 0.5); au_int: (N, K) intensities 0-5, y_true NaN
    where an AU's intensity is not labelled.
    """
    rows = labelled.labelled(df, task, scope.aus)
    if not rows.any():
        return None
    frame = df[rows]
    if task == "va":
        return labelled.va_arrays(frame)
    if task == "expr":
        t, p = labelled.expr_arrays(frame, scope.classes)
        return t.astype(int), p.astype(int)
    if task == "au_int":
        return labelled.intensity_arrays(frame, scope.aus)
    aus = labelled.scorable_aus(frame, scope.aus)
    true, prob = labelled.au_arrays(frame, aus)
    return true, (prob >= np.array([scope.threshold(a) for a in aus])).astype(float)


def fn_score(spec, inputs) -> float | None:
    """`spec.fn` on `inputs`, or None (with a warning) when it raises or gives no finite number, so a
    broken metric never costs a finished run its results."""
    try:
        value = float(spec.fn(*inputs))
    except Exception as exc:  # a third party's bug: report it, keep every other score
        warnings.warn(f"metric {spec.name!r} failed and was left out: {type(exc).__name__}: {exc}", stacklevel=3)
        return None
    if not np.isfinite(value):  # a record must hold a number; leaderboards refuse nan
        warnings.warn(f"metric {spec.name!r} returned {value} and was left out", stacklevel=3)
        return None
    return value


def _fn_scores(df, scope: Scope, specs) -> dict[tuple[str, str], tuple[float, int]]:
    scores = {}
    for spec in specs:
        inputs = fn_inputs(df, spec.task, scope) if spec.task in scope.tasks else None
        value = None if inputs is None else fn_score(spec, inputs)
        if value is not None:
            scores[(spec.task, spec.name)] = (value, len(inputs[0]))
    return scores


def plugin_metrics(registry) -> list[Any]:
    """Every registered MetricSpec with a task: the built-ins (registered by fbn_plugins like any
    plugin) and third-party metrics, all scored by `score_predictions`."""
    return [spec for spec in registry.specs("metrics") if spec.task]


def record_fields(metric: str, scope: Scope) -> dict[str, Any]:
    """What a record of `metric` says about the decision thresholds behind it (F1 metrics only)."""
    au = au_of(metric)
    if metric in ("f1_mean", "abaw_au", "abaw_mtl7", "abaw_mtl"):  # the ABAW measures take F1 at the same thresholds
        return {
            "thresholds": {str(a): scope.threshold(a) for a in scope.aus},
            "threshold_source": scope.threshold_source,
        }
    if au is not None and metric.startswith("f1_AU"):
        fixed = metric.endswith(f"@{FIXED_THRESHOLD:g}")
        return {
            "threshold": FIXED_THRESHOLD if fixed else scope.threshold(au),
            "threshold_source": "fixed-0.5" if fixed else scope.threshold_source,
        }
    if metric == f"f1_mean@{FIXED_THRESHOLD:g}":
        return {"threshold_source": "fixed-0.5"}
    return {}
