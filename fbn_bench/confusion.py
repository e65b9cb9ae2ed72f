"""Expression confusion matrices of a predictions frame, and their picture in a run folder
(`confusion/<dataset>.png`, written with the predictions at the end of a run or an evaluation). The counts
come from `fbn_bench.metrics`, the picture from `compound_plot.plot_confusions`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .metrics import confusion_matrix, formulas, labelled
from .results import file_stem

CONFUSION_DIR = "confusion"


def expression_confusion(frame: pd.DataFrame, classes=None) -> np.ndarray | None:
    """(C, C) counts over the expression-labelled rows (rows true, columns predicted); None when none is.
    `classes`: default, those the frame was scored over (labelled.frame_classes)."""
    classes = classes or labelled.frame_classes(frame)
    rows = labelled.labelled(frame, "expr")
    if not rows.any():
        return None
    t, p = labelled.expr_arrays(frame[rows], classes)
    return confusion_matrix(t, p, len(classes))


def title(name: str, counts: np.ndarray) -> str:
    """`<name>: macro-F1 0.512, n=250`: the macro-F1 over the declared classes (as scored), from the counts."""
    counts = np.asarray(counts, dtype=np.float64)
    value = formulas.f1_from_counts(np.diag(counts), counts.sum(1), counts.sum(0)).mean()
    return f"{name}: macro-F1 {value:.3f}, n={int(counts.sum())}"


def description(panels: list[tuple[str, np.ndarray]], classes) -> str:
    """The picture's content as JSON (its PNG Description chunk): what `read_description` gives back, so a
    check compares counts, not pixels, which differ between matplotlib versions."""
    return json.dumps(
        {
            "classes": list(classes),
            "panels": [{"title": t, "counts": np.asarray(c).astype(int).tolist()} for t, c in panels],
        }
    )


def read_description(path: Path) -> str | None:
    """The Description chunk of a PNG that `plot_confusions` wrote; None for a file without one."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return getattr(image, "text", {}).get("Description")
    except OSError:  # not a PNG (UnidentifiedImageError is one): holds no counts
        return None


def write_run_picture(run_dir: Path, dataset: str, frame: pd.DataFrame, classes=None) -> Path | None:
    """run_dir/confusion/<dataset>.png for a test split with expression labels (else nothing, None)."""
    from .compound_plot import plot_confusions

    classes = classes or labelled.frame_classes(frame)
    counts = expression_confusion(frame, classes)
    if counts is None:
        return None
    path = Path(run_dir) / CONFUSION_DIR / f"{file_stem(dataset)}.png"
    panels = [(title(dataset, counts), counts)]
    return plot_confusions(panels, list(classes), path, description(panels, classes))
