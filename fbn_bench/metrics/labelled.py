"""Which rows of a predictions frame are labelled for a task, and what a metric receives from them:
the one home of that rule (scoring, the leaderboards' bootstrap and metric plugins all ask here).

A predictions frame holds the canonical targets (`valence`, `arousal`, `expression`, `AU<n>`, NaN where
unlabelled) and the model's outputs (`pred_valence`, `pred_arousal`, `pred_expression` as a class name,
`prob_AU<n>` sigmoid probabilities, `logit_<class>` per expression class; for the opt-in `au_int` task, targets `AU<n>_int` and predicted
intensities `pred_int_AU<n>`, both 0-5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import FbnError
from ..tasks import EXPRESSIONS, EXTRA_CLASSES

_OUTPUTS = {"va": ("valence", "arousal", "pred_valence", "pred_arousal"), "expr": ("expression", "pred_expression")}


def scorable_aus(frame: pd.DataFrame, aus: Sequence[int]) -> tuple[int, ...]:
    """The AUs of `aus` whose targets and probabilities the frame both holds."""
    return tuple(a for a in aus if f"AU{a}" in frame.columns and f"prob_AU{a}" in frame.columns)


def intensity_aus(frame: pd.DataFrame, aus: Sequence[int]) -> tuple[int, ...]:
    """The AUs of `aus` whose intensity targets and predictions the frame both holds, leaving out an AU with no
    intensity target at all: one its database does not code (BP4D codes intensity for 5 of its 12 AUs)."""
    return tuple(
        a
        for a in aus
        if f"AU{a}_int" in frame.columns and f"pred_int_AU{a}" in frame.columns and frame[f"AU{a}_int"].notna().any()
    )


def has_task(frame: pd.DataFrame, task: str, aus: Sequence[int] = ()) -> bool:
    """Whether the frame holds both the targets and the outputs of `task` (for `au`, `au_int`: of some AU)."""
    if task == "au":
        return bool(scorable_aus(frame, aus))
    if task == "au_int":
        return bool(intensity_aus(frame, aus))
    return set(_OUTPUTS[task]) <= set(frame.columns)


def labelled(frame: pd.DataFrame, task: str, aus: Sequence[int] = ()) -> np.ndarray:
    """(rows,) bool: va needs both valence and arousal, expr an expression, au any of the AUs, au_int any
    of the AUs' intensities."""
    if not has_task(frame, task, aus):
        return np.zeros(len(frame), dtype=bool)
    if task == "va":
        return (frame["valence"].notna() & frame["arousal"].notna()).to_numpy()
    if task == "expr":
        return frame["expression"].notna().to_numpy()
    if task == "au_int":
        return frame[[f"AU{a}_int" for a in intensity_aus(frame, aus)]].notna().any(axis=1).to_numpy()
    return frame[[f"AU{a}" for a in scorable_aus(frame, aus)]].notna().any(axis=1).to_numpy()


def frame_classes(frame: pd.DataFrame) -> tuple[str, ...]:
    """The expression classes a predictions frame was scored over: the 7, then each extra class (an 8-class
    protocol, DatasetSpec.expression_protocols) whose `logit_<class>` column it holds."""
    return (*EXPRESSIONS, *(c for c in EXTRA_CLASSES if f"logit_{c}" in frame.columns))


def va_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(rows, 2) targets [valence, arousal] (NaN on rows not labelled for both) and predictions."""
    ok = labelled(frame, "va")
    t = frame[["valence", "arousal"]].to_numpy(np.float64, copy=True)
    t[~ok] = np.nan
    return t, frame[["pred_valence", "pred_arousal"]].to_numpy(np.float64)


def class_codes(values: pd.Series, classes: Sequence[str], what: str) -> np.ndarray:
    """Class names -> float indices into `classes`; NaN stays NaN. A name outside `classes` is an error
    for targets (`what="expression"`) and a plain miss (-1) for predictions."""
    codes = values.map({name: float(i) for i, name in enumerate(classes)})
    outside = values.notna() & codes.isna()
    if outside.any():
        if what == "expression":
            raise FbnError(
                f"expression label {values[outside].iloc[0]!r} is not one of the database's classes "
                f"({', '.join(classes)}); fix the loader or declare the class"
            )
        codes = codes.where(~outside, -1.0)
    return codes.to_numpy(np.float64)


def expr_arrays(frame: pd.DataFrame, classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(rows,) target and predicted class indices into `classes` (target NaN where unlabelled)."""
    t = class_codes(frame["expression"], classes, "expression")
    p = class_codes(frame["pred_expression"], classes, "prediction")
    return t, np.where(np.isnan(p), -1.0, p)


def au_arrays(frame: pd.DataFrame, aus: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(rows, K) targets (0/1, NaN where that AU is unlabelled) and probabilities, over the scorable AUs."""
    aus = scorable_aus(frame, aus)
    return (
        frame[[f"AU{a}" for a in aus]].to_numpy(np.float64),
        frame[[f"prob_AU{a}" for a in aus]].to_numpy(np.float64),
    )


def intensity_arrays(frame: pd.DataFrame, aus: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """(rows, K) intensity targets (NaN where unlabelled) and predicted intensities, over the AUs with both."""
    aus = intensity_aus(frame, aus)
    return (
        frame[[f"AU{a}_int" for a in aus]].to_numpy(np.float64),
        frame[[f"pred_int_AU{a}" for a in aus]].to_numpy(np.float64),
    )
