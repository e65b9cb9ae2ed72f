"""The relatedness table R[e, j] = P(AU j active | expression e), 7 x 17 in canonical order.

`du2014` is built from Du, Tao and Martinez, "Compound facial expressions of emotion" (PNAS 2014,
Table 1): prototypical AUs (shown by > 70% of subjects) get 1.0, observational AUs the share of
subjects who showed them. Neutral has no AUs; AU11 lies outside the 17 and is dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..tasks import AU_COLUMNS, AUS, EXPRESSIONS

# expression -> (prototypical AUs, {observational AU: share of subjects})
DU2014: dict[str, tuple[tuple[int, ...], dict[int, float]]] = {
    "neutral": ((), {}),
    "anger": ((4, 7, 24), {10: 0.26, 17: 0.52, 23: 0.29}),
    "disgust": ((9, 10, 17), {4: 0.31, 24: 0.26}),
    "fear": ((1, 4, 20, 25), {2: 0.57, 5: 0.63, 26: 0.33}),
    "happiness": ((12, 25), {6: 0.51}),
    "sadness": ((4, 15), {1: 0.60, 6: 0.50, 17: 0.67}),
    "surprise": ((1, 2, 25, 26), {5: 0.66}),
}

# The 11 RAF-DB compound classes, in RAF-DB's order (codes 1-11), with their prototypical AUs (Du et al.).
COMPOUND_EXPRESSIONS: dict[str, tuple[int, ...]] = {
    "happily surprised": (1, 2, 12, 25),
    "happily disgusted": (10, 12, 25),
    "sadly fearful": (1, 4, 15, 25),
    "sadly angry": (4, 7, 15),
    "sadly surprised": (1, 4, 25, 26),
    "sadly disgusted": (4, 10),
    "fearfully angry": (4, 20, 25),
    "fearfully surprised": (1, 2, 5, 20, 25),
    "angrily surprised": (4, 25, 26),
    "angrily disgusted": (4, 10, 17),
    "disgustedly surprised": (1, 2, 5, 10),
}


def du2014() -> pd.DataFrame:
    """R from Du et al. 2014 as a DataFrame (index: expression names, columns AU1..AU26)."""
    table = np.zeros((len(EXPRESSIONS), len(AUS)))
    for e, (prototypical, observational) in DU2014.items():
        row = EXPRESSIONS.index(e)
        for au in prototypical:
            table[row, AUS.index(au)] = 1.0
        for au, share in observational.items():
            table[row, AUS.index(au)] = share
    return pd.DataFrame(table, index=list(EXPRESSIONS), columns=list(AU_COLUMNS))


def prototypical_aus(expression: str) -> tuple[int, ...]:
    return DU2014[expression][0]
