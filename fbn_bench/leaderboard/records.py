"""Result records -> entries: one per database x configuration, its seeds, and where each seed's run lives."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..atomic import TMP_PREFIX
from ..errors import FbnError
from ..results import RESULTS_FILE, read_records
from ..tomlfile import read_user_text

PREFERRED_SPLIT = "test"


@dataclass(frozen=True)
class ConfigKey:
    """A configuration as the tables show it. Records group by `config_hash` (the whole seed-free
    configuration), so two runs that differ in, say, learning rate never pool as seeds."""

    config_hash: str
    backbone: str | None
    tasks: tuple[str, ...]
    coupling: str | None
    preset: str | None
    image_size: int | None
    # The budget (records' config): rows differing only in it, such as ablation v2's to-convergence rows beside
    # its equal-budget ones, must be told apart by their label and by a baseline.
    steps: int | None = None
    patience: int | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "backbone": self.backbone,
            "tasks": "+".join(self.tasks),
            "coupling": self.coupling,
            "preset": self.preset,
            "image_size": self.image_size,
            "steps": self.steps,
            "patience": self.patience,
            "config": self.config_hash,
        }

    def label(self) -> str:
        parts = [self.backbone or "?", "+".join(self.tasks) or "?", self.coupling or "no coupling"]
        if self.preset:
            parts.append(self.preset)
        if self.image_size:
            parts.append(f"{self.image_size}px")
        if self.steps and self.patience:
            parts.append(f"<= {self.steps} steps, patience {self.patience}")
        elif self.steps:
            parts.append(f"{self.steps} steps")
        return " · ".join(parts)


@dataclass
class SeedRun:
    run_id: str
    seed: int
    folder: Path  # the run folder (or its copy in the store): predictions live under it
    values: dict[str, float] = field(default_factory=dict)
    n_samples: dict[str, int] = field(default_factory=dict)
    created: str = ""
    thresholds: dict[int, float] | None = None  # the per-AU F1 thresholds its records say were used
    # task -> ((step, samples of that task seen, headline on val), ...) from the records' `val_curve`
    curves: dict[str, tuple[tuple[int, float, float], ...]] = field(default_factory=dict)


@dataclass
class Entry:
    database: str
    split: str
    key: ConfigKey
    runs: list[SeedRun]  # one per seed, ordered by seed

    def values(self, metric: str) -> list[float]:
        return [r.values[metric] for r in self.runs if metric in r.values]  # values are finite (`_checked`)


def _record_files(path: Path) -> list[Path]:
    path = Path(path)
    if not path.exists():
        raise FbnError(f"no results at {path}: give a run folder, a folder of runs, or a {RESULTS_FILE} file")
    return [path] if path.is_file() else results_files(path)


def results_files(folder: Path) -> list[Path]:
    """The results files under `folder`, leaving out those in temporary folders (`.tmp-*`, an unfinished
    `leaderboard add`): nothing reads a copy that may be incomplete."""
    return sorted(
        f for f in Path(folder).rglob(RESULTS_FILE) if not any(p.startswith(TMP_PREFIX) for p in f.parent.parts)
    )


def numbered_records(file: Path) -> Iterator[tuple[str, Any]]:
    """(`file:line`, record) for each record of a results file. `read_records` skips blank lines, and
    so does the count, so the line named is the line the record is on."""
    numbers = [n for n, line in enumerate(read_user_text(file, "results file").splitlines(), start=1) if line.strip()]
    return zip((f"{file}:{n}" for n in numbers), read_records(file))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked(record: Any, where: str) -> dict[str, Any]:
    """The record, if it holds what the tables read in the types fbn-bench writes; else a one-line
    error naming `file:line` (fbn-bench never writes such records: the file was edited or made elsewhere)."""
    fix = "remove or fix the line"
    if not isinstance(record, dict):
        raise FbnError(f"{where}: not a result record (a JSON {type(record).__name__}, not an object); {fix}")
    for key in ("run_id", "dataset", "metric"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise FbnError(f"{where}: the record has no {key!r} text (got {record.get(key)!r}); {fix}")
    value = record.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FbnError(f"{where}: 'value' must be a finite number, got {value!r}; {fix}")
    config = record.get("config")
    if config is not None and not isinstance(config, dict):
        raise FbnError(f"{where}: 'config' must be an object, got {config!r}; {fix}")
    seed = _seed(record)
    if not _is_int(seed):
        raise FbnError(f"{where}: 'seed' must be an integer, got {seed!r}; {fix}")
    for key in ("split", "created"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise FbnError(f"{where}: {key!r} must be text, got {record[key]!r}; {fix}")
    n = record.get("n_samples")
    if n is not None and (not _is_int(n) or n < 0):
        raise FbnError(f"{where}: 'n_samples' must be a non-negative integer, got {n!r}; {fix}")
    if record.get("val_curve") is not None:
        curve_of(record, where)
    return record


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def curve_of(record: dict[str, Any], where: str) -> tuple[tuple[int, float, float], ...]:
    """The record's `val_curve` ([[step, value], ...], selection.Selector.val_curve) with the samples of its
    task seen at each step, `samples_seen[task] / steps_run * step` (both written with it); () without one."""
    curve = record.get("val_curve")
    if curve is None:
        return ()
    fix = "remove or fix the line"
    if not isinstance(curve, list) or not all(
        isinstance(p, list) and len(p) == 2 and _is_int(p[0]) and p[0] >= 0 and _finite(p[1]) for p in curve
    ):
        raise FbnError(f"{where}: 'val_curve' must be a list of [step, finite value] pairs, got {curve!r}; {fix}")
    seen, steps = record.get("samples_seen"), record.get("steps_run")
    seen = seen.get(record.get("task")) if isinstance(seen, dict) else None
    if curve and not (_finite(seen) and _is_int(steps) and steps > 0):
        raise FbnError(
            f"{where}: 'val_curve' needs 'samples_seen' of task {record.get('task')!r} and a positive 'steps_run' "
            f"(got {seen!r}, {steps!r}); {fix}"
        )
    return tuple((step, seen / steps * step, float(value)) for step, value in curve)


def _seed(record: dict[str, Any]) -> Any:
    seed = record.get("seed")
    return seed if seed is not None else (record.get("config") or {}).get("seed")


def _key(record: dict[str, Any], where: str) -> ConfigKey:
    config = record.get("config") or {}
    pick = lambda k: record.get(k) if record.get(k) is not None else config.get(k)  # noqa: E731
    if not record.get("config_hash"):
        raise FbnError(f"{where}: a record of run {record.get('run_id')!r} has no config_hash; re-run the evaluation")
    tasks = pick("tasks") or ()
    if isinstance(tasks, str):
        tasks = tuple(t for t in tasks.replace("+", ",").split(",") if t)
    if not isinstance(tasks, list | tuple) or not all(isinstance(t, str) for t in tasks):
        raise FbnError(f"{where}: 'tasks' must be a list of task names, got {tasks!r}; remove or fix the line")
    for name in ("backbone", "coupling", "preset"):
        if pick(name) is not None and not isinstance(pick(name), str):
            raise FbnError(f"{where}: {name!r} must be text, got {pick(name)!r}; remove or fix the line")
    size = pick("image_size")
    if size is not None and not _is_int(size):
        raise FbnError(f"{where}: 'image_size' must be an integer, got {size!r}; remove or fix the line")
    budget = {k: config.get(k) for k in ("steps", "patience")}
    for name, value in budget.items():
        if value is not None and not _is_int(value):
            raise FbnError(f"{where}: the config's {name!r} must be an integer, got {value!r}; remove or fix the line")
    key = ConfigKey(str(record["config_hash"]), pick("backbone"), tuple(tasks), pick("coupling"), pick("preset"), size)
    return replace(key, **budget)


def precedence(record: dict[str, Any]) -> tuple[str, str]:
    """Of two runs of one configuration and seed, the one whose records sort higher is the one that counts:
    the later (by `created`, then run id), so a re-run replaces rather than double-counts."""
    return str(record.get("created") or ""), str(record.get("run_id"))


def identity(record: dict[str, Any]) -> tuple[Any, ...]:
    """What a record is a measurement of: two runs with records of one identity are one seed run twice."""
    return record.get("dataset"), record.get("split") or PREFERRED_SPLIT, record.get("config_hash"), _seed(record)


def record_thresholds(record: dict[str, Any]) -> dict[int, float] | None:
    """The per-AU F1 thresholds a record says it was scored with, when they were chosen on validation."""
    if isinstance(record.get("thresholds"), dict) and record.get("threshold_source") == "val":
        return {int(au): float(t) for au, t in record["thresholds"].items()}
    return None


def data_description(record: dict[str, Any]) -> str:
    """What data a record was scored on, as far as it says: its database's loader version and options (from
    the resolved plugins; `root` is never among them), or "unrecorded" for records from before they were kept."""
    plugins = record.get("plugins") if isinstance(record.get("plugins"), dict) else {}
    resolved = [p for p in plugins.get("datasets") or () if isinstance(p, dict)]
    for key in ("text", "name"):  # the canonical text names it exactly; the bare name as a fallback
        for plugin in resolved:
            if plugin.get(key) == record.get("dataset"):
                options = ",".join(f"{k}={v}" for k, v in sorted((plugin.get("options") or {}).items()))
                return f"loader {plugin.get('loader_version')}; {options}"
    return "unrecorded"


def check_one_data(rows) -> None:
    """A table compares rows scored on the same test data: records of one database that describe different
    data (another generator version of a synthetic database, another loader) are refused in one line."""
    seen: dict[str, dict[str, str]] = {}
    for record, where, _ in rows:
        seen.setdefault(record["dataset"], {}).setdefault(data_description(record), where)
    for database, found in seen.items():
        if len(found) > 1:
            (a, where_a), (b, where_b) = list(found.items())[:2]
            raise FbnError(
                f"records of {database} were scored on different data ({a!r} at {where_a}, {b!r} at {where_b}); "
                "a table compares only rows scored on one test set: remove the older runs from the store (or "
                "re-run them on the current data)"
            )


def load_entries(sources: Iterable[Path]) -> list[Entry]:
    """Every (database, configuration) found in the result records under `sources`.

    Per database the `test` split is used when any record has it (else the one split present, the
    first by name when several). When one configuration was run twice with the same seed, the later
    run (by `created`, then run id) wins, so a re-run replaces rather than double-counts.
    """
    rows: list[tuple[dict[str, Any], str, Path]] = []
    for source in sources:
        for file in _record_files(Path(source)):
            rows.extend((_checked(record, where), where, file.parent) for where, record in numbered_records(file))

    check_one_data(rows)
    splits: dict[str, set[str]] = {}
    for record, _, _ in rows:
        splits.setdefault(record["dataset"], set()).add(record.get("split") or PREFERRED_SPLIT)
    chosen = {db: PREFERRED_SPLIT if PREFERRED_SPLIT in s else sorted(s)[0] for db, s in splits.items()}

    # (database, config_hash) -> seed -> SeedRun
    grouped: dict[tuple[str, str], dict[Any, SeedRun]] = {}
    keys: dict[tuple[str, str], ConfigKey] = {}
    for record, where, folder in rows:
        database = record["dataset"]
        if (record.get("split") or PREFERRED_SPLIT) != chosen[database]:
            continue
        key = _key(record, where)
        slot = grouped.setdefault((database, key.config_hash), {})
        keys.setdefault((database, key.config_hash), key)
        seed = _seed(record)
        run = slot.get(seed)
        created = str(record.get("created") or "")
        if run is None or (run.run_id != record["run_id"] and precedence(record) > (run.created, run.run_id)):
            run = slot[seed] = SeedRun(record["run_id"], seed, folder, created=created)
        elif run.run_id != record["run_id"]:
            continue  # an older run of the same seed
        run.values[record["metric"]] = float(record["value"])
        if record.get("n_samples") is not None:
            run.n_samples[record["metric"]] = int(record["n_samples"])
        if record_thresholds(record) is not None:
            run.thresholds = record_thresholds(record)
        if record.get("val_curve") and isinstance(record.get("task"), str):
            run.curves[record["task"]] = curve_of(record, where)  # the same curve on each record of the task

    entries = []
    for (database, config_hash), seeds in grouped.items():
        runs = sorted(seeds.values(), key=lambda r: r.seed)
        entries.append(Entry(database, chosen[database], keys[(database, config_hash)], runs))
    return sorted(entries, key=lambda e: (e.database, e.key.config_hash))
