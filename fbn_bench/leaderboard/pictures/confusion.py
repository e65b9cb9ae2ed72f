"""The confusion picture (`confusion/<database>.png`): the expression confusion matrix of the configuration best
on the expression headline and of the baseline, each summed over its seeds' stored test predictions. The counts
are those scoring uses (`fbn_bench.confusion`), and the run folders' pictures have the same description."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...confusion import CONFUSION_DIR, description, expression_confusion
from ...metrics.labelled import frame_classes
from ...scoring import headlines
from ...tasks import EXPRESSIONS
from .base import Picture, best_and_baseline, row_title


@dataclass(frozen=True)
class ConfusionPicture(Picture):
    """(title, counts) panels, counts as nested tuples (comparable)."""

    panels: tuple[tuple[str, tuple[tuple[int, ...], ...]], ...]
    classes: tuple[str, ...] = EXPRESSIONS

    folder = CONFUSION_DIR
    heading = "Expression confusion"
    caption = (
        "Rows the true class, columns the predicted one, each row normalised; counts summed over the seeds' "
        "test predictions, for the best configuration on the expression headline and the baseline."
    )

    def description(self) -> str:
        return description([(t, np.asarray(c)) for t, c in self.panels], self.classes)

    def write(self, path: Path) -> None:
        from ...compound_plot import plot_confusions

        panels = [(t, np.asarray(c)) for t, c in self.panels]
        plot_confusions(panels, list(self.classes), path, self.description())


def confusion_picture(table, frames_of: dict[str, list], spec=None) -> ConfusionPicture | None:
    """The picture of `table`; `frames_of`: config hash -> its seeds' predictions frames. None when neither
    chosen row has expression predictions stored."""
    metric = headlines(spec).get("expr")
    with_frames = [r for r in table.rows if frames_of.get(r.key.config_hash)]
    panels, classes = [], EXPRESSIONS
    for row, role in best_and_baseline(with_frames, metric):
        frames = frames_of[row.key.config_hash]
        classes = frame_classes(frames[0])  # one protocol per table: its display name carries `classes=`
        counts = [c for c in (expression_confusion(f, classes) for f in frames) if c is not None]
        if not counts:
            continue
        cell = row.cells[metric]
        title = f"{row_title(row, role)}\n{metric} {cell.mean:.3f}, {cell.n_seeds} seed(s) pooled"
        panels.append((title, tuple(map(tuple, np.sum(counts, axis=0).astype(int).tolist()))))
    return ConfusionPicture(tuple(panels), classes) if panels else None
