"""Reported results from papers: `leaderboards/references.toml`, one `[[reference]]` table per row.

```toml
[[reference]]
database = "rafdb"                       # the leaderboard it belongs to
method = "Some method (Author et al. 2020)"
citation = "arXiv:0000.00000, Table 3"   # required: where the numbers come from
metrics = { macro_f1 = 0.0, accuracy = 0.0 }
note = "optional: protocol differences"
```

They are shown below the measured table, never ranked with it nor marked best. A compound database's
rows (`database = "rafdb-compound"`) go under its compound table and report its metrics (`uar`,
`macro_f1`, `accuracy`; docs/compound.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..compound import METRICS as COMPOUND_METRICS
from ..errors import FbnError
from ..metrics.families import ABAW_SUMS
from ..scoring import au_of, metric_names, task_of
from ..tasks import TASKS
from ..tomlfile import read_toml

REFERENCES_FILE = "references.toml"
_KEYS = {"database", "method", "citation", "metrics", "note"}
# Every metric the tables can show (f1_AU<n> besides), with its task for its range.
_METRICS = tuple(m for _, m in metric_names(TASKS, ()))
_ANY_METRIC = _METRICS + tuple(m for m in COMPOUND_METRICS if m not in _METRICS)


def _range(metric: str) -> tuple[float, float]:
    if metric in ABAW_SUMS:
        return (-1.0, 3.0)  # a CCC in [-1, 1] plus two F1s
    if metric.startswith("rmse_"):
        return (0.0, 2.0)  # an error on [-1, 1]
    if task_of(metric) == "va" and not metric.startswith("sagr_"):
        return (-1.0, 1.0)  # correlations
    return (0.0, 1.0)  # F1, AP, AUC, accuracies, SAGR


@dataclass(frozen=True)
class Reference:
    database: str
    method: str
    citation: str
    metrics: dict[str, float] = field(default_factory=dict)
    note: str = ""


def read_references(path: Path) -> list[Reference]:
    """The reference rows of a TOML file; a missing file means none."""
    path = Path(path)
    data = read_toml(path, missing_ok=True)
    rows = data.get("reference", [])
    if not isinstance(rows, list):
        raise FbnError(f"{path}: write each reference row as a [[reference]] table")
    out = []
    for number, row in enumerate(rows, start=1):
        where = f"{path}: [[reference]] #{number}"
        unknown = sorted(set(row) - _KEYS)
        if unknown:
            raise FbnError(f"{where} has unknown key(s) {unknown}; allowed: {sorted(_KEYS)}")
        for key in ("database", "method", "citation"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise FbnError(f"{where} needs a non-empty {key!r} (every reported number needs its source)")
        metrics = row.get("metrics")
        if not isinstance(metrics, dict) or not metrics:
            raise FbnError(f"{where} needs metrics = {{ name = value, ... }}")
        for name, value in metrics.items():
            if name not in _ANY_METRIC and au_of(name) is None:
                raise FbnError(
                    f"{where}: {name!r} is not a leaderboard metric; use {', '.join(_METRICS)} or a per-AU one "
                    f"(f1_AU<n>), or on a compound database {', '.join(COMPOUND_METRICS)}"
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise FbnError(f"{where}: metric {name!r} must be a number, got {value!r}")
            low, high = _range(name)
            if not low <= value <= high:
                raise FbnError(
                    f"{where}: {name} = {value!r} is outside [{low:g}, {high:g}]; values are fractions, "
                    f"not percent (write 0.852 for 85.2%)"
                )
        out.append(
            Reference(
                row["database"].strip(),
                row["method"].strip(),
                row["citation"].strip(),
                {k: float(v) for k, v in metrics.items()},
                str(row.get("note", "")).strip(),
            )
        )
    return out


def split_references(
    references: list[Reference], is_compound: Callable[[str], bool]
) -> tuple[list[Reference], dict[str, list[Reference]]]:
    """(the rows of basic-task tables, {compound database: its rows}). Each kind takes only its own metrics,
    so a number never lands in a column that means something else."""
    basic, compound = [], {}
    for ref in references:
        if is_compound(ref.database):
            wrong = sorted(set(ref.metrics) - set(COMPOUND_METRICS))
            if wrong:
                raise FbnError(
                    f"{REFERENCES_FILE}: {ref.method!r} on {ref.database}: {', '.join(wrong)} not reported on a "
                    f"compound database; use {', '.join(COMPOUND_METRICS)}"
                )
            compound.setdefault(ref.database, []).append(ref)
        else:
            wrong = sorted(set(ref.metrics) - set(_METRICS) - {m for m in ref.metrics if au_of(m) is not None})
            if wrong:
                raise FbnError(
                    f"{REFERENCES_FILE}: {ref.method!r} on {ref.database}: {', '.join(wrong)} is a compound-expression "
                    f"metric and {ref.database} is no compound database (its mean class accuracy is "
                    "mean_class_accuracy)"
                )
            basic.append(ref)
    return basic, compound


def compound_database(registry, known: set[str] = frozenset()) -> Callable[[str], bool]:
    """Is a database text a compound one: its plugin declares compound classes, or compound records name it
    (a plugin that is not installed here)."""

    def check(database: str) -> bool:
        spec = registry.find("datasets", database)
        return database in known or bool(spec is not None and getattr(spec, "compound_classes", ()))

    return check
