"""The relatedness table as an annotated heat map (PNG, matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..atomic import atomic_path
from ..errors import FbnError

FORMATS = (".png", ".pdf", ".svg")


def plot_relatedness(df: pd.DataFrame, path: str | Path, title: str | None = None) -> Path:
    """Write a heat map (.png, .pdf or .svg) of `df` (expressions x AUs, values in [0, 1]) with each cell's value printed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise FbnError(f"{path}: cannot draw a {path.suffix or 'suffix-less'} file; name a {', '.join(FORMATS)} file")
    values = df.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * values.shape[1], 1.2 + 0.5 * values.shape[0]), dpi=120)
    try:
        image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(values.shape[1]), labels=list(df.columns), rotation=90)
        ax.set_yticks(range(values.shape[0]), labels=list(df.index))
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                if v > 0:  # blank zeros keep the pattern readable
                    ax.text(
                        j,
                        i,
                        f"{v:.2f}".lstrip("0") if v < 1 else "1",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="black" if v > 0.6 else "white",
                    )
        ax.set_title(title or f"P(AU | expression): {df.attrs.get('source', '')}".rstrip(": "), fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
        fig.tight_layout()
        with atomic_path(path, "heat map") as tmp:
            fig.savefig(tmp, format=path.suffix.lower()[1:])
    finally:
        plt.close(fig)
    return path
