"""A tiny plugin for the relatedness tests: databases small enough to count by hand.

Loaded with `build_registry(extra_modules=["relatedness_fixture_plugin"])` (tests/ is on sys.path).
"""

import numpy as np
import pandas as pd

from fbn_bench import DatasetSpec, hookimpl

nan = np.nan

# happiness: AU12 1,1,0 (n=3, k=2); AU25 1,1,nan (n=2, k=2); AU6 0,nan,nan (n=1, k=0); AU4 0,0,0
# anger:     AU4 1,1 (n=2, k=2); AU12 0,0; AU25 0,1 (k=1); AU6 nan
# plus rows that must be ignored: an expression without AUs, AUs without an expression.
ROWS = [
    # image, expression, AU4, AU6, AU12, AU25
    ("h1.png", "happiness", 0, 0, 1, 1),
    ("h2.png", "happiness", 0, nan, 1, 1),
    ("h3.png", "happiness", 0, nan, 0, nan),
    ("a1.png", "anger", 1, nan, 0, 0),
    ("a2.png", "anger", 1, nan, 0, 1),
    ("x1.png", "anger", nan, nan, nan, nan),  # no AU labels: ignored
    ("x2.png", None, 1, 1, 1, 1),  # no expression: ignored
]


def load_both(root, split):
    df = pd.DataFrame(ROWS, columns=["image", "expression", "AU4", "AU6", "AU12", "AU25"])
    # AU1 is not annotated by this database: the core turns whatever is here into NaN.
    df["AU1"] = 1
    return df


def load_va(root, split):
    return pd.DataFrame({"image": ["v.png"], "valence": [0.1], "arousal": [0.2]})


@hookimpl
def register_datasets(register):
    # Every split is the same rows, `val` included (declared, so the core carves nothing): the counts above are
    # of the whole table.
    splits = ("train", "val", "test")
    register(DatasetSpec(name="relfix-both", tasks={"expr", "au"}, aus=(4, 6, 12, 25), load=load_both, splits=splits))
    register(DatasetSpec(name="relfix-va", tasks={"va"}, load=load_va, splits=splits))
