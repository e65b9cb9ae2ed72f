"""A tiny dataset plugin for engine tests: faces are 16 x 16 colour patches whose hue encodes the
expression, brightness the valence, a stripe AU12 and a dot AU4, so a model can learn them in a few
steps. `write_toy(root, ...)` writes it in a format the loader reads (CSV + PNGs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from fbn_bench import EXPRESSIONS, DatasetSpec, hookimpl

PALETTE = np.array(
    [[200, 200, 200], [220, 40, 40], [60, 160, 60], [120, 60, 200], [250, 200, 40], [40, 80, 220], [240, 120, 200]],
    dtype=np.float64,
)


def write_toy(root: Path, n_train: int = 96, n_test: int = 40, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for split, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            e = int(rng.integers(0, 7))
            valence = float(rng.uniform(-1, 1))
            au4, au12 = int(rng.integers(0, 2)), int(rng.integers(0, 2))
            img = np.tile(PALETTE[e] * (0.6 + 0.4 * (valence + 1) / 2), (16, 16, 1))
            if au12:
                img[10:12, :, :] = 0
            if au4:
                img[2:5, 6:10, :] = 255
            name = f"images/{split}_{i:04d}.png"
            Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(root / name)
            rows.append(
                {
                    "split": split,
                    "image": name,
                    "subject": f"{split}{i % 8}",
                    "valence": valence,
                    "arousal": -valence / 2,
                    "expression": EXPRESSIONS[e],
                    "AU4": au4,
                    "AU12": au12,
                }
            )
    pd.DataFrame(rows).to_csv(root / "labels.csv", index=False)
    return root


def load_toy(root, split):
    table = pd.read_csv(Path(root) / "labels.csv")
    return table[table["split"] == split].drop(columns="split")


def load_toy_expr(root, split):
    return load_toy(root, split)[["image", "subject", "expression"]]


def load_toy8(root, split, *, classes):
    """The toy's expressions under two protocols: with `classes=8` a neutral face with the AU12 stripe is
    `contempt` (a class the picture shows); under the 7 it is left unlabelled, as AffectNet-7 leaves contempt."""
    table = load_toy(root, split)[["image", "subject", "expression", "AU12"]]
    marked = (table["expression"] == "neutral") & (table["AU12"] == 1)
    table["expression"] = table["expression"].where(~marked, "contempt" if classes == "8" else None)
    return table.drop(columns="AU12")


@hookimpl
def register_datasets(register):
    register(DatasetSpec("toy", tasks={"va", "expr", "au"}, aus=(4, 12), load=load_toy, description="engine test data"))
    register(
        DatasetSpec("toy-expr", tasks={"expr"}, load=load_toy_expr, description="engine test data, expressions only")
    )
    register(
        DatasetSpec(
            "toy8",
            tasks={"expr"},
            load=load_toy8,
            description="engine test data, expressions with an 8-class protocol",
            expression_protocols={"7": EXPRESSIONS, "8": (*EXPRESSIONS, "contempt")},
        )
    )
