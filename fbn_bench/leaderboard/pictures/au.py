"""The per-AU picture (`au/<database>.png`): F1 per AU (at the thresholds chosen on validation) and, where the
records hold it, AP per AU, as grouped bars for the configuration best on the AU headline and the baseline (the
confusion picture's choice); each bar the mean over seeds, its error bar the t-interval over seeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...scoring import au_of, headlines
from .base import Picture, best_and_baseline, rounded, row_title

AU_DIR = "au"
PANELS = (("f1", "F1"), ("ap", "AP"))  # (metric prefix, axis label): `<prefix>_AU<n>`


@dataclass(frozen=True)
class AUBars:
    title: str
    config: str
    n_seeds: int
    means: tuple[float | None, ...]  # one per AU of the panel; None where the row holds no such record
    intervals: tuple[tuple[float, float] | None, ...]  # the seed t-interval; None with one seed


@dataclass(frozen=True)
class AUPicture(Picture):
    confidence: float
    panels: tuple[tuple[str, tuple[int, ...], tuple[AUBars, ...]], ...]  # (prefix, AUs, one bar set per row)

    folder = AU_DIR
    heading = "Per action unit"
    caption = (
        "F1 per AU (and AP per AU where the records hold it) of the best configuration on the AU headline and "
        "of the baseline: the mean over seeds, error bars the t-interval over seeds (none with one seed)."
    )

    def content(self) -> dict[str, Any]:
        return {
            "confidence": self.confidence,
            "panels": [
                {
                    "metric": prefix,
                    "aus": list(aus),
                    "bars": [
                        {
                            "title": b.title,
                            "config": b.config,
                            "seeds": b.n_seeds,
                            "means": [rounded(m) for m in b.means],
                            "intervals": [[rounded(x) for x in i] if i else None for i in b.intervals],
                        }
                        for b in bars
                    ],
                }
                for prefix, aus, bars in self.panels
            ],
        }

    def draw(self, plt):
        n = max(len(aus) for _, aus, _ in self.panels)
        fig, axes = plt.subplots(len(self.panels), 1, figsize=(0.55 * n + 3.0, 2.6 * len(self.panels) + 0.6), dpi=110)
        axes = np.atleast_1d(axes)
        names = dict(PANELS)
        for ax, (prefix, aus, bars) in zip(axes, self.panels):
            x = np.arange(len(aus))
            width = 0.8 / len(bars)
            for k, (b, color) in enumerate(zip(bars, ("tab:blue", "tab:grey"))):
                means = np.array([np.nan if m is None else m for m in b.means])
                low = [m - i[0] if i else 0.0 for m, i in zip(means, b.intervals)]
                high = [i[1] - m if i else 0.0 for m, i in zip(means, b.intervals)]
                errors = np.array([low, high]) if any(b.intervals) else None
                offset = (k - (len(bars) - 1) / 2) * width
                ax.bar(x + offset, means, width, yerr=errors, capsize=2, color=color, label=b.title)
            ax.set_xticks(x, labels=[f"AU{a}" for a in aus], fontsize=7)
            ax.set_ylim(0, 1.05)
            ax.set_ylabel(f"{names[prefix]} per AU (test)", fontsize=8)
            ax.tick_params(axis="y", labelsize=7)
            ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(bars), frameon=False)
        return fig


def au_picture(table, spec=None) -> AUPicture | None:
    """The picture of `table`, None when its chosen rows hold no per-AU F1 (nor AP) record."""
    chosen = best_and_baseline(table.rows, headlines(spec).get("au"))
    panels = []
    for prefix, _ in PANELS:
        metrics = [m for m in table.metrics if au_of(m) is not None and m == f"{prefix}_AU{au_of(m)}"]
        bars = tuple(
            AUBars(
                f"{row_title(row, role)}, {row.n_seeds} seed(s)",
                row.key.config_hash,
                row.n_seeds,
                tuple(row.cells[m].mean if m in row.cells else None for m in metrics),
                tuple(row.cells[m].seed_ci if m in row.cells else None for m in metrics),
            )
            for row, role in chosen
        )
        if any(m is not None for b in bars for m in b.means):
            panels.append((prefix, tuple(au_of(m) for m in metrics), bars))
    return AUPicture(table.settings.confidence, tuple(panels)) if panels else None
