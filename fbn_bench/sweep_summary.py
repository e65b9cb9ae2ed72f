"""The table a sweep prints at its end: each database's headline metrics per configuration, mean ± sd over
the finished seeds, one table per group of databases that share configurations."""

from __future__ import annotations

import statistics

from .results import RESULTS_FILE, read_records
from .sweep_run import PlannedRun, finished_runs


def summary_tables(plan: list[PlannedRun]) -> list[tuple[list[str], list[list[str]]]]:
    """[(headers, rows)]: headline metric per database x task (rows) and configuration (columns), mean ± sd over
    the finished seeds; one table per group of databases that share a configuration (ablation v2's worlds get a
    table each, instead of one table thirty columns wide and mostly empty)."""
    from .specs import DEFAULT_HEADLINE as HEADLINE  # records do not name their database's spec
    from .tasks import TASKS

    values: dict[tuple[str, str, str], list[float]] = {}
    for run in finished_runs(plan):
        for r in read_records(run.run_dir / RESULTS_FILE):
            if r.get("metric") == HEADLINE.get(r.get("task")) and r.get("value") is not None:
                values.setdefault((r["dataset"], r["task"], run.name), []).append(float(r["value"]))
    names = list(dict.fromkeys(r.name for r in plan))
    order = {t: i for i, t in enumerate(TASKS)}
    tables = []
    for databases in sharing_groups({(d, n) for d, _, n in values}):
        pairs = sorted({(d, t) for d, t, _ in values if d in databases}, key=lambda p: (p[0], order.get(p[1], 99)))
        used = [n for n in names if any((d, t, n) in values for d, t in pairs)]
        rows = [[d, f"{t} {HEADLINE[t]}", *(_mean_sd(values.get((d, t, n))) for n in used)] for d, t in pairs]
        tables.append((["database", "headline", *used], rows))
    return sorted(tables, key=lambda t: names.index(t[0][2]))  # in the grid's order: the primary rows first


def sharing_groups(scored: set[tuple[str, str]]) -> list[list[str]]:
    """Databases linked by a configuration scored on both, from (database, configuration) pairs: the groups,
    each sorted, ordered by their first database."""
    group = {d: {d} for d, _ in scored}
    by_name: dict[str, set[str]] = {}
    for d, n in scored:
        by_name.setdefault(n, set()).add(d)
    for linked in by_name.values():
        merged = set().union(*(group[d] for d in linked))
        for d in merged:
            group[d] = merged
    return [list(g) for g in sorted({tuple(sorted(g)) for g in group.values()})]


def _mean_sd(vals: list[float] | None) -> str:
    if not vals:
        return ""
    if len(vals) == 1:
        return f"{vals[0]:.3f}"
    return f"{statistics.fmean(vals):.3f} ± {statistics.stdev(vals):.3f}"
