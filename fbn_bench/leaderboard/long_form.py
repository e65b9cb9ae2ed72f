"""Tables -> long form, for `leaderboard show --format csv|json`: one row per configuration and metric,
with every interval, the comparison with the baseline, and the reference rows marked `kind=reference`."""

from __future__ import annotations

import csv
import io
import json
import math

from .tables import Table


def _round(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 6) + 0.0  # + 0.0: no "-0.0" in CSV or JSON


def to_records(table: Table) -> list[dict]:
    """Long form, one dict per row x metric: measured rows first, then reference rows."""
    out = []
    for rank, row in enumerate(table.rows, start=1):
        for metric, cell in ((m, row.cells[m]) for m in table.metrics if m in row.cells):
            out.append(
                {
                    "database": table.database,
                    "kind": "measured",
                    "rank": rank,
                    **row.key.fields(),
                    "seeds": row.n_seeds,
                    "metric": metric,
                    "mean": _round(cell.mean),
                    "seed_ci_low": _round(cell.seed_ci[0]) if cell.seed_ci else None,
                    "seed_ci_high": _round(cell.seed_ci[1]) if cell.seed_ci else None,
                    "boot_ci_low": _round(cell.boot_ci[0]) if cell.boot_ci else None,
                    "boot_ci_high": _round(cell.boot_ci[1]) if cell.boot_ci else None,
                    "best": cell.best,
                    "baseline": row.is_baseline,
                    "difference": _round(row.comparisons[metric].difference) if metric in row.comparisons else None,
                    **_difference_interval(row.comparisons.get(metric)),
                    "p_value": _round(row.comparisons[metric].p_value) if metric in row.comparisons else None,
                    "p_hierarchical": _round(row.comparisons[metric].p_hierarchical)
                    if metric in row.comparisons
                    else None,
                    "p_test": _round(row.comparisons[metric].p_test) if metric in row.comparisons else None,
                    "citation": None,
                }
            )
    for ref in table.references:
        for metric, value in ref.metrics.items():
            out.append(
                {
                    "database": table.database,
                    "kind": "reference",
                    "method": ref.method,
                    "metric": metric,
                    "mean": _round(value),
                    "citation": ref.citation,
                    "note": ref.note,
                }
            )
    return out


def _difference_interval(found) -> dict:
    interval = found.interval if found is not None and found.interval else (None, None)
    return {"diff_ci_low": _round(interval[0]), "diff_ci_high": _round(interval[1])}


def to_json(table: Table) -> str:
    doc = {
        "database": table.database,
        "split": table.split,
        "tasks": list(table.tasks),
        "metrics": table.metrics,
        "headline": table.headline,
        "resampling_unit": table.unit,
        "clusters": table.n_clusters,
        "resamples": table.settings.resamples,
        "seed": table.settings.seed,
        "confidence": table.settings.confidence,
        "baseline": table.baseline.fields() if table.baseline else None,
        "holm_family_size": table.family_size,
        "resolvable": [
            {
                "metric": r.metric,
                "difference": _round(r.difference),
                "seed_sd": _round(r.seed_sd),
                "rows": r.rows,
                "n_seeds": r.n_seeds,
                "tasks": r.tasks,
                "against": r.against,
                "against_sd": _round(r.against_sd),
            }
            for r in table.resolvable
        ],
        "rows": to_records(table),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


CSV_FIELDS = [
    "database",
    "kind",
    "rank",
    "backbone",
    "tasks",
    "coupling",
    "preset",
    "image_size",
    "steps",
    "patience",
    "config",
    "seeds",
    "method",
    "metric",
    "mean",
    "seed_ci_low",
    "seed_ci_high",
    "boot_ci_low",
    "boot_ci_high",
    "best",
    "baseline",
    "difference",
    "diff_ci_low",
    "diff_ci_high",
    "p_value",
    "p_hierarchical",
    "p_test",
    "citation",
    "note",
]


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in to_records(table):
        writer.writerow(record)
    return buffer.getvalue()
