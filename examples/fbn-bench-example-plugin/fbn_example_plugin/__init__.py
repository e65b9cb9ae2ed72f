"""An example fbn-bench plugin: a tiny expression database read from a CSV, and one extra metric."""

from pathlib import Path

import pandas as pd

from fbn_bench import DatasetSpec, MetricSpec, hookimpl

# The database's own code table, mapped to fbn-bench's canonical names in the loader.
CODES = {0: "neutral", 1: "happiness", 2: "sadness", 3: "surprise"}


def load_mydb(root: Path, split: str) -> pd.DataFrame:
    """`<root>/<split>.csv` with columns `file,subject,label`; images under `<root>/images/`."""
    raw = pd.read_csv(Path(root) / f"{split}.csv")
    return pd.DataFrame(
        {
            "image": "images/" + raw["file"],
            "subject": raw["subject"].astype(str),
            "expression": raw["label"].map(CODES),
        }
    )


def cohen_kappa(y_true, y_pred) -> float:
    """Agreement beyond chance, (p_o - p_e) / (1 - p_e): expression indices in, one number out."""
    import numpy as np

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    observed = float(np.mean(y_true == y_pred))
    classes = np.union1d(y_true, y_pred)
    chance = float(sum(np.mean(y_true == c) * np.mean(y_pred == c) for c in classes))
    return (observed - chance) / (1 - chance) if chance < 1 else 0.0


@hookimpl
def register_datasets(register):
    register(
        DatasetSpec(
            name="mydb",
            tasks={"expr"},
            load=load_mydb,
            description="an example expression database",
            license="CC0",
            homepage="https://example.org/mydb",
            citation="Doe et al., MyDB, 2026",
        )
    )


@hookimpl
def register_metrics(register):
    register(MetricSpec("cohen_kappa", cohen_kappa, task="expr", description="Cohen's kappa: agreement beyond chance"))
