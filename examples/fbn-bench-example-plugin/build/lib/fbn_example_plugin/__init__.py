"""An example fbn-bench plugin: a tiny expression database read from a CSV, and one extra metric."""

from pathlib import Path

import pandas as pd

from fbn_bench import DatasetSpec, MetricSpec, hookimpl
from fbn_bench import metrics

# The database's own code table, mapped to fbn-bench's canonical names in the loader.
CODES = {0: "neutral", 1: "happiness", 2: "sadness", 3: "surprise"}


def load_mydb(root: Path, split: str) -> pd.DataFrame:
    """`<root>/<split>.csv` with columns `file,subject,label`; images under `<root>/images/`."""
    raw = pd.read_csv(Path(root) / f"{split}.csv")
    return pd.DataFrame({
        "image": "images/" + raw["file"],
        "subject": raw["subject"].astype(str),
        "expression": raw["label"].map(CODES),
    })


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean per-class recall, for imbalanced expression sets."""
    import numpy as np

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean([metrics.accuracy(y_true[y_true == c], y_pred[y_true == c]) for c in np.unique(y_true)]))


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="mydb", tasks={"expr"}, load=load_mydb,
        description="an example expression database", license="CC0", homepage="https://example.org/mydb",
        citation="Doe et al., MyDB, 2026",
    ))


@hookimpl
def register_metrics(register):
    register(MetricSpec("balanced_accuracy", balanced_accuracy, task="expr", description="mean per-class recall"))
