"""The relatedness table R[e, j] = P(AU j active | expression e), 7 x 17 in canonical order.

`du2014` is built from Du, Tao and Martinez, "Compound facial expressions of emotion" (PNAS 2014,
Table 1): prototypical AUs (shown by > 70% of subjects) get 1.0, observational AUs the share of
subjects who showed them. Neutral has no AUs; AU11 lies outside the 17 and is dropped.

`relatedness(source)` also reads the table from a CSV file or estimates it from a database that labels
both expressions and AUs (`empirical:<dataset>`, see `estimate_relatedness`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import FbnError
from ..tasks import AU_COLUMNS, AUS, EXPRESSIONS

if TYPE_CHECKING:
    import torch

    from ..registry import Registry

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

EMPIRICAL_PREFIX = "empirical:"


def du2014() -> pd.DataFrame:
    """R from Du et al. 2014 as a DataFrame (index: expression names, columns AU1..AU26)."""
    table = np.zeros((len(EXPRESSIONS), len(AUS)))
    for e, (prototypical, observational) in DU2014.items():
        row = EXPRESSIONS.index(e)
        for au in prototypical:
            table[row, AUS.index(au)] = 1.0
        for au, share in observational.items():
            table[row, AUS.index(au)] = share
    return _frame(table, source="du2014")


def prototypical_aus(expression: str) -> tuple[int, ...]:
    return DU2014[expression][0]


def _frame(values: np.ndarray, source: str) -> pd.DataFrame:
    df = pd.DataFrame(values, index=pd.Index(list(EXPRESSIONS), name="expression"), columns=list(AU_COLUMNS))
    df.attrs["source"] = source
    return df


def relatedness(
    source: str = "du2014",
    *,
    data_root: str | Path | None = None,
    smoothing: float = 1.0,
    split: str = "train",
    registry: Registry | None = None,
) -> pd.DataFrame:
    """The relatedness table P(AU | expression) as a DataFrame (7 expressions x AU1..AU26, in [0, 1]).

    `source`: `du2014` (default), `empirical:<dataset>` (estimated from that database's `split`, see
    `estimate_relatedness`; `registry` is where the database is looked up), or the path of a CSV file
    written by `fbn-bench relatedness show --csv`.
    """
    text = str(source).strip()
    if text == "du2014":
        return du2014()
    if text.startswith(EMPIRICAL_PREFIX):
        dataset = text[len(EMPIRICAL_PREFIX) :].strip()
        if not dataset:
            raise FbnError("relatedness source 'empirical:' names no database; write e.g. empirical:affwild2")
        if registry is None:  # a caller's bug: the CLI entry points pass the registry they built
            raise ValueError(f"relatedness({text!r}) needs the registry that knows {dataset!r}")
        return estimate_relatedness(dataset, data_root=data_root, smoothing=smoothing, split=split, registry=registry)
    path = Path(text).expanduser()
    if path.is_file():
        return read_relatedness_csv(path)
    if path.suffix.lower() == ".csv" or "/" in text or "\\" in text:
        raise FbnError(
            f"relatedness file {text} does not exist; give the path of a CSV file (see fbn-bench relatedness show --csv)"
        )
    raise FbnError(f"unknown relatedness source {text!r}: use du2014, empirical:<dataset> or the path of a CSV file")


def relatedness_tensor(df: pd.DataFrame) -> torch.Tensor:
    """The table as a float32 tensor (7, 17), rows in EXPRESSIONS order, columns in AUS order."""
    import torch

    return torch.tensor(df.loc[list(EXPRESSIONS), list(AU_COLUMNS)].to_numpy(np.float32))


def read_relatedness_csv(path: str | Path) -> pd.DataFrame:
    """Read and check a relatedness CSV: a header `expression,AU1,...`, then one row per expression
    (all 7 and all 17 AU columns, in any order), values in [0, 1]."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            lines = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FbnError(f"{path}: cannot read it as CSV ({type(exc).__name__}: {exc})") from None
    if not lines:
        raise FbnError(
            f"{path}: cannot read it as CSV (the file is empty); write it with fbn-bench relatedness show --csv"
        )
    columns = [c.strip() for c in lines[0][1:]]
    rows = [line[0].strip() for line in lines[1:]]
    for kind, found, wanted in (("expression row", rows, EXPRESSIONS), ("AU column", columns, AU_COLUMNS)):
        duplicates = sorted({x for x in found if found.count(x) > 1})
        missing = [x for x in wanted if x not in found]
        extra = [x for x in found if x not in wanted]
        if duplicates or missing or extra:
            what = (
                f"duplicate {kind} {duplicates[0]!r}"
                if duplicates
                else f"unknown {kind} {extra[0]!r}"
                if extra
                else f"missing {kind} {missing[0]!r}"
            )
            raise FbnError(
                f"{path}: {what}; the table needs rows {', '.join(EXPRESSIONS)} and columns {', '.join(AU_COLUMNS)} (any order)"
            )
    values = np.empty((len(EXPRESSIONS), len(AUS)))
    for line_no, line in enumerate(lines[1:], start=2):
        e = line[0].strip()
        if len(line) != len(columns) + 1:
            raise FbnError(
                f"{path}: line {line_no} (row {e!r}) has {len(line) - 1} values for {len(columns)} AU columns"
            )
        for au, cell in zip(columns, line[1:]):
            cell = cell.strip()
            try:
                value = float(cell)
            except ValueError:
                value = float("nan")
            if not 0.0 <= value <= 1.0:  # also catches NaN and non-numbers
                raise FbnError(f"{path}: row {e!r}, column {au}: value {cell!r} is not a number in [0, 1]")
            values[EXPRESSIONS.index(e), AU_COLUMNS.index(au)] = value
    return _frame(values, source=str(path))


def estimate_relatedness(
    dataset: str,
    *,
    data_root: str | Path | None = None,
    smoothing: float = 1.0,
    split: str = "train",
    registry: Registry,
) -> pd.DataFrame:
    """Empirical P(AU | expression) from a database that labels both (e.g. `affwild2`).

    Counts, over the rows of `split` that carry an expression and the AU, how often the AU is active:
    R[e, j] = (positives + a) / (labelled + 2a), a = `smoothing` (additive, Laplace for a = 1).
    Cells with no labelled row at all (an AU the database does not annotate, or an expression it never
    shows next to AU labels) keep the du2014 value. `df.attrs` records them: `fallback_aus` (AU columns
    with no label at all), `fallback_expressions` (rows with no label at all) and `counts` (labelled rows
    behind each cell), `rows` (rows with both labels).
    """
    from ..data.roots import load_split

    if smoothing < 0:
        raise FbnError(f"smoothing must be >= 0, got {smoothing}")
    plugin = registry.resolve("datasets", dataset)
    spec, options = plugin.spec, plugin.with_root()
    lacking = [t for t in ("expr", "au") if t not in spec.tasks]
    if lacking:
        raise FbnError(
            f"dataset {spec.name!r} does not label {' and '.join(lacking)}; "
            f"an empirical relatedness table needs a database that labels both expressions and AUs"
        )
    table, _ = load_split(spec, split, options, data_root)
    return _estimate_from_table(
        table, smoothing, source=f"{EMPIRICAL_PREFIX}{dataset}", where=f"dataset {spec.name!r} split {split!r}"
    )


def _estimate_from_table(table: pd.DataFrame, smoothing: float, source: str, where: str) -> pd.DataFrame:
    au = table[list(AU_COLUMNS)].to_numpy(np.float64)
    # The table is over the 7: a row of an extra class (contempt, other under `classes=8`) counts as unlabelled.
    expr = table["expression"].map(lambda e: EXPRESSIONS.index(e) if e in EXPRESSIONS else -1).to_numpy()
    has_both = (expr >= 0) & ~np.isnan(au).all(axis=1)
    if not has_both.any():
        raise FbnError(f"{where}: no row carries both an expression and AU labels; cannot estimate relatedness from it")
    labelled = np.zeros((len(EXPRESSIONS), len(AUS)))
    positives = np.zeros((len(EXPRESSIONS), len(AUS)))
    onehot = np.eye(len(EXPRESSIONS))[expr[has_both]]  # (N, 7)
    known = ~np.isnan(au[has_both])
    labelled += onehot.T @ known
    positives += onehot.T @ np.where(known, au[has_both], 0.0)
    prior = du2014().to_numpy()
    seen = labelled > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = (positives + smoothing) / (labelled + 2 * smoothing)
    df = _frame(np.where(seen, estimate, prior), source=source)
    df.attrs["rows"] = int(has_both.sum())
    df.attrs["fallback_aus"] = [c for c, any_seen in zip(AU_COLUMNS, seen.any(axis=0)) if not any_seen]
    df.attrs["fallback_expressions"] = [e for e, any_seen in zip(EXPRESSIONS, seen.any(axis=1)) if not any_seen]
    # Nested tuples, not an array: pandas compares attrs with == when it propagates them.
    df.attrs["counts"] = tuple(tuple(int(n) for n in row) for row in labelled)
    return df


def empirical_from_table(table: pd.DataFrame, smoothing: float = 1.0, source: str = "table") -> pd.DataFrame:
    """`estimate_relatedness` on an annotation table already loaded (canonical columns)."""
    if smoothing < 0:
        raise FbnError(f"smoothing must be >= 0, got {smoothing}")
    return _estimate_from_table(table, smoothing, source=source, where=source)
