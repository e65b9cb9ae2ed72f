"""A toy database on disk for the data-path tests: small images plus an annotation CSV per split,
read by a DatasetSpec registered directly (no plugin registry involved)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from fbn_bench.specs import DatasetSpec


def load_csv(root: Path, split: str) -> pd.DataFrame:
    return pd.read_csv(Path(root) / f"{split}.csv")


def toy_spec(name: str = "toy", tasks=("va", "expr", "au"), aus=(1, 2, 12), **kwargs) -> DatasetSpec:
    # `val` is declared (never written), so the core carves nothing out of `train`: these tests count its rows.
    kwargs.setdefault("splits", ("train", "val", "test"))
    return DatasetSpec(name=name, tasks=frozenset(tasks), aus=aus if "au" in tasks else (), load=load_csv, **kwargs)


def write_image(path: Path, seed: int, size: tuple[int, int] = (40, 32), fmt: str = "PNG") -> None:
    """A smooth random colour field (so resizing and cropping give distinct, checkable pixels)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize(size, Image.Resampling.BILINEAR)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt)


def write_toy(
    root: Path,
    n: int = 12,
    split: str = "train",
    seed: int = 0,
    labels: dict | None = None,
    fmt: str = "PNG",
    size: tuple[int, int] = (40, 32),
) -> pd.DataFrame:
    """Write `n` images and `<split>.csv` under `root`; every row gets all labels unless `labels`
    (column -> list of values) overrides some. Returns the table written."""
    rng = np.random.default_rng(seed)
    ext = "png" if fmt == "PNG" else "jpg"
    images = [f"images/{split}_{i:03d}.{ext}" for i in range(n)]
    for i, rel in enumerate(images):
        write_image(root / rel, seed * 1000 + i, size=size, fmt=fmt)
    table = pd.DataFrame(
        {
            "image": images,
            "subject": [f"s{i % 3}" for i in range(n)],
            "valence": rng.uniform(-1, 1, n).round(3),
            "arousal": rng.uniform(-1, 1, n).round(3),
            "expression": [("neutral", "anger", "happiness", "surprise")[i % 4] for i in range(n)],
            "AU1": rng.integers(0, 2, n).astype(float),
            "AU2": rng.integers(0, 2, n).astype(float),
            "AU12": rng.integers(0, 2, n).astype(float),
        }
    )
    for column, values in (labels or {}).items():
        table[column] = values
    table.to_csv(root / f"{split}.csv", index=False)
    return table
