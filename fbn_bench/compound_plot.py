"""Confusion matrices side by side (PNG, matplotlib's Agg backend): compound recognition (`fbn-bench compound`),
basic expressions in a run folder and in the leaderboards (`fbn_bench.confusion`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomic import atomic_path


def plot_confusions(
    panels: list[tuple[str, np.ndarray]], class_names: list[str], path: Path, description: str | None = None
) -> Path:
    """One row-normalised heat map per (title, counts (C, C)) panel: rows true class, columns predicted.
    `description`: stored in the PNG's Description text chunk (the leaderboard check reads it back)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(class_names)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(0.45 * n * len(panels) + 2.5, 0.45 * n + 2.2), dpi=110, squeeze=False
    )
    try:
        for ax, (title, counts) in zip(axes[0], panels):
            counts = np.asarray(counts, dtype=float)
            rows = counts.sum(1, keepdims=True)
            share = np.divide(counts, rows, out=np.zeros(counts.shape, float), where=rows > 0)
            ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
            ax.set_xticks(range(n), labels=class_names, rotation=90, fontsize=7)
            ax.set_yticks(range(n), labels=class_names, fontsize=7)
            ax.set_xlabel("predicted", fontsize=8)
            ax.set_ylabel("true", fontsize=8)
            ax.set_title(title, fontsize=9)
            for i in range(n):
                for j in range(n):
                    if share[i, j] >= 0.05:
                        ax.text(
                            j,
                            i,
                            f"{share[i, j]:.2f}".lstrip("0"),
                            ha="center",
                            va="center",
                            fontsize=6,
                            color="white" if share[i, j] > 0.5 else "black",
                        )
        fig.tight_layout()
        with atomic_path(path, "confusion matrix") as tmp:
            # No Software/date chunk: the same counts give the same bytes with one matplotlib.
            fig.savefig(tmp, format="png", metadata={"Software": None, "Description": description})
    finally:
        plt.close(fig)
    return path
