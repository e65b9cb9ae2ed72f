"""The confusion picture of a database's leaderboard (`confusion/<database>.png`): the expression confusion
matrix of the configuration best on the expression headline and of the baseline, each summed over its seeds'
stored test predictions. The counts are those scoring uses (`fbn_bench.confusion`); the PNG carries them in
its Description chunk, so `build --check` compares counts, not pixels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..confusion import CONFUSION_DIR, description, expression_confusion, read_description
from ..results import file_stem
from ..scoring import headlines
from ..tasks import EXPRESSIONS


@dataclass(frozen=True)
class Picture:
    """What a leaderboard picture shows: (title, counts) panels, counts as nested tuples (comparable)."""

    panels: tuple[tuple[str, tuple[tuple[int, ...], ...]], ...]
    classes: tuple[str, ...] = EXPRESSIONS

    def description(self) -> str:
        return description([(t, np.asarray(c)) for t, c in self.panels], self.classes)

    def write(self, path: Path) -> None:
        from ..compound_plot import plot_confusions

        panels = [(t, np.asarray(c)) for t, c in self.panels]
        plot_confusions(panels, list(self.classes), path, self.description())

    def is_current(self, path: Path) -> bool:
        return path.is_file() and read_description(path) == self.description()


def picture_name(database: str) -> str:
    return f"{CONFUSION_DIR}/{file_stem(database)}.png"


def confusion_picture(table, frames_of: dict[str, list], spec=None) -> Picture | None:
    """The picture of `table` (rows ranked, baseline marked): best row by the expression headline, then the
    baseline when it is another row; `frames_of`: config hash -> its seeds' predictions frames. None when no
    such row has expression predictions stored."""
    metric = headlines(spec).get("expr")
    scored = [r for r in table.rows if metric in r.cells and frames_of.get(r.key.config_hash)]
    if not scored:
        return None
    best = max(scored, key=lambda r: r.cells[metric].mean)  # max keeps the first of a tie: the table's order
    rows = [(best, "best")] + [(r, "baseline") for r in scored if r.is_baseline and r is not best]
    panels = []
    for row, role in rows:
        counts = [c for c in (expression_confusion(f) for f in frames_of[row.key.config_hash]) if c is not None]
        if not counts:
            continue
        f, cell = row.key.fields(), row.cells[metric]
        title = (
            f"{role}: {f['tasks']}, {f['coupling'] or 'none'} ({f['config'][:6]})\n"
            f"{metric} {cell.mean:.3f}, {cell.n_seeds} seed(s) pooled"
        )
        panels.append((title, tuple(map(tuple, np.sum(counts, axis=0).astype(int).tolist()))))
    return Picture(tuple(panels)) if panels else None
