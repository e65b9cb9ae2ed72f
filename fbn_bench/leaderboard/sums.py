"""Metrics as functions of per-sample sums, so that a bootstrap resample is one matrix product.

Every metric fbn-bench scores (CCC, accuracy, macro F1, mean class accuracy, AU F1) is a function of a few sums over the
samples: counts, true positives, and the first and second moments of targets and predictions. Each
row of a predictions frame becomes a vector of its contributions to those sums (`row_features`);
a resample that takes cluster j w_j times has sums `w @ cluster_sums`, and `metrics_from_sums` turns
any stack of sums into scores. The definitions match `fbn_bench.scoring.score_predictions` exactly
(tests check both on the same resamples).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..scoring import AU_THRESHOLD
from ..tasks import EXPRESSIONS

_VA_PARTS = ("t", "p", "tt", "pp", "tp")
_AU_PARTS = ("n", "true", "pred", "tp")


@dataclass(frozen=True)
class Layout:
    """Which task blocks the feature vector holds, and where each block starts."""

    tasks: tuple[str, ...]
    aus: tuple[int, ...]

    @property
    def va_start(self) -> int:
        return 0

    @property
    def expr_start(self) -> int:
        return 11 if "va" in self.tasks else 0

    @property
    def au_start(self) -> int:
        return self.expr_start + (2 + 3 * len(EXPRESSIONS) if "expr" in self.tasks else 0)

    @property
    def width(self) -> int:
        return self.au_start + (4 * len(self.aus) if "au" in self.tasks else 0)

    def metrics(self) -> list[str]:
        """The metrics this layout can score (the same names `metric_names` gives)."""
        names: list[str] = []
        if "va" in self.tasks:
            names += ["ccc_mean", "ccc_valence", "ccc_arousal"]
        if "expr" in self.tasks:
            names += ["macro_f1", "accuracy", "mean_class_accuracy"]
        if "au" in self.tasks and self.aus:
            names += ["f1_mean"] + [f"f1_AU{a}" for a in self.aus]
        return names


def layout_for(df: pd.DataFrame, tasks, aus) -> Layout:
    """The blocks a frame can fill: a task counts only when both its targets and outputs are stored."""
    have: list[str] = []
    if "va" in tasks and {"valence", "arousal", "pred_valence", "pred_arousal"} <= set(df.columns):
        have.append("va")
    if "expr" in tasks and {"expression", "pred_expression"} <= set(df.columns):
        have.append("expr")
    aus = tuple(a for a in aus if f"AU{a}" in df.columns and f"prob_AU{a}" in df.columns)
    if "au" in tasks and aus:
        have.append("au")
    return Layout(tuple(have), aus if "au" in have else ())


def row_features(df: pd.DataFrame, layout: Layout) -> np.ndarray:
    """(rows, layout.width) float64: each row's contribution to the sums."""
    out = np.zeros((len(df), layout.width))
    if "va" in layout.tasks:
        t_v, t_a = df["valence"].to_numpy(float), df["arousal"].to_numpy(float)
        p_v, p_a = df["pred_valence"].to_numpy(float), df["pred_arousal"].to_numpy(float)
        ok = ~(np.isnan(t_v) | np.isnan(t_a))
        t_v, t_a, p_v, p_a = (np.where(ok, x, 0.0) for x in (t_v, t_a, p_v, p_a))
        out[:, 0] = ok
        for start, t, p in ((1, t_v, p_v), (6, t_a, p_a)):
            out[:, start : start + 5] = np.stack([t, p, t * t, p * p, t * p], axis=1)
    if "expr" in layout.tasks:
        s, k = layout.expr_start, len(EXPRESSIONS)
        codes = {name: i for i, name in enumerate(EXPRESSIONS)}
        t = df["expression"].map(codes).to_numpy(float)
        p = df["pred_expression"].map(codes).fillna(-1).to_numpy(float)
        ok = ~np.isnan(t)
        classes = np.arange(k)
        t_hot = ok[:, None] & (t[:, None] == classes)
        p_hot = ok[:, None] & (p[:, None] == classes)
        out[:, s] = ok
        out[:, s + 1] = ok & (t == p)
        out[:, s + 2 : s + 2 + k] = t_hot
        out[:, s + 2 + k : s + 2 + 2 * k] = p_hot
        out[:, s + 2 + 2 * k : s + 2 + 3 * k] = t_hot & p_hot
    if "au" in layout.tasks:
        s = layout.au_start
        for i, au in enumerate(layout.aus):
            t = df[f"AU{au}"].to_numpy(float)
            ok = ~np.isnan(t)
            truth = ok & (t == 1)
            pred = ok & (df[f"prob_AU{au}"].to_numpy(float) >= AU_THRESHOLD)
            out[:, s + 4 * i : s + 4 * i + 4] = np.stack([ok, truth, pred, truth & pred], axis=1)
    return out


def cluster_sums(features: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """(n_clusters, width): the features summed within each cluster (`codes` gives each row's cluster)."""
    sums = np.zeros((n_clusters, features.shape[1]))
    np.add.at(sums, codes, features)
    return sums


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den


def _ccc(n, t, p, tt, pp, tp) -> np.ndarray:
    mt, mp = _ratio(t, n), _ratio(p, n)
    vt, vp = _ratio(tt, n) - mt * mt, _ratio(pp, n) - mp * mp
    cov = _ratio(tp, n) - mt * mp
    denom = vt + vp + (mt - mp) ** 2
    # Both constant and equal: metrics.ccc calls that 0; the sums leave rounding noise where it has 0.
    value = np.where(np.abs(denom) < 1e-12, 0.0, _ratio(2.0 * cov, denom))
    return np.where(n > 0, value, np.nan)


def _f1(tp, true, pred) -> np.ndarray:
    den = true + pred
    return np.where(den > 0, _ratio(2.0 * tp, den), 0.0)


def metrics_from_sums(sums: np.ndarray, layout: Layout) -> dict[str, np.ndarray]:
    """{metric: array of sums.shape[:-1]}; NaN where a resample holds no labelled sample for it."""
    sums = np.asarray(sums, dtype=np.float64)
    col = lambda j: sums[..., j]  # noqa: E731
    out: dict[str, np.ndarray] = {}
    if "va" in layout.tasks:
        n = col(0)
        v = _ccc(n, *(col(1 + j) for j in range(5)))
        a = _ccc(n, *(col(6 + j) for j in range(5)))
        out.update(ccc_mean=(v + a) / 2, ccc_valence=v, ccc_arousal=a)
    if "expr" in layout.tasks:
        s, k = layout.expr_start, len(EXPRESSIONS)
        n = col(s)
        true = sums[..., s + 2 : s + 2 + k]
        pred = sums[..., s + 2 + k : s + 2 + 2 * k]
        tp = sums[..., s + 2 + 2 * k : s + 2 + 3 * k]
        present = true > 0  # macro F1 over the classes the (resampled) split contains
        per_class = np.where(present, _f1(tp, true, pred), 0.0)
        n_present = present.sum(axis=-1)
        out["macro_f1"] = np.where(n_present > 0, _ratio(per_class.sum(axis=-1), n_present), np.nan)
        out["accuracy"] = np.where(n > 0, _ratio(col(s + 1), n), np.nan)
        recall = np.where(present, _ratio(tp, np.where(present, true, 1.0)), 0.0)
        out["mean_class_accuracy"] = np.where(n_present > 0, _ratio(recall.sum(axis=-1), n_present), np.nan)
    if "au" in layout.tasks:
        s = layout.au_start
        per_au = []
        for i, au in enumerate(layout.aus):
            n, true, pred, tp = (col(s + 4 * i + j) for j in range(4))
            value = np.where(n > 0, _f1(tp, true, pred), np.nan)
            out[f"f1_AU{au}"] = value
            per_au.append(value)
        stacked = np.stack(per_au, axis=-1)
        scored = ~np.isnan(stacked)
        total = np.where(scored, stacked, 0.0).sum(axis=-1)
        count = scored.sum(axis=-1)
        out["f1_mean"] = np.where(count > 0, _ratio(total, count), np.nan)
    return out
