"""The leaderboards' cluster bootstrap on fbn_bench.metrics: a resample is a sum of statistics.

Each metric bound to a predictions frame gives every row's sufficient statistics (`row_features`); a
resample that takes cluster j w_j times has statistics `w @ cluster_sums`, and `metrics_from_sums`
applies the same formulas scoring applies, so a whole split's sums give the record values exactly.
A metric plugin that gives only `fn(y_true, y_pred)` has no statistics: `resampled_scores` recomputes it
on the resampled rows (cluster j's rows taken w_j times).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..metrics import Bound, Scope, labelled
from ..metrics.stats import group_sums
from ..scoring import families_of, fn_inputs, fn_metrics, fn_score, make_scope

THRESHOLDS_ATTR = "thresholds"  # frame.attrs key: the per-AU thresholds its run's records used


@dataclass
class Layout:
    """The metrics bound to one frame, and where each one's statistics sit in the feature vector."""

    scope: Scope
    bounds: list[Bound] = field(default_factory=list)
    fns: list[Any] = field(default_factory=list)  # MetricSpecs recomputed on resampled rows
    tasks: tuple[str, ...] = ()  # the tasks the frame can be scored on
    aus: tuple[int, ...] = ()

    @property
    def width(self) -> int:
        return sum(b.width for b in self.bounds)

    def slices(self):
        start = 0
        for bound in self.bounds:
            yield bound, slice(start, start + bound.width)
            start += bound.width

    def metrics(self) -> list[str]:
        return [n for b in self.bounds for n in b.names] + [s.name for s in self.fns if s.task in self.tasks]


def layout_for(
    df: pd.DataFrame,
    tasks,
    aus,
    specs: Sequence[Any] | None = None,
    thresholds: Mapping[int, float] | None = None,
) -> Layout:
    """The metrics a frame can be scored on: a task counts only when both its targets and outputs are
    stored. `specs`: the registered MetricSpecs (None: the built-ins); `thresholds`: the run's per-AU
    thresholds (default: those `load_predictions` attached to the frame, else 0.5)."""
    if thresholds is None:
        thresholds = df.attrs.get(THRESHOLDS_ATTR)
    have = tuple(t for t in tasks if labelled.has_task(df, t, aus))
    scored = set(labelled.scorable_aus(df, aus) if "au" in have else ())
    scored |= set(labelled.intensity_aus(df, aus) if "au_int" in have else ())  # the opt-in AU intensity
    scope = make_scope(have, tuple(a for a in aus if a in scored), thresholds, labelled.frame_classes(df))
    layout = Layout(scope, tasks=scope.tasks, aus=scope.aus)
    for family in families_of(specs):
        if family.task in scope.tasks:
            bound = family.bind(df, scope)
            if bound is not None:
                layout.bounds.append(bound)
    layout.fns = [s for s in fn_metrics(specs) if s.task in scope.tasks]
    return layout


def row_features(df: pd.DataFrame, layout: Layout) -> np.ndarray:
    """(rows, layout.width) float64: each row's contribution to the sums."""
    if not layout.bounds:
        return np.zeros((len(df), 0))
    return np.concatenate([b.features for b in layout.bounds], axis=1)


def cluster_sums(features: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """(n_clusters, width): the features summed within each cluster (`codes` gives each row's cluster)."""
    return group_sums(features, codes, n_clusters)


def metrics_from_sums(sums: np.ndarray, layout: Layout) -> dict[str, np.ndarray]:
    """{metric: array of sums.shape[:-1]}; NaN where a resample leaves a metric undefined."""
    sums = np.asarray(sums, dtype=np.float64)
    out: dict[str, np.ndarray] = {}
    for bound, part in layout.slices():
        out.update(bound.compute(sums[..., part]))
    return out


def sample_counts(layout: Layout) -> dict[str, int]:
    """{metric: samples scored on the whole frame}, as the records count them."""
    out: dict[str, int] = {}
    for bound in layout.bounds:
        out.update({k: int(v) for k, v in bound.counts(bound.features.sum(axis=0)).items()})
    return out


def resampled_scores(
    df: pd.DataFrame, layout: Layout, codes: np.ndarray, n_clusters: int, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """{metric: (B,)}: the frame scored on each of the B resamples `weights` (B, n_clusters) describes."""
    out = metrics_from_sums(weights @ cluster_sums(row_features(df, layout), codes, n_clusters), layout)
    for spec in layout.fns:
        inputs = fn_inputs(df, spec.task, layout.scope)
        if inputs is None:
            continue
        rows = labelled.labelled(df, spec.task, layout.scope.aus)
        out[spec.name] = _recomputed(spec, inputs, weights[:, codes[rows]].astype(int))
    return out


def observed_scores(df: pd.DataFrame, layout: Layout) -> dict[str, float]:
    """{metric: value} on exactly this frame (no resampling)."""
    out = {k: float(v) for k, v in metrics_from_sums(row_features(df, layout).sum(axis=0), layout).items()}
    for spec in layout.fns:
        inputs = fn_inputs(df, spec.task, layout.scope)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scoring already reported a failing plugin
            value = None if inputs is None else fn_score(spec, inputs)
        out[spec.name] = np.nan if value is None else value
    return out


def _recomputed(spec, inputs, repeats: np.ndarray) -> np.ndarray:
    """`spec.fn` on each resample: row i taken repeats[b, i] times. NaN where it fails."""
    values = np.full(len(repeats), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scoring already reported a failing plugin
        for b, counts in enumerate(repeats):
            if counts.any():
                value = fn_score(spec, tuple(np.repeat(x, counts, axis=0) for x in inputs))
                values[b] = np.nan if value is None else value
    return values
