"""Bookkeeping shared by the Aff-Wild, Aff-Wild2, AffectNet and AFEW-VA fixture writers.

A writer records, for every row the loader should return, the labels it wrote (`Row`), and turns them
into the counts `datasets stats` must print, without ever calling the loader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from real_fixtures_common import write_image  # noqa: F401  (re-exported for the Aff-* fixtures)

from fbn_bench.tasks import EXPRESSIONS, EXTRA_CLASSES


@dataclass
class Row:
    subject: str
    image_exists: bool = True
    valence: float | None = None
    arousal: float | None = None
    expression: str | None = None
    aus: dict[int, int] = field(default_factory=dict)


@dataclass
class Fixture:
    root: Path
    # split -> expected stats (the shape of fbn_bench.data.stats.table_stats)
    stats: dict[str, dict]
    # split -> {reason: count} the loader must report as LoadedTable.skipped (fbn_bench.data.table)
    skipped: dict[str, dict[str, int]]
    # split -> expected rows, for finer checks
    rows: dict[str, list[Row]]
    options: dict = field(default_factory=dict)


def expected_stats(name: str, split: str, rows: list[Row], tasks: set[str], aus: tuple[int, ...]) -> dict:
    stats = {
        "dataset": name,
        "split": split,
        "n_samples": len(rows),
        "n_subjects": len({r.subject for r in rows}) if rows else None,
        "missing_images": sum(not r.image_exists for r in rows),
    }
    if "va" in tasks:
        stats["va"] = {"n": sum(r.valence is not None and r.arousal is not None for r in rows)}
    if "expr" in tasks:
        extra = [e for e in EXTRA_CLASSES if any(r.expression == e for r in rows)]  # an 8-class protocol's
        counts = {e: sum(r.expression == e for r in rows) for e in (*EXPRESSIONS, *extra)}
        stats["expr"] = {"n": sum(counts.values()), "counts": counts}
    if "au" in tasks:
        stats["au"] = {
            f"AU{a}": {"n": sum(a in r.aus for r in rows), "positive": sum(r.aus.get(a, 0) for r in rows)} for a in aus
        }
    return stats


def loaded(name: str, root: Path, split: str, **options):
    """(table, stats) as `fbn-bench datasets stats` computes them: load_split, then table_stats."""
    from fbn_bench.data.roots import load_split
    from fbn_bench.data.stats import table_stats
    from fbn_bench.registry import get_registry

    spec = get_registry().dataset(name)
    df, resolved = load_split(spec, split, {**options, "root": str(root)})
    return df, table_stats(df, spec, split, resolved)


def skipped_rows(name: str, root: Path, split: str, **options) -> dict[str, int]:
    """The rows the loader reports as dropped on purpose ({reason: count}), as the run reads them."""
    from fbn_bench.data.roots import read_split
    from fbn_bench.registry import get_registry

    return read_split(get_registry().dataset(name), split, {**options, "root": str(root)})[0].skipped


def as_rows(df, root: Path, aus: tuple[int, ...] = ()) -> list[Row]:
    """A loaded table in the fixture's own terms, for row-by-row comparison."""

    def value(x):
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else x

    return [
        Row(
            subject=r["subject"],
            image_exists=(root / r["image"]).is_file(),
            valence=value(r["valence"]),
            arousal=value(r["arousal"]),
            expression=value(r["expression"]),
            aus={a: int(r[f"AU{a}"]) for a in aus if value(r[f"AU{a}"]) is not None},
        )
        for _, r in df.iterrows()
    ]


def only_missing_image_problems(report) -> list[str]:
    """The checker's problems other than the missing images a fixture leaves out on purpose."""
    return [p for p in report.problems if "images are missing" not in p]
