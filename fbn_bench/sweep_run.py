"""Running a sweep grid: plan every run (with its status on disk), run what is left, summarise.

Layout: `<out>/<configuration>/seed-<s>/` is an ordinary run folder. A run is finished when its folder
holds `results.jsonl` and the sweep's `DONE` marker (written after the run returned, so an interrupted
write never counts) and its `config.json` matches the configuration about to run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import FbnError
from .results import CONFIG_FILE, RESULTS_FILE, config_hash, read_records
from .sweep import Grid, resolve_entry

DONE_FILE = "DONE"
ERROR_FILE = "error.log"
TODO, DONE, REPLACE = "to run", "finished", "replace"


@dataclass
class PlannedRun:
    index: int  # 1-based position in the sweep
    name: str
    seed: int
    config: RunConfig
    status: str  # TODO, DONE or REPLACE

    @property
    def run_dir(self) -> Path:
        return Path(self.config.out)

    def label(self, total: int) -> str:
        return f"[{self.index}/{total}] {self.name} seed {self.seed}"


@dataclass
class SweepOutcome:
    ran: list[PlannedRun] = field(default_factory=list)
    skipped: list[PlannedRun] = field(default_factory=list)
    failed: list[tuple[PlannedRun, str]] = field(default_factory=list)
    stopped_early: bool = False


def default_out(grid: Grid) -> Path:
    return Path("runs") / f"sweep-{grid.name}"


def plan_sweep(grid: Grid, out: str | Path, registry, force: bool = False) -> list[PlannedRun]:
    """Every (configuration, seed) with its config and status. A run folder that holds a different
    configuration is an error naming it (checked for all runs before any starts) unless `force`."""
    plan, conflicts = [], []
    for entry in grid.entries:
        datasets = _datasets_for(entry.name, resolve_entry(entry.overrides), registry)
        for seed in grid.seeds:
            run_dir = Path(out) / entry.name / f"seed-{seed}"
            config = resolve_entry(entry.overrides, datasets=datasets, seed=seed, out=str(run_dir))
            status, difference = _status(config, run_dir)
            if difference:  # a finished run of another configuration: replaced only when asked
                if not force:
                    conflicts.append((run_dir, difference))
                status = REPLACE
            plan.append(PlannedRun(len(plan) + 1, entry.name, seed, config, status))
    if conflicts:
        run_dir, difference = conflicts[0]
        more = f" (and {len(conflicts) - 1} more run folder(s))" if len(conflicts) > 1 else ""
        raise FbnError(
            f"{run_dir} holds a run of another configuration ({difference}){more}; "
            "choose another --out, delete it, or pass --force to replace it"
        )
    return plan


def _datasets_for(name: str, config: RunConfig, registry) -> tuple[str, ...]:
    """The given databases that label at least one of the run's tasks (a single-task run of a sweep
    over several databases uses those serving its task); empty stays empty (the default databases)."""
    if not config.datasets:
        return ()
    kept = tuple(t for t in config.datasets if registry.resolve("datasets", t)[0].tasks & set(config.tasks))
    if not kept:
        raise FbnError(
            f"sweep run {name!r}: none of the databases {', '.join(config.datasets)} labels "
            f"{', '.join(config.tasks)}; add one that does to --datasets"
        )
    return kept


def _status(config: RunConfig, run_dir: Path) -> tuple[str, str | None]:
    """(status, how the stored configuration differs or None)."""
    try:
        stored = json.loads((run_dir / CONFIG_FILE).read_text())
    except (FileNotFoundError, NotADirectoryError):
        return TODO, None
    except (OSError, json.JSONDecodeError):
        return TODO, None  # a config.json cut short: the run never got past its start
    difference = config_difference(stored, config.to_dict())
    if difference and not (run_dir / RESULTS_FILE).is_file():
        return REPLACE, None  # a run of another configuration that failed or never finished: nothing to lose
    if difference:
        return TODO, difference
    finished = (run_dir / RESULTS_FILE).is_file() and (run_dir / DONE_FILE).is_file()
    return (DONE if finished else TODO), None


def config_difference(stored: dict[str, Any], wanted: dict[str, Any]) -> str | None:
    """'steps 400 -> 4' for the first differing setting (seed included; paths ignored), else None."""
    defaults = RunConfig().to_dict()  # a config.json from before a setting existed means its default
    stored, wanted = {**defaults, **stored}, {**defaults, **wanted}
    if config_hash(stored) == config_hash(wanted) and stored.get("seed") == wanted.get("seed"):
        return None
    keys = sorted(
        k
        for k in set(stored) | set(wanted)
        if k not in ("out", "data_root") and _jsonish(stored.get(k)) != _jsonish(wanted.get(k))
    )
    if not keys:
        return "settings differ"
    k = keys[0]
    more = f", +{len(keys) - 1} more" if len(keys) > 1 else ""
    return f"{k} {_jsonish(stored.get(k))} -> {_jsonish(wanted.get(k))}{more}"


def _jsonish(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def run_id_for(grid_name: str, run: PlannedRun) -> str:
    """Timestamped like `fbn-bench run`'s ids, so records of repeated sweeps never collide in a store."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{stamp}-{grid_name}-{run.name}-s{run.seed}")


def execute(
    plan: list[PlannedRun],
    grid_name: str,
    runner: Callable[..., Any],
    echo: Callable[[str], None] = print,
    fail_fast: bool = False,
    **runner_options: Any,
) -> SweepOutcome:
    """Run every unfinished run with `runner(config, run_id=..., **runner_options)` (run_experiment).

    A run that raises is reported and recorded in its folder's error.log; the others go on (unless
    `fail_fast`). KeyboardInterrupt stops the sweep: rerunning resumes it.
    """
    outcome, total = SweepOutcome(), len(plan)
    for run in plan:
        if run.status == DONE:
            echo(f"{run.label(total)}: finished, skipped")
            outcome.skipped.append(run)
            continue
        _clear(run)
        echo(f"{run.label(total)} ...")
        started = time.perf_counter()
        try:
            result = runner(run.config, run_id=run_id_for(grid_name, run), **runner_options)
        except Exception as exc:  # one broken configuration must not cost the rest of the sweep
            message = str(exc) if isinstance(exc, FbnError) else f"{type(exc).__name__}: {exc}"
            run.run_dir.mkdir(parents=True, exist_ok=True)
            (run.run_dir / ERROR_FILE).write_text(traceback.format_exc())
            echo(f"{run.label(total)} failed: {message}")
            outcome.failed.append((run, message))
            if fail_fast:
                outcome.stopped_early = True
                break
            continue
        _mark_done(run, getattr(result, "records", None) or [])
        echo(f"{run.label(total)} done in {time.perf_counter() - started:.1f} s")
        outcome.ran.append(run)
    return outcome


def _clear(run: PlannedRun) -> None:
    """Remove what a previous attempt left: all of it when replacing another configuration, else the
    markers that would make a half-finished run look finished."""
    if run.status == REPLACE and run.run_dir.exists():
        shutil.rmtree(run.run_dir)
        return
    for name in (DONE_FILE, RESULTS_FILE, ERROR_FILE):
        (run.run_dir / name).unlink(missing_ok=True)


def _mark_done(run: PlannedRun, records: list[dict]) -> None:
    """Write DONE atomically (temp file + rename) once the run has returned."""
    if not (run.run_dir / RESULTS_FILE).is_file():
        return  # e.g. a non-main process of a distributed run, or a runner that wrote nothing
    marker = {
        "run_id": records[0]["run_id"] if records else None,
        "config_hash": config_hash(run.config.to_dict()),
        "seed": run.seed,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = run.run_dir / f".{DONE_FILE}.tmp"
    tmp.write_text(json.dumps(marker, indent=2) + "\n")
    os.replace(tmp, run.run_dir / DONE_FILE)


def finished_runs(plan: list[PlannedRun]) -> list[PlannedRun]:
    return [r for r in plan if (r.run_dir / DONE_FILE).is_file() and (r.run_dir / RESULTS_FILE).is_file()]


def summary_rows(plan: list[PlannedRun]) -> tuple[list[str], list[list[str]]]:
    """(headers, rows): headline metric per database x task (rows) and configuration (columns),
    mean ± sd over the finished seeds."""
    from .specs import DEFAULT_HEADLINE as HEADLINE  # records do not name their database's spec
    from .tasks import TASKS

    values: dict[tuple[str, str, str], list[float]] = {}
    for run in finished_runs(plan):
        for r in read_records(run.run_dir / RESULTS_FILE):
            if r.get("metric") == HEADLINE.get(r.get("task")) and r.get("value") is not None:
                values.setdefault((r["dataset"], r["task"], run.name), []).append(float(r["value"]))
    names = list(dict.fromkeys(r.name for r in plan))
    order = {t: i for i, t in enumerate(TASKS)}
    pairs = sorted({(d, t) for d, t, _ in values}, key=lambda p: (p[0], order.get(p[1], 99)))
    rows = [[d, f"{t} {HEADLINE[t]}", *(_mean_sd(values.get((d, t, n))) for n in names)] for d, t in pairs]
    return ["database", "headline", *names], rows


def _mean_sd(vals: list[float] | None) -> str:
    if not vals:
        return ""
    if len(vals) == 1:
        return f"{vals[0]:.3f}"
    return f"{statistics.fmean(vals):.3f} ± {statistics.stdev(vals):.3f}"
