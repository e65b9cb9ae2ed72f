"""The forest picture (`forest/<database>.png`): every row's paired difference from the baseline on each task's
headline, with the interval of the hierarchical bootstrap that gives its p (seeds and test clusters resampled,
`tables.compare`), one panel per compared headline, and the Holm-adjusted p beside each marker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import Picture, rounded

FOREST_DIR = "forest"


@dataclass(frozen=True)
class ForestRow:
    config: str
    difference: float
    interval: tuple[float, float] | None
    p_value: float  # Holm-adjusted; NaN when a side has one seed


@dataclass(frozen=True)
class ForestPicture(Picture):
    baseline: str
    confidence: float
    resamples: int
    labels: tuple[tuple[str, str], ...]  # (config hash, label) of every row compared, in the table's order
    panels: tuple[tuple[str, tuple[ForestRow, ...]], ...]  # (headline metric, its compared rows)

    folder = FOREST_DIR
    heading = "Differences from the baseline"
    caption = (
        "Each row's Δ on each task's headline with its interval from the hierarchical paired bootstrap (each row's "
        "seeds and the test clusters resampled, the distribution that gives p); p right of each panel, Holm-adjusted."
    )

    def content(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "confidence": self.confidence,
            "rows": [{"config": c, "label": label} for c, label in self.labels],
            "panels": [
                {
                    "metric": metric,
                    "rows": [
                        {
                            "config": r.config,
                            "difference": rounded(r.difference),
                            "interval": [rounded(x) for x in r.interval] if r.interval else None,
                            "p_value": rounded(r.p_value),
                        }
                        for r in rows
                    ],
                }
                for metric, rows in self.panels
            ],
        }

    def draw(self, plt):
        from ..render import p_text

        height = len(self.labels)
        y_of = {c: height - 1 - i for i, (c, _) in enumerate(self.labels)}  # the table's first row on top
        fig, axes = plt.subplots(
            1, len(self.panels), figsize=(4.2 * len(self.panels) + 3.0, 0.42 * height + 1.6), dpi=110, squeeze=False
        )
        for i, (ax, (metric, rows)) in enumerate(zip(axes[0], self.panels)):
            for r in rows:
                yi = y_of[r.config]
                if r.interval:
                    ax.plot(r.interval, [yi, yi], color="tab:blue", linewidth=1.6)
                ax.plot([r.difference], [yi], "o", color="tab:blue", markersize=5)
                ax.annotate(  # in a column right of the panel: clear of the markers and the zero line
                    f"p {p_text(r.p_value, self.resamples)}",
                    (1.0, yi),
                    xycoords=("axes fraction", "data"),
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7,
                )
            ax.axvline(0.0, color="grey", linewidth=1, linestyle="--")
            ax.set_yticks(
                [y_of[c] for c, _ in self.labels],
                labels=[label for _, label in self.labels] if i == 0 else [""] * height,
                fontsize=7,
            )
            ax.set_ylim(-0.7, height - 0.3)
            ax.set_xlabel(f"Δ {metric} (row − baseline), {self.confidence:.0%} interval", fontsize=8)
            ax.set_title(f"{metric}: against {self.baseline}", fontsize=8)
            ax.margins(x=0.25)
            ax.tick_params(axis="x", labelsize=7)
        return fig


def forest_picture(table) -> ForestPicture | None:
    """The forest picture of `table` (built with a baseline), None when no row was compared with it."""
    panels = []
    for metric in table.compared:
        rows = tuple(
            ForestRow(r.key.config_hash, c.difference, c.interval, c.p_value)
            for r in table.rows
            if (c := r.comparisons.get(metric)) is not None
        )
        if rows:
            panels.append((metric, rows))
    if not panels or table.baseline is None:
        return None
    labels = tuple(
        (r.key.config_hash, f"{r.key.label()} ({r.key.config_hash[:6]})") for r in table.rows if r.comparisons
    )
    s = table.settings
    return ForestPicture(table.baseline.label(), s.confidence, s.resamples, labels, tuple(panels))
