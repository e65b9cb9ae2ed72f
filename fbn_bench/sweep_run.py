"""Running a sweep grid: plan every run (with its status on disk), run what is left, summarise.

Layout: `<out>/<configuration>/seed-<s>/` is an ordinary run folder; what its files say about the run
(finished, of another configuration, damaged, trained by other code) is fbn_bench.sweep_folder's. Each run folder is locked while a sweep runs it
(`<out>/<configuration>/.seed-<s>.lock`, an flock the kernel drops when the process dies), so two sweeps
on one `--out` never run the same configuration: the second skips it and says so. An unfinished run that saved
its state (resume.py) is continued, not started over. `run_one` is that whole step for one run; `execute` runs
it for every run in this process, and fbn_bench.sweep_jobs in submitit jobs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text, write_error
from .config import RunConfig
from .errors import FbnError
from .results import RESULTS_FILE, read_records
from .resume import STATE_FILE, Preempted
from .sweep import Grid, check_plugins, resolve_entry
from .sweep_folder import DONE, DONE_FILE, REPLACE, TODO, folder_status, marker_problem

ERROR_FILE = "error.log"
BUSY = "running in another sweep"


@dataclass
class PlannedRun:
    index: int  # 1-based position in the sweep
    name: str
    seed: int
    config: RunConfig
    status: str  # TODO, DONE or REPLACE
    note: str | None = None  # why a run that looked finished runs again (its records were lost or damaged)

    @property
    def run_dir(self) -> Path:
        return Path(self.config.out)

    def label(self, total: int) -> str:
        return f"[{self.index}/{total}] {self.name} seed {self.seed}"


@dataclass
class SweepOutcome:
    ran: list[PlannedRun] = field(default_factory=list)
    skipped: list[PlannedRun] = field(default_factory=list)
    busy: list[PlannedRun] = field(default_factory=list)  # locked by another sweep on the same --out
    failed: list[tuple[PlannedRun, str]] = field(default_factory=list)
    preempted: list[tuple[PlannedRun, str]] = field(default_factory=list)  # stopped with their state saved
    stopped_early: bool = False

    def add(self, run: PlannedRun, kind: str, message: Any = None) -> None:
        if kind == RAN:
            self.ran.append(run)
        elif kind == SKIPPED:
            self.skipped.append(run)
        elif kind == BUSY_RUN:
            self.busy.append(run)
        else:
            (self.preempted if kind == PREEMPTED else self.failed).append((run, message))


def default_out(grid: Grid) -> Path:
    return Path("runs") / f"sweep-{grid.name}"


def plan_sweep(grid: Grid, out: str | Path, registry, force: bool = False) -> list[PlannedRun]:
    """Every (configuration, seed) with its config and status. Every configuration's plugins are resolved
    (`check_plugins`) and a run folder that holds a different configuration is an error naming it unless
    `force`, all before any run starts."""
    plan, conflicts = [], []
    for entry in grid.entries:
        try:
            datasets = _datasets_for(resolve_entry(entry.overrides, registry), registry)
            check_plugins(resolve_entry(entry.overrides, registry, datasets=datasets), registry)
        except FbnError as exc:
            raise FbnError(f"sweep run {entry.name!r}: {exc}") from None
        for seed in grid.seeds:
            run_dir = Path(out) / entry.name / f"seed-{seed}"
            config = resolve_entry(entry.overrides, registry, datasets=datasets, seed=seed, out=str(run_dir))
            status, difference, note = folder_status(config, run_dir, registry)
            if difference:  # a finished run of another configuration: replaced only when asked
                if not force:
                    conflicts.append((run_dir, difference))
                status = REPLACE
            plan.append(PlannedRun(len(plan) + 1, entry.name, seed, config, status, note))
    if conflicts:
        run_dir, difference = conflicts[0]
        more = f" (and {len(conflicts) - 1} more run folder(s))" if len(conflicts) > 1 else ""
        raise FbnError(
            f"{run_dir} holds a run of another configuration ({difference}){more}; "
            "choose another --out, delete it, or pass --force to replace it"
        )
    return plan


def _datasets_for(config: RunConfig, registry) -> tuple[str, ...]:
    """The given databases that label at least one of the run's tasks (a single-task run of a sweep
    over several databases uses those serving its task); empty stays empty (the default databases)."""
    if not config.datasets:
        return ()
    kept = tuple(t for t in config.datasets if registry.resolve("datasets", t).spec.tasks & set(config.tasks))
    if not kept:
        raise FbnError(
            f"none of the databases {', '.join(config.datasets)} labels "
            f"{', '.join(config.tasks)}; add one that does to --datasets"
        )
    return kept


def run_id_for(grid_name: str, run: PlannedRun) -> str:
    """Timestamped like `fbn-bench run`'s ids, so records of repeated sweeps never collide in a store."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{stamp}-{grid_name}-{run.name}-s{run.seed}")


# What became of one planned run (run_one), under every executor.
RAN, SKIPPED, BUSY_RUN, FAILED, PREEMPTED = "ran", "skipped", "busy", "failed", "preempted"


def execute(
    plan: list[PlannedRun],
    grid_name: str,
    runner: Callable[..., Any],
    echo: Callable[[str], None] = print,
    fail_fast: bool = False,
    **runner_options: Any,
) -> SweepOutcome:
    """Run every unfinished run, one after another in this process, with `runner(config, run_id=...,
    **runner_options)` (run_experiment); see run_one. A preempted run (SIGTERM, SIGUSR1) stops the sweep, its
    state saved: rerunning continues it. KeyboardInterrupt stops the sweep too: rerunning resumes it."""
    outcome, total = SweepOutcome(), len(plan)
    for run in plan:
        kind, message = run_one(run, total, grid_name, runner, echo, runner_options)
        outcome.add(run, kind, message)
        if kind == PREEMPTED or (kind == FAILED and fail_fast):
            outcome.stopped_early = True
            break
    return outcome


def run_one(run: PlannedRun, total: int, grid_name: str, runner, echo, options: dict[str, Any]) -> tuple[str, Any]:
    """(what became of it, a message or None) for one planned run, the same in this process or in a job's
    (fbn_bench.sweep_jobs): skip it when finished; else lock its folder (busy when another sweep holds it),
    look again (another sweep may have finished it since the plan), run it (continuing its saved state when its
    folder holds one of this configuration), and write DONE. A run that raises is recorded in its error.log."""
    if run.status == DONE:
        echo(f"{run.label(total)}: finished, skipped")
        return SKIPPED, None
    with run_lock(run.run_dir) as holder:
        if holder is not None:
            echo(f"{run.label(total)}: {BUSY} ({holder}), skipped; rerun this sweep once that one ends")
            return BUSY_RUN, holder
        status, difference, _ = folder_status(run.config, run.run_dir, options.get("registry"))
        if status == DONE:
            echo(f"{run.label(total)}: finished by another sweep, skipped")
            return SKIPPED, None
        if run.note:
            echo(f"{run.label(total)}: marked finished, but {run.note}: running it again")
        resume = status == TODO and difference is None and (run.run_dir / STATE_FILE).is_file()
        return _attempt(run, total, grid_name, runner, echo, options, resume)


def _attempt(run: PlannedRun, total: int, grid_name: str, runner, echo, options, resume: bool) -> tuple[str, Any]:
    """Run one planned run (its folder locked by the caller)."""
    _clear(run, keep_state=resume)
    echo(f"{run.label(total)} ..." if not resume else f"{run.label(total)}: continuing from its saved state ...")
    started = time.perf_counter()
    try:
        if resume:  # `fbn-bench run --resume`: the same records as a run never interrupted
            runner(run.config, run_id=run_id_for(grid_name, run), resume=True, **options)
        else:  # replace: the plan made this folder this run's (an unfinished attempt of it is started over)
            runner(run.config, run_id=run_id_for(grid_name, run), replace=True, **options)
    except Preempted as exc:  # asked to stop (a scheduler): the state is saved, the next attempt continues it
        echo(f"{run.label(total)} stopped: {exc}")
        return PREEMPTED, str(exc)
    except Exception as exc:  # one broken configuration must not cost the rest of the sweep
        message = str(exc) if isinstance(exc, FbnError) else f"{type(exc).__name__}: {exc}"
        run.run_dir.mkdir(parents=True, exist_ok=True)
        (run.run_dir / ERROR_FILE).write_text(traceback.format_exc())
        echo(f"{run.label(total)} failed: {message}")
        return FAILED, message
    _mark_done(run)
    echo(f"{run.label(total)} done in {time.perf_counter() - started:.1f} s")
    return RAN, None


def lock_path(run_dir: Path) -> Path:
    """Beside the run folder, not in it: replacing a run removes its folder while the lock is held."""
    return run_dir.parent / f".{run_dir.name}.lock"


@contextlib.contextmanager
def run_lock(run_dir: Path):
    """Hold the run folder's lock for the block: yields None when this process holds it, else a description
    of the holder. flock, not a lock file that exists or not: a killed sweep's lock goes with its process,
    so a lock is never stale."""
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        # Under `accelerate launch` every process runs the same sweep and each run needs all of them: one
        # lock per process would let only one in. Separate sweeps are still told apart by their folders.
        yield None
        return
    path = lock_path(Path(run_dir))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise write_error(path, "the sweep's lock", exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            yield holder or "another process"
            return
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {os.uname().nodename}".encode(), 0)
        try:
            yield None
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _clear(run: PlannedRun, keep_state: bool = False) -> None:
    """Remove what a previous attempt left: all of it when replacing another configuration, else the
    markers that would make a half-finished run look finished (its saved state stays when it is continued)."""
    if run.status == REPLACE and not keep_state and run.run_dir.exists():
        shutil.rmtree(run.run_dir)
        return
    for name in (DONE_FILE, RESULTS_FILE, ERROR_FILE):
        (run.run_dir / name).unlink(missing_ok=True)


def _mark_done(run: PlannedRun) -> None:
    """Write DONE once the run has returned, describing the records it wrote: their run id and configuration
    hash as the records hold them (so the marker and the records never name the run two ways) and their count
    (so a later sweep notices records lost since)."""
    results = run.run_dir / RESULTS_FILE
    if not results.is_file():
        return  # e.g. a non-main process of a distributed run, or a runner that wrote nothing
    records = list(read_records(results))
    marker = {
        "run_id": records[0].get("run_id") if records else None,
        "config_hash": records[0].get("config_hash") if records else None,
        "seed": run.seed,
        "n_records": len(records),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_text(run.run_dir / DONE_FILE, json.dumps(marker, indent=2) + "\n", "sweep marker")


def finished_runs(plan: list[PlannedRun]) -> list[PlannedRun]:
    return [r for r in plan if (r.run_dir / DONE_FILE).is_file() and marker_problem(r.run_dir) is None]
