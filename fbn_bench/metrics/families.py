"""The built-in metrics in the torchmetrics shape: bound to a predictions frame, a metric gives each
row's sufficient statistics (`Bound.features`, rows that add up) and a score from any sums of them
(`Bound.compute`), for one split or a stack of bootstrap resamples alike.

A family is what is registered (one MetricSpec, e.g. `ccc`); it scores one or more named metrics
(`ccc_mean`, `ccc_valence`, `ccc_arousal`). Values are NaN where a metric is undefined on the rows
summed (no labelled sample; an AU without positive labels).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..tasks import EXPRESSIONS, TASKS
from . import formulas, labelled, stats

FIXED_THRESHOLD = 0.5


@dataclass(frozen=True)
class Scope:
    """What a database's scoring needs beyond its predictions: its tasks, AUs, declared expression
    classes, and the per-AU decision thresholds chosen on validation (None: the fixed 0.5)."""

    tasks: tuple[str, ...]
    aus: tuple[int, ...] = ()
    classes: tuple[str, ...] = EXPRESSIONS
    thresholds: Mapping[int, float] | None = None

    def threshold(self, au: int) -> float:
        return float((self.thresholds or {}).get(au, FIXED_THRESHOLD))

    @property
    def threshold_source(self) -> str:
        return "val" if self.thresholds else "fixed-0.5"


@dataclass
class Bound:
    """A metric bound to one frame: per-row statistics and the formulas over their sums."""

    names: list[str]
    features: np.ndarray  # (rows, width)
    compute: Callable[[np.ndarray], dict[str, np.ndarray]]  # sums (..., width) -> {name: (...)}
    counts: Callable[[np.ndarray], dict[str, np.ndarray]]  # sums -> {name: samples scored}
    width: int = field(init=False)

    def __post_init__(self) -> None:
        self.width = self.features.shape[1]

    def score(self) -> dict[str, float]:
        """The metrics over all rows of the frame."""
        return {k: float(v) for k, v in self.compute(self.features.sum(axis=0)).items()}


@dataclass(frozen=True)
class Family:
    name: str
    task: str
    higher_is_better: bool = True
    description: str = ""

    def names(self, aus) -> list[str]:
        raise NotImplementedError

    def bind(self, frame: pd.DataFrame, scope: Scope) -> Bound | None:
        """None when the frame lacks the task's columns (or AUs)."""
        raise NotImplementedError


_VA_FORMULAS = {
    "ccc": formulas.ccc_from_sums,
    "pearson": formulas.pearson_from_sums,
    "rmse": formulas.rmse_from_sums,
    "sagr": formulas.sagr_from_sums,
}


@dataclass(frozen=True)
class VAFamily(Family):
    """One measure per dimension (valence, arousal); `ccc` also their mean, the VA headline."""

    def names(self, aus=()) -> list[str]:
        per = [f"{self.name}_valence", f"{self.name}_arousal"]
        return [f"{self.name}_mean", *per] if self.name == "ccc" else per

    def bind(self, frame, scope):
        if not labelled.has_task(frame, "va"):
            return None
        t, p = labelled.va_arrays(frame)
        per_row = stats.sign_agreement if self.name == "sagr" else stats.moments
        blocks = [per_row(t[:, d], p[:, d]) for d in (0, 1)]
        width = blocks[0].shape[1]
        formula = _VA_FORMULAS[self.name]

        def compute(sums):
            sums = np.asarray(sums, dtype=np.float64)
            v = formula(*(sums[..., j] for j in range(width)))
            a = formula(*(sums[..., width + j] for j in range(width)))
            out = {f"{self.name}_valence": v, f"{self.name}_arousal": a}
            return {f"{self.name}_mean": (v + a) / 2, **out} if self.name == "ccc" else out

        def counts(sums):
            return dict.fromkeys(self.names(), np.asarray(sums)[..., 0])

        return Bound(self.names(), np.concatenate(blocks, axis=1), compute, counts)


def _expr_counts(frame: pd.DataFrame, scope: Scope) -> np.ndarray | None:
    """(rows, 3K) per-class [labelled, predicted, hit] one-hots over the declared classes; None without expr."""
    if not labelled.has_task(frame, "expr"):
        return None
    t, p = labelled.expr_arrays(frame, scope.classes)
    return stats.class_counts(t, p, np.arange(len(scope.classes), dtype=np.float64))


def _split_counts(sums, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sums = np.asarray(sums, dtype=np.float64)
    return sums[..., :k], sums[..., k : 2 * k], sums[..., 2 * k :]


@dataclass(frozen=True)
class ExprFamily(Family):
    """accuracy, macro_f1 (over the database's declared classes) or mean_class_accuracy (over the classes
    present in the labels), from per-class label, prediction and hit counts."""

    def names(self, aus=()) -> list[str]:
        return [self.name]

    def bind(self, frame, scope):
        features = _expr_counts(frame, scope)
        if features is None:
            return None
        k = len(scope.classes)

        def compute(sums):
            true, pred, hit = _split_counts(sums, k)
            n = true.sum(axis=-1)
            if self.name == "accuracy":
                value = formulas.ratio(hit.sum(axis=-1), n)
            elif self.name == "macro_f1":
                value = np.where(n > 0, formulas.f1_from_counts(hit, true, pred).mean(axis=-1), np.nan)
            else:
                value = formulas.mean_where_defined(formulas.ratio(hit, true))
            return {self.name: value}

        def counts(sums):
            return {self.name: np.asarray(sums)[..., :k].sum(axis=-1)}

        return Bound([self.name], features, compute, counts)


# The per-class metric names: `<prefix>_<class>`, e.g. f1_happiness, recall_fear.
CLASS_PREFIXES = {"class_f1": "f1", "class_recall": "recall"}


@dataclass(frozen=True)
class ExprClassFamily(Family):
    """Per-class F1 (`class_f1`: f1_<class>) or recall (`class_recall`: recall_<class>) over the declared
    classes, from the counts macro_f1 uses; NaN for a class without a labelled sample. n: the expression-labelled
    samples, as for macro_f1."""

    def names(self, aus=(), classes=EXPRESSIONS) -> list[str]:
        return [f"{CLASS_PREFIXES[self.name]}_{c}" for c in classes]

    def bind(self, frame, scope):
        features = _expr_counts(frame, scope)
        if features is None:
            return None
        k, names = len(scope.classes), self.names(classes=scope.classes)

        def compute(sums):
            true, pred, hit = _split_counts(sums, k)
            if self.name == "class_f1":
                values = formulas.f1_where_labelled(hit, true, pred)
            else:
                values = formulas.ratio(hit, true)
            return {n: values[..., i] for i, n in enumerate(names)}

        def counts(sums):
            return dict.fromkeys(names, np.asarray(sums)[..., :k].sum(axis=-1))

        return Bound(names, features, compute, counts)


def _any_labelled(t: np.ndarray) -> np.ndarray:
    return (~np.isnan(t)).any(axis=1).astype(np.float64)[:, None]


@dataclass(frozen=True)
class AUF1Family(Family):
    """Per-AU F1 at a decision threshold and their mean over the AUs where it is defined. `fixed`: always
    that threshold (`f1@0.5`); else the scope's validated thresholds (fixed 0.5 without them)."""

    fixed: float | None = None

    def _suffix(self) -> str:
        return "" if self.fixed is None else f"@{self.fixed:g}"

    def names(self, aus) -> list[str]:
        return [f"f1_mean{self._suffix()}", *(f"f1_AU{a}{self._suffix()}" for a in aus)]

    def bind(self, frame, scope):
        aus = labelled.scorable_aus(frame, scope.aus)
        if not aus:
            return None
        t, prob = labelled.au_arrays(frame, aus)
        cut = np.array([self.fixed if self.fixed is not None else scope.threshold(a) for a in aus])
        features = np.concatenate([_any_labelled(t), stats.au_counts(t, (prob >= cut).astype(np.float64))], axis=1)
        names, k = self.names(aus), len(aus)

        def compute(sums):
            counts = np.asarray(sums, dtype=np.float64)[..., 1:].reshape(*np.shape(sums)[:-1], k, 4)
            per_au = formulas.f1_where_defined(counts)
            return {
                names[0]: formulas.mean_where_defined(per_au),
                **{n: per_au[..., i] for i, n in enumerate(names[1:])},
            }

        def counts(sums):
            sums = np.asarray(sums)
            return {names[0]: sums[..., 0], **{n: sums[..., 1 + 4 * i] for i, n in enumerate(names[1:])}}

        return Bound(names, features, compute, counts)


@dataclass(frozen=True)
class AURankFamily(Family):
    """Threshold-free per-AU average precision (`ap`) or ROC-AUC (`auc`) and their mean over the AUs where it
    is defined. Statistics: positives and negatives per distinct probability of the frame."""

    def names(self, aus) -> list[str]:
        return [f"{self.name}_mean", *(f"{self.name}_AU{a}" for a in aus)]

    def bind(self, frame, scope):
        aus = labelled.scorable_aus(frame, scope.aus)
        if not aus:
            return None
        t, prob = labelled.au_arrays(frame, aus)
        blocks, edges = [_any_labelled(t)], [1]
        for i in range(len(aus)):
            ok = ~np.isnan(t[:, i])
            bins = np.unique(prob[ok, i])
            blocks.append(stats.score_histogram(t[:, i], prob[:, i], bins))
            edges.append(edges[-1] + 2 * len(bins))
        names = self.names(aus)
        formula = formulas.ap_from_histogram if self.name == "ap" else formulas.auc_from_histogram

        def per_au(sums):
            sums = np.asarray(sums, dtype=np.float64)
            for lo, hi in zip(edges[:-1], edges[1:]):
                block = sums[..., lo:hi]
                half = (hi - lo) // 2
                yield block[..., :half], block[..., half:]

        def compute(sums):
            values = [formula(pos, neg) for pos, neg in per_au(sums)]
            stacked = np.stack(values, axis=-1)
            return {names[0]: formulas.mean_where_defined(stacked), **dict(zip(names[1:], values))}

        def counts(sums):
            n = [pos.sum(axis=-1) + neg.sum(axis=-1) for pos, neg in per_au(sums)]
            return {names[0]: np.asarray(sums)[..., 0], **dict(zip(names[1:], n))}

        return Bound(names, np.concatenate(blocks, axis=1), compute, counts)


# The per-AU intensity metric names: `<prefix>_AU<n>` and `<prefix>_mean`, e.g. icc_AU12, mae_mean.
INTENSITY_FORMULAS = {"icc": formulas.icc31_from_sums, "pcc": formulas.pearson_from_sums, "mae": formulas.mae_from_sums}


@dataclass(frozen=True)
class AUIntFamily(Family):
    """AU intensity (the opt-in `au_int` task), per AU over the rows where its intensity is labelled and their
    mean over the AUs where it is defined: ICC(3,1) (`icc`), Pearson's r (`pcc`) from the moments CCC uses,
    mean absolute error (`mae`) from the absolute errors. The measures DISFA / BP4D intensity papers print."""

    def names(self, aus) -> list[str]:
        return [f"{self.name}_mean", *(f"{self.name}_AU{a}" for a in aus)]

    def bind(self, frame, scope):
        aus = labelled.intensity_aus(frame, scope.aus)
        if not aus:
            return None
        t, p = labelled.intensity_arrays(frame, aus)
        per_row = stats.abs_error if self.name == "mae" else stats.moments
        blocks = [_any_labelled(t), *(per_row(t[:, i], p[:, i]) for i in range(len(aus)))]
        width, names, formula = blocks[1].shape[1], self.names(aus), INTENSITY_FORMULAS[self.name]

        def compute(sums):
            sums = np.asarray(sums, dtype=np.float64)
            per_au = [formula(*(sums[..., 1 + i * width + j] for j in range(width))) for i in range(len(aus))]
            return {
                names[0]: formulas.mean_where_defined(np.stack(per_au, axis=-1)),
                **dict(zip(names[1:], per_au)),
            }

        def counts(sums):
            sums = np.asarray(sums)
            return {names[0]: sums[..., 0], **{n: sums[..., 1 + i * width] for i, n in enumerate(names[1:])}}

        return Bound(names, np.concatenate(blocks, axis=1), compute, counts)


# Aff-Wild2's AUs in the ABAW challenges from ABAW3 (2022) on: the set ABAW's AU measure averages over.
ABAW_AUS: tuple[int, ...] = (1, 2, 4, 6, 7, 10, 12, 15, 23, 24, 25, 26)
# Each multi-task sum and the expression classes its macro_f1 term is taken over.
ABAW_SUMS: dict[str, tuple[str, ...]] = {"abaw_mtl": (*EXPRESSIONS, "other"), "abaw_mtl7": EXPRESSIONS}


@dataclass(frozen=True)
class AbawFamily(Family):
    """The ABAW challenge measures (Kollias et al., 6th/7th ABAW, 2024; docs/metrics.md), composed of the
    built-in formulas:

    - `abaw_au`: P_AU, the mean F1 over ABAW's 12 AUs (at the same thresholds as `f1_mean`);
    - `abaw_mtl`: ccc_mean + macro_f1 + abaw_au with macro_f1 over ABAW's 8 classes (the 7 and "Other"):
      the challenge's P_MTL, bound only on a split scored over those 8 (`affwild2:classes=8`);
    - `abaw_mtl7`: the same sum with the 7-class expression term in its place, on a 7-class split: not the
      challenge's P_MTL, hence the name.

    Bound only where the database annotates all 12 AUs (Aff-Wild2, real and synthetic); the sums only for a
    run scored on all three tasks."""

    def names(self, aus=()) -> list[str]:
        return [self.name]

    def bind(self, frame, scope):
        if not set(ABAW_AUS) <= set(scope.aus):
            return None
        summed = self.name in ABAW_SUMS
        tasks = TASKS if summed else ("au",)
        if not set(tasks) <= set(scope.tasks) or (summed and scope.classes != ABAW_SUMS[self.name]):
            return None
        parts = [AUF1Family("f1", "au").bind(frame, replace(scope, aus=ABAW_AUS))]
        if summed:
            parts = [
                VAFamily("ccc", "va").bind(frame, scope),
                ExprFamily("macro_f1", "expr").bind(frame, scope),
                *parts,
            ]
        if any(b is None for b in parts):
            return None
        # the rows a record counts: labelled for any of the parts' tasks
        rows = np.stack([labelled.labelled(frame, t, ABAW_AUS) for t in tasks], axis=1)
        features = np.concatenate([rows.any(axis=1).astype(np.float64)[:, None], *(b.features for b in parts)], axis=1)
        edges = np.cumsum([1, *(b.width for b in parts)])
        heads = ["ccc_mean", "macro_f1", "f1_mean"][-len(parts) :]

        def compute(sums):
            sums = np.asarray(sums, dtype=np.float64)
            terms = [b.compute(sums[..., lo:hi])[h] for b, h, lo, hi in zip(parts, heads, edges[:-1], edges[1:])]
            return {self.name: np.sum(terms, axis=0)}

        def counts(sums):
            return {self.name: np.asarray(sums)[..., 0]}

        return Bound([self.name], features, compute, counts)


# The built-ins, in display order (fbn_plugins.metrics.builtin registers each as a MetricSpec).
BUILTIN: tuple[Family, ...] = (
    VAFamily("ccc", "va", description="concordance correlation coefficient per dimension and their mean"),
    VAFamily("pearson", "va", description="Pearson correlation per dimension"),
    VAFamily("rmse", "va", higher_is_better=False, description="root mean squared error per dimension"),
    VAFamily("sagr", "va", description="sign agreement per dimension"),
    ExprFamily("macro_f1", "expr", description="unweighted mean of per-class F1 over the declared classes"),
    ExprFamily("accuracy", "expr", description="share of exactly right labels"),
    ExprFamily("mean_class_accuracy", "expr", description="mean per-class recall (RAF-DB's average accuracy)"),
    ExprClassFamily("class_f1", "expr", description="F1 of each declared expression class (f1_<class>)"),
    ExprClassFamily("class_recall", "expr", description="recall of each declared expression class (recall_<class>)"),
    AUF1Family("f1", "au", description="per-AU F1 at validated thresholds (else 0.5) and their mean"),
    AUF1Family("f1@0.5", "au", fixed=FIXED_THRESHOLD, description="per-AU F1 at the fixed 0.5 and their mean"),
    AURankFamily("ap", "au", description="per-AU average precision and their mean"),
    AURankFamily("auc", "au", description="per-AU ROC-AUC and their mean"),
    AbawFamily("abaw_au", "au", description="ABAW's AU measure: mean F1 over its 12 AUs (Aff-Wild2)"),
    AbawFamily(
        "abaw_mtl",
        "au",  # recorded under the last of the three tasks it sums
        description="ccc_mean + macro_f1 (8 classes, Other among them) + abaw_au: ABAW's P_MTL (affwild2:classes=8)",
    ),
    AbawFamily(
        "abaw_mtl7",
        "au",  # recorded under the last of the three tasks it sums
        description="ccc_mean + macro_f1 + abaw_au: ABAW's multi-task sum with 7 expression classes (Aff-Wild2)",
    ),
    AUIntFamily("icc", "au_int", description="per-AU intensity ICC(3,1) (Shrout & Fleiss) and their mean"),
    AUIntFamily("pcc", "au_int", description="per-AU intensity Pearson correlation and their mean"),
    AUIntFamily("mae", "au_int", higher_is_better=False, description="per-AU intensity mean absolute error"),
)
