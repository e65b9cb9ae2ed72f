"""Per-AU decision thresholds chosen on a validation split (never on test): the threshold of the grid
0.05, 0.10, ..., 0.95 with the best F1 on validation; ties go to the threshold nearest 0.5, so a flat
F1 keeps the conventional cut. The chosen thresholds are handed to scoring (`Scope.thresholds`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import formulas, labelled, stats
from .families import FIXED_THRESHOLD

GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))


def choose_thresholds(val_frame: pd.DataFrame, aus: Sequence[int]) -> dict[int, float]:
    """{au: threshold} for the AUs the validation predictions hold. An AU without a positive label on
    validation has no F1 to maximise and keeps the fixed 0.5."""
    aus = labelled.scorable_aus(val_frame, aus)
    t, prob = labelled.au_arrays(val_frame, aus)
    grid = np.asarray(GRID)
    # (thresholds, AUs, 4) counts, one decision per threshold
    counts = np.stack([stats.au_counts(t, (prob >= cut).astype(np.float64)).sum(axis=0) for cut in grid])
    f1 = formulas.f1_where_defined(counts.reshape(len(grid), len(aus), 4))
    chosen = {}
    for i, au in enumerate(aus):
        if np.isnan(f1[:, i]).all():
            chosen[au] = FIXED_THRESHOLD
            continue
        best = np.flatnonzero(np.isclose(f1[:, i], np.nanmax(f1[:, i]), rtol=0, atol=1e-12))
        chosen[au] = float(grid[best[np.argmin(np.abs(grid[best] - FIXED_THRESHOLD))]])
    return chosen
