"""Result records -> entries: one per database x configuration, its seeds, and where each seed's run lives."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FbnError
from ..results import RESULTS_FILE, read_records

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

    def fields(self) -> dict[str, Any]:
        return {"backbone": self.backbone, "tasks": "+".join(self.tasks), "coupling": self.coupling,
                "preset": self.preset, "image_size": self.image_size, "config": self.config_hash}

    def label(self) -> str:
        parts = [self.backbone or "?", "+".join(self.tasks) or "?", self.coupling or "no coupling"]
        if self.preset:
            parts.append(self.preset)
        if self.image_size:
            parts.append(f"{self.image_size}px")
        return " · ".join(parts)


@dataclass
class SeedRun:
    run_id: str
    seed: Any
    folder: Path  # the run folder (or its copy in the store): predictions live under it
    values: dict[str, float] = field(default_factory=dict)
    n_samples: dict[str, int] = field(default_factory=dict)
    created: str = ""


@dataclass
class Entry:
    database: str
    split: str
    key: ConfigKey
    runs: list[SeedRun]  # one per seed, ordered by seed

    def values(self, metric: str) -> list[float]:
        return [r.values[metric] for r in self.runs if metric in r.values and not math.isnan(r.values[metric])]


def _record_files(path: Path) -> list[Path]:
    path = Path(path)
    if not path.exists():
        raise FbnError(f"no results at {path}: give a run folder, a folder of runs, or a {RESULTS_FILE} file")
    return [path] if path.is_file() else sorted(path.rglob(RESULTS_FILE))


def _key(record: dict[str, Any], file: Path) -> ConfigKey:
    config = record.get("config") or {}
    pick = lambda k: record.get(k) if record.get(k) is not None else config.get(k)  # noqa: E731
    tasks = pick("tasks") or ()
    if isinstance(tasks, str):
        tasks = tuple(t for t in tasks.replace("+", ",").split(",") if t)
    if not record.get("config_hash"):
        raise FbnError(f"{file}: a record of run {record.get('run_id')!r} has no config_hash; re-run the evaluation")
    size = pick("image_size")
    return ConfigKey(str(record["config_hash"]), pick("backbone"), tuple(tasks), pick("coupling"), pick("preset"),
                     int(size) if size is not None else None)


def load_entries(sources: Iterable[Path]) -> list[Entry]:
    """Every (database, configuration) found in the result records under `sources`.

    Per database the `test` split is used when any record has it (else the one split present, the
    first by name when several). When one configuration was run twice with the same seed, the later
    run (by `created`, then run id) wins, so a re-run replaces rather than double-counts.
    """
    rows: list[tuple[dict[str, Any], Path]] = []
    for source in sources:
        for file in _record_files(Path(source)):
            rows.extend((record, file.parent) for record in read_records(file))

    splits: dict[str, set[str]] = {}
    for record, _ in rows:
        splits.setdefault(record["dataset"], set()).add(record.get("split") or PREFERRED_SPLIT)
    chosen = {db: PREFERRED_SPLIT if PREFERRED_SPLIT in s else sorted(s)[0] for db, s in splits.items()}

    # (database, config_hash) -> seed -> SeedRun
    grouped: dict[tuple[str, str], dict[Any, SeedRun]] = {}
    keys: dict[tuple[str, str], ConfigKey] = {}
    for record, folder in rows:
        database = record["dataset"]
        if (record.get("split") or PREFERRED_SPLIT) != chosen[database]:
            continue
        key = _key(record, folder / RESULTS_FILE)
        slot = grouped.setdefault((database, key.config_hash), {})
        keys.setdefault((database, key.config_hash), key)
        seed = record.get("seed")
        seed = seed if seed is not None else (record.get("config") or {}).get("seed")
        run = slot.get(seed)
        created = str(record.get("created") or "")
        if run is None or (run.run_id != record["run_id"] and (created, record["run_id"]) > (run.created, run.run_id)):
            run = slot[seed] = SeedRun(record["run_id"], seed, folder, created=created)
        elif run.run_id != record["run_id"]:
            continue  # an older run of the same seed
        if record.get("value") is None:
            continue
        run.values[record["metric"]] = float(record["value"])
        if record.get("n_samples") is not None:
            run.n_samples[record["metric"]] = int(record["n_samples"])

    entries = []
    for (database, config_hash), seeds in grouped.items():
        runs = sorted(seeds.values(), key=lambda r: (str(type(r.seed)), r.seed if r.seed is not None else 0))
        entries.append(Entry(database, chosen[database], keys[(database, config_hash)], runs))
    return sorted(entries, key=lambda e: (e.database, e.key.config_hash))
