"""The learning-curve picture (`curves/<database>.png`): each task's headline on `val` against the samples of
that task seen, one line per configuration (the mean over its seeds, the band their min..max), from the
records' `val_curve`. At equal samples seen a single-task and a holistic network are comparable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...scoring import headlines
from .base import Picture, rounded

CURVES_DIR = "curves"


@dataclass(frozen=True)
class CurvePoint:
    step: int
    samples: float  # samples of the task seen by this step, mean over the seeds
    mean: float
    low: float  # the seeds' min and max at this step
    high: float
    n_seeds: int


@dataclass(frozen=True)
class CurvesPicture(Picture):
    panels: tuple[tuple[str, str, tuple[tuple[str, str, tuple[CurvePoint, ...]], ...]], ...]
    # (task, headline, (config hash, label, points) per configuration)

    folder = CURVES_DIR
    heading = "Learning curves"
    caption = (
        "Each task's headline on `val` at every validation against the samples of that task seen: the mean over "
        "seeds, the band from the lowest to the highest seed (seeds that stopped early leave the later points)."
    )

    def content(self) -> dict[str, Any]:
        return {
            "panels": [
                {
                    "task": task,
                    "metric": metric,
                    "lines": [
                        {
                            "config": config,
                            "label": label,
                            "points": [
                                [
                                    p.step,
                                    rounded(p.samples),
                                    rounded(p.mean),
                                    rounded(p.low),
                                    rounded(p.high),
                                    p.n_seeds,
                                ]
                                for p in points
                            ],
                        }
                        for config, label, points in lines
                    ],
                }
                for task, metric, lines in self.panels
            ]
        }

    def draw(self, plt):
        labels = list(dict.fromkeys(label for _, _, lines in self.panels for _, label, _ in lines))
        colours = plt.get_cmap("tab20")  # a colour per configuration, the same in every panel
        rows = (len(labels) + 1) // 2  # the shared legend below the panels, two columns
        legend_in = 0.12 * rows + 0.15  # inches the legend takes at fontsize 6
        height = 3.6 + legend_in
        fig, axes = plt.subplots(1, len(self.panels), figsize=(5.2 * len(self.panels), height), dpi=110, squeeze=False)
        for ax, (task, metric, lines) in zip(axes[0], self.panels):
            for _, label, points in lines:
                x = [p.samples for p in points]
                colour = colours(labels.index(label) % 20)
                style = "--" if "patience" in label else "-"  # stopped early on val: ablation v2's conv_ rows
                ax.plot(
                    x,
                    [p.mean for p in points],
                    style,
                    marker="o",
                    markersize=2.5,
                    color=colour,
                    linewidth=1.4,
                    label=label,
                )
                ax.fill_between(x, [p.low for p in points], [p.high for p in points], color=colour, alpha=0.15)
            ax.set_xlabel(f"{task} samples seen", fontsize=8)
            ax.set_ylabel(f"{metric} (val)", fontsize=8)
            ax.set_title(f"{task}: {metric} on val", fontsize=9)
            ax.tick_params(labelsize=7)
        handles = {h.get_label(): h for ax in axes[0] for h in ax.get_lines()}
        fig.legend([handles[label] for label in labels], labels, loc="lower center", ncol=2, fontsize=6, frameon=False)
        fig.tight_layout(rect=(0, legend_in / height, 1, 1))  # room below for the legend
        return fig


def curve_points(curves: list[tuple[tuple[int, float, float], ...]]) -> tuple[CurvePoint, ...]:
    """The seeds' curves ((step, samples, value), ...) pooled step by step: each step's mean over the seeds
    that validated there."""
    by_step: dict[int, list[tuple[float, float]]] = {}
    for curve in curves:
        for step, samples, value in curve:
            by_step.setdefault(step, []).append((samples, value))
    points = []
    for step in sorted(by_step):
        samples, values = np.array(by_step[step]).T
        points.append(
            CurvePoint(
                step, float(samples.mean()), float(values.mean()), float(values.min()), float(values.max()), len(values)
            )
        )
    return tuple(points)


def curves_picture(table, entries: dict, spec=None) -> CurvesPicture | None:
    """The picture of `table`; `entries`: config hash -> its Entry (whose runs carry the curves). None when no
    record of the database has a `val_curve` (records written before fbn-bench kept one)."""
    panels = []
    for task in table.tasks:
        metric = headlines(spec).get(task)
        lines = []
        for row in table.rows:
            curves = [run.curves[task] for run in entries[row.key.config_hash].runs if run.curves.get(task)]
            if curves:
                lines.append(
                    (row.key.config_hash, f"{row.key.label()} ({row.key.config_hash[:6]})", curve_points(curves))
                )
        if lines and metric:
            panels.append((task, metric, tuple(lines)))
    return CurvesPicture(tuple(panels)) if panels else None
