"""What every leaderboard picture is: a PNG under `<out>/<folder>/<database>.png` whose Description chunk holds,
as JSON, the numbers it draws. `build --check` compares that description, not the pixels (which differ between
matplotlib versions), so a picture is current exactly when the records still give the same numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

from ...atomic import atomic_path
from ...confusion import read_description
from ...results import file_stem

DIGITS = 6  # the numbers a description holds are rounded so: the last bits of a float are no news


def rounded(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), DIGITS) + 0.0  # + 0.0: no -0.0


class Picture:
    """One picture of a database's leaderboard. A kind sets `folder` (also its name in the description),
    `heading` and `caption` (its section in the Markdown table), and gives `content()` (the JSON-able
    numbers it draws) and `draw(plt)` (a matplotlib figure of them)."""

    folder: ClassVar[str]
    heading: ClassVar[str]
    caption: ClassVar[str]

    def content(self) -> dict[str, Any]:
        raise NotImplementedError

    def draw(self, plt):
        raise NotImplementedError

    def description(self) -> str:
        return json.dumps({"kind": self.folder, **self.content()}, sort_keys=True, ensure_ascii=False)

    def write(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = self.draw(plt)
        try:
            save_png(fig, Path(path), self.description(), self.folder)
        finally:
            plt.close(fig)

    def is_current(self, path: Path) -> bool:
        return Path(path).is_file() and read_description(path) == self.description()


def save_png(fig, path: Path, description: str, what: str) -> None:
    """Write `fig` as a PNG carrying `description`, with no Software chunk (matplotlib stamps no date in a
    PNG), so the same numbers give the same bytes with one matplotlib."""
    if not fig.legends:  # a figure-level legend was placed by its draw, which left room for it
        fig.tight_layout()
    with atomic_path(path, f"{what} picture") as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None, "Description": description})


def best_and_baseline(rows, metric: str) -> list[tuple[object, str]]:
    """[(row, "best"), (row, "baseline")] among `rows` (ranked, baseline marked) that hold `metric`: the best
    mean (the first of a tie: the table's order), then the baseline when it is another row."""
    scored = [r for r in rows if metric in r.cells]
    if not scored:
        return []
    best = max(scored, key=lambda r: r.cells[metric].mean)
    return [(best, "best")] + [(r, "baseline") for r in scored if r.is_baseline and r is not best]


def row_title(row, role: str) -> str:
    f = row.key.fields()
    return f"{role}: {f['tasks']}, {f['coupling'] or 'none'} ({f['config'][:6]})"


def picture_name(picture: Picture | type[Picture], database: str) -> str:
    return f"{picture.folder}/{file_stem(database)}.png"
