"""One database's leaderboard: rows of configurations with seed means and intervals, sorted and marked."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import FbnError
from ..scoring import au_of, headlines, metric_names, specs_scoring, task_of
from ..tasks import ALL_TASKS, TASKS
from . import bootstrap
from .paired import Comparison, compare, seed_distributions
from .pictures import Picture, table_pictures
from .records import ConfigKey, Entry, SeedRun
from .references import Reference
from .samples import Clusters, group_column, load_predictions
from .sums import layout_for, sample_counts

DISPLAY_DIGITS = 3  # the decimals the Markdown shows: "best" is decided at this precision


@dataclass(frozen=True)
class Settings:
    resamples: int = bootstrap.DEFAULT_RESAMPLES
    seed: int = bootstrap.DEFAULT_SEED
    confidence: float = bootstrap.CONFIDENCE
    baseline: str | None = None
    note: str = ""  # shown at the top of the folder's index (what the tables are, or why they are superseded)


@dataclass
class Cell:
    mean: float
    n_seeds: int
    seed_ci: tuple[float, float] | None = None
    boot_ci: tuple[float, float] | None = None
    best: bool = False


@dataclass
class Resolvable:
    """The smallest difference in `metric` the table's seeds can resolve (bootstrap.resolvable_difference),
    between two rows that train `tasks`, or (with `against`) between such a row and the baseline, which trains
    `against`. Seed noise is pooled only over rows of one task set: a single-task network's seeds can spread far
    more than the holistic network's, and one pooled s.d. would misstate both."""

    metric: str
    difference: float
    seed_sd: float  # pooled over `rows` rows that train `tasks`
    rows: int
    n_seeds: int  # the fewest seeds of those rows (and of the baseline's, with `against`)
    tasks: str = ""
    against: str | None = None  # the baseline's tasks, when they are not `tasks`
    against_sd: float | None = None  # their seed s.d., pooled over the rows that train them


@dataclass
class Row:
    key: ConfigKey
    n_seeds: int
    cells: dict[str, Cell]
    comparisons: dict[str, Comparison] = field(default_factory=dict)  # headline metric -> vs the baseline
    is_baseline: bool = False


@dataclass
class Table:
    database: str
    split: str
    tasks: tuple[str, ...]
    metrics: list[str]
    headline: str
    rows: list[Row]
    settings: Settings
    unit: str = "rows"
    n_clusters: int = 0
    n_samples: int | None = None
    references: list[Reference] = field(default_factory=list)
    baseline: ConfigKey | None = None
    compared: list[str] = field(default_factory=list)  # the metrics compared with the baseline
    notes: list[str] = field(default_factory=list)
    lower_is_better: frozenset[str] = frozenset()  # metric plugins declared so (an error, a distance)
    resolvable: list[Resolvable] = field(default_factory=list)  # one per task headline
    family_size: int = 0  # comparisons in the Holm family (every row x compared metric of this table)
    pictures: list[Picture] = field(default_factory=list)  # in the order the Markdown shows them (pictures/)


def database_metrics(metrics_seen: set[str], spec) -> list[str]:
    """Display order: the registered database's metrics when known, else the canonical order of what
    the records hold; metrics fbn-bench does not know (from third-party plugins) come last. A metric no
    record holds is left out (records written before fbn-bench scored it), except a task's headline."""
    if spec is not None and spec.tasks:
        known = [m for _, m in metric_names(spec.tasks, spec.aus)]
    else:
        tasks = {task_of(m) for m in metrics_seen} - {None}
        aus = sorted({au_of(m) for m in metrics_seen} - {None})
        known = [m for _, m in metric_names(tasks, aus)]
    # An opt-in task's (au_int) headline only once a record holds that task: other tables stay as they were.
    seen_tasks = {task_of(m) for m in metrics_seen}
    ranked = headlines(spec).items() if spec is not None else ()
    ranked_by = {m for t, m in ranked if t in TASKS or t in seen_tasks}
    ordered = [m for m in known if m in metrics_seen or m in ranked_by]
    return ordered + sorted(metrics_seen - set(ordered))


def headline_of(metrics: list[str], spec=None) -> str | None:
    for task in ALL_TASKS:
        if headlines(spec).get(task) in metrics:
            return headlines(spec)[task]
    return metrics[0] if metrics else None


def matches_baseline(key: ConfigKey, text: str) -> bool:
    """`text` is a config-hash prefix, or `field=value` pairs joined by commas (tasks as `va+expr`)."""
    text = text.strip()
    if "=" not in text:
        return key.config_hash.startswith(text)
    fields = {k: "" if v is None else str(v) for k, v in key.fields().items()}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        name = name.strip().replace("-", "_")
        if name not in fields:
            raise FbnError(f"baseline {text!r}: unknown field {name!r}; use {', '.join(fields)}")
        if fields[name] != value.strip():
            return False
    return True


def _unusable(run: SeedRun, frame, tasks, aus, specs=None) -> str | None:
    """Why a seed's predictions cannot stand for its records in the bootstrap, or None when they can:
    they must be there, hold the columns of every task (and AU) the run was scored on, and hold as
    many labelled samples as the records counted."""
    if frame is None:
        return "no predictions file"
    scored = {task_of(m) for m in run.values} & set(tasks)
    scored_aus = {au_of(m) for m in run.values} & set(aus)
    layout = layout_for(frame, tasks, aus, specs)
    lacking = [t for t in tasks if t in scored and t not in layout.tasks]
    lacking += [f"AU{a}" for a in sorted(scored_aus - set(layout.aus))]
    if lacking:
        return f"predictions without the {', '.join(lacking)} columns"
    counts = sample_counts(layout)
    for metric, recorded in run.n_samples.items():  # in the records' order: headline metrics first
        count = counts.get(metric)
        if count is not None and recorded != count:
            return f"predictions with {count} labelled samples for {metric} where the records scored {recorded}"
    return None


def build_table(
    database: str,
    entries: list[Entry],
    settings: Settings,
    spec=None,
    references: list[Reference] | None = None,
    lower_is_better: frozenset[str] = frozenset(),
    specs=None,
) -> Table:
    """The table of one database from its entries (all configurations evaluated on it). `lower_is_better`:
    metrics whose best value is the smallest; `specs`: the registered MetricSpecs (None: the built-ins)."""
    seen = {m for e in entries for r in e.runs for m in r.values}
    # Reported numbers never add measured columns; a database with only reported rows uses theirs.
    metrics = database_metrics(seen, spec) or database_metrics(
        {m for ref in references or [] for m in ref.metrics}, None
    )
    headline = headline_of([m for m in metrics if m in seen] or metrics, spec)  # a headline some record holds
    specs = specs_scoring(metrics, specs)  # resample only the metrics the table shows
    tasks = tuple(t for t in ALL_TASKS if any(task_of(m) == t for m in metrics))
    aus = tuple(sorted({au_of(m) for m in metrics} - {None}))
    split = entries[0].split if entries else "test"
    table = Table(
        database,
        split,
        tasks,
        metrics,
        headline or "",
        [],
        settings,
        references=list(references or []),
        lower_is_better=frozenset(lower_is_better),
    )

    frames = {id(e): load_predictions(e) for e in entries}
    # A row resamples only when every seed's predictions stand for its records: an interval or p-value
    # from some of the seeds would describe another mean than the one the cell shows.
    partial: dict[str, list[tuple[SeedRun, str]]] = {}
    for entry in entries:
        problems = [(run, _unusable(run, frames[id(entry)].get(run.run_id), tasks, aus, specs)) for run in entry.runs]
        problems = [(run, why) for run, why in problems if why]
        if problems:
            if frames[id(entry)]:  # none stored at all is the plain `[–]` case, explained in the docs
                partial[entry.key.config_hash] = problems
            frames[id(entry)] = {}
    every = [f for fs in frames.values() for f in fs.values()]
    column = group_column(getattr(spec, "group_column", None), spec is not None, every)
    clusters = Clusters.of(column, every)
    table.unit, table.n_clusters = column, len(clusters)
    table.n_samples = max((max(r.n_samples.values(), default=0) for e in entries for r in e.runs), default=None)
    weights = None
    if len(clusters):
        rng = bootstrap.database_rng(settings.seed, database)
        weights = bootstrap.resample_weights(len(clusters), settings.resamples, rng)

    by_key: dict[str, Entry] = {e.key.config_hash: e for e in entries}
    dists: dict[str, dict[str, np.ndarray]] = {}
    shares: dict[str, np.ndarray] = {}
    for entry in entries:
        entry_frames = [frames[id(entry)][r.run_id] for r in entry.runs if r.run_id in frames[id(entry)]]
        dist = seed_distributions(entry_frames, clusters, weights, tasks, aus, specs) if weights is not None else {}
        dists[entry.key.config_hash] = dist
        if entry_frames and weights is not None:
            rng = bootstrap.seed_rng(settings.seed, database, entry.key.config_hash)
            shares[entry.key.config_hash] = bootstrap.seed_weights(len(entry_frames), settings.resamples, rng)
        cells = {}
        for metric in metrics:
            values = entry.values(metric)
            if not values:
                continue
            cells[metric] = Cell(
                float(np.mean(values)),
                len(values),
                bootstrap.seed_interval(values, settings.confidence),
                bootstrap.percentile_interval(dist[metric].mean(axis=0), settings.confidence)
                if metric in dist
                else None,
            )
        table.rows.append(Row(entry.key, len(entry.runs), cells))

    if settings.baseline:
        chosen = [k for k, e in by_key.items() if matches_baseline(e.key, settings.baseline)]
        if len(chosen) > 1:
            raise FbnError(
                f"baseline {settings.baseline!r} matches {len(chosen)} configurations on {database} "
                f"({', '.join(sorted(chosen))}); give a config hash or more fields"
            )
        if not chosen:
            table.notes.append(
                f"The baseline ({settings.baseline}) was not evaluated on {database}: no paired comparison."
            )
        else:
            base = by_key[chosen[0]]
            table.baseline = base.key
            # Each task's headline metric the baseline was scored on: a multi-task database gets one
            # comparison per task, so "multi-task beats single-task" is measured task by task.
            ranked_by = headlines(spec)
            table.compared = [ranked_by[t] for t in tasks if t in ranked_by and base.values(ranked_by[t])]
            base_frames = list(frames[id(base)].values())
            for row in table.rows:
                row.is_baseline = row.key == base.key
                mine = list(frames[id(by_key[row.key.config_hash])].values())
                if weights is None or row.is_baseline or not mine or not base_frames:
                    continue
                known = (dists[row.key.config_hash], dists[base.key.config_hash])
                pair = (shares[row.key.config_hash], shares[base.key.config_hash])
                for metric in table.compared:
                    if metric in row.cells:
                        found = compare(
                            mine,
                            base_frames,
                            clusters,
                            weights,
                            tasks,
                            aus,
                            metric,
                            known,
                            pair,
                            specs,
                            settings.confidence,
                        )
                        if found is not None:
                            row.comparisons[metric] = found
            table.family_size = _holm_adjust(table)

    table.resolvable = _resolvable(table, entries, tasks, spec)

    for config_hash, problems in partial.items():
        table.notes.append(_partial_note(by_key[config_hash].key, problems, table.baseline))
    _rank(table)
    frames_of = {e.key.config_hash: list(frames[id(e)].values()) for e in entries}
    table.pictures = table_pictures(table, frames_of, by_key, spec)
    return table


def _holm_adjust(table: Table) -> int:
    """Replace each comparison's p by its Holm-adjusted hierarchical p; the family is every comparison of
    the table that has one (all rows against the baseline, every compared metric). Returns its size."""
    found = [c for r in table.rows for c in r.comparisons.values()]
    adjusted = bootstrap.holm([c.p_hierarchical for c in found])
    for comparison, p in zip(found, adjusted):
        comparison.p_value = float(p)
    return int(np.count_nonzero(~np.isnan(adjusted)))


def _resolvable(table: Table, entries: list[Entry], tasks, spec=None) -> list[Resolvable]:
    """For each task's headline metric and each task set of the rows: the smallest difference between two of
    its rows (when it has two with seeds), and between one of its rows and the baseline (when the baseline
    trains other tasks). The baseline's task set comes first."""
    ranked_by = headlines(spec)
    base_tasks = table.baseline.tasks if table.baseline is not None else None
    by_tasks: dict[tuple[str, ...], list[Entry]] = {}
    for entry in sorted(entries, key=lambda e: e.key.tasks != base_tasks):
        by_tasks.setdefault(entry.key.tasks, []).append(entry)
    out = []
    for metric in (ranked_by[t] for t in tasks if t in ranked_by):
        pooled = {k: bootstrap.pooled_seed_sd([e.values(metric) for e in group]) for k, group in by_tasks.items()}
        for group, found in pooled.items():
            if found is None:
                continue
            sd, rows, n = found
            label = "+".join(group)
            if rows >= 2:
                out.append(Resolvable(metric, bootstrap.resolvable_difference(sd, n), sd, rows, n, label))
            base = pooled.get(base_tasks) if base_tasks is not None and group != base_tasks else None
            if base is not None:
                fewest = min(n, base[2])
                difference = bootstrap.resolvable_difference(sd, fewest, other_sd=base[0])
                out.append(Resolvable(metric, difference, sd, rows, fewest, label, "+".join(base_tasks), base[0]))
    return out


def _partial_note(key: ConfigKey, problems: list[tuple[SeedRun, str]], baseline: ConfigKey | None) -> str:
    runs = "; ".join(f"seed {run.seed}, run {run.run_id}: {why}" for run, why in problems)
    if baseline is None:
        what = "No bootstrap interval"
    elif baseline == key:
        what = "No bootstrap interval, and no row compared with it,"
    else:
        what = "No bootstrap interval or comparison"
    return f"{what} for {key.label()} (config {key.config_hash}): not every seed has usable predictions ({runs})."


def _rank(table: Table) -> None:
    """Sort by the headline mean (best first), then mark the best measured mean of every column, at the
    precision shown: cells that read the same are all bold."""

    def order(row: Row):
        cell = row.cells.get(table.headline)
        return (cell is None, -(cell.mean if cell else 0.0), row.key.label(), row.key.config_hash)

    table.rows.sort(key=order)
    for metric in table.metrics:
        cells = [r.cells[metric] for r in table.rows if metric in r.cells]
        if cells:
            pick = min if metric in table.lower_is_better else max
            top = round(pick(c.mean for c in cells), DISPLAY_DIGITS)
            for cell in cells:
                cell.best = round(cell.mean, DISPLAY_DIGITS) == top
