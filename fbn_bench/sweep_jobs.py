"""A sweep's runs as submitit jobs: `--executor local` (one process per run, `jobs` at a time) or `slurm` (a job
array). A job does exactly what the inline sweep does for a run (sweep_run.run_one: lock, look again, run or
continue its saved state, DONE), so markers, resuming and two sweeps on one folder behave the same under every
executor. A job asked to stop (SLURM's time limit or preemption: submitit's SIGUSR2) saves the run's state, then
hands the signal on to submitit, which requeues the job; the requeued job continues the run from that state.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import FbnError, one_line
from .sweep_folder import DONE
from .sweep_run import FAILED, PREEMPTED, PlannedRun, SweepOutcome, run_one

EXECUTORS = ("inline", "local", "slurm")
SUBMITIT_DIR = ".submitit"  # under the sweep's --out: each job's pickles and logs
LOCAL_JOBS = 2  # local runs at once unless told (one per GPU when runs get GPUs)
LOCAL_TIMEOUT_MIN = 7 * 24 * 60  # a local job has no scheduler's limit; submitit's default (minutes) would kill it
POLL_S = 0.5


@dataclass(frozen=True)
class Resources:
    """What each job gets, from the command line or a grid file's [resources] (the command line wins)."""

    jobs: int | None = None  # runs at once: local processes, or the SLURM array's parallelism
    partition: str | None = None
    time: int | None = None  # minutes per job; a run that needs longer is requeued and continues
    gpus: int | None = None  # per job
    cpus: int | None = None  # per job
    mem_gb: int | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    sbatch: dict[str, Any] = field(default_factory=dict)  # any other sbatch option: {exclude = "node12"}

    def over(self, other: Resources) -> Resources:
        """These where set, else `other`'s."""
        given = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in (None, {})}
        return replace(other, **given)


_TYPES = {f.name: f.type for f in fields(Resources)}


def resources_from(table: Any, where: str) -> Resources:
    """A grid file's [resources] table, checked key by key."""
    if not isinstance(table, dict):
        raise FbnError(f'{where}: expected a table, e.g. [resources] with partition = "gpu", time = 240')
    for key, value in table.items():
        if key not in _TYPES:
            raise FbnError(f"{where}: unknown resource {key!r}; known: {', '.join(_TYPES)}")
        kind = _TYPES[key]
        if kind.startswith("int"):
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "gpus" else 1):
                raise FbnError(f"{where}: {key} = {value!r} should be a positive integer")
        elif kind.startswith("dict"):
            if not isinstance(value, dict):
                raise FbnError(f'{where}: sbatch = {value!r} should be a table, e.g. {{exclude = "node12"}}')
        elif not isinstance(value, str):
            raise FbnError(f"{where}: {key} = {value!r} should be a string")
    return Resources(**table)


def require_submitit(executor: str):
    try:
        import submitit
    except ImportError:
        raise FbnError(
            f'--executor {executor} needs submitit: pip install "fbn-bench[cluster]" (or use --executor inline)'
        ) from None
    return submitit


def slurm_parameters(resources: Resources, grid_name: str) -> dict[str, Any]:
    """submitit.AutoExecutor's parameters for a SLURM job array of one run per job."""
    if resources.time is None:
        raise FbnError(
            "--executor slurm needs a time limit per job: pass --time MINUTES (or time = ... in the grid file's "
            "[resources]); a run that needs longer is requeued and continues from its saved state"
        )
    named = {
        "name": f"fbn-{grid_name}",
        "timeout_min": resources.time,
        "nodes": 1,
        "tasks_per_node": 1,  # one process per run; a run across GPUs or nodes is `accelerate launch` (docs)
        "gpus_per_node": resources.gpus,
        "cpus_per_task": resources.cpus,
        "mem_gb": resources.mem_gb,
        "slurm_partition": resources.partition,
        "slurm_account": resources.account,
        "slurm_qos": resources.qos,
        "slurm_constraint": resources.constraint,
        "slurm_array_parallelism": resources.jobs,
        "slurm_additional_parameters": resources.sbatch or None,
    }
    return {k: v for k, v in named.items() if v is not None}


class SweepJob:
    """One planned run, called in a job's process. Checkpointable in submitit's sense (it has `checkpoint`): a
    requeued job calls it again with the same run, which then continues from the state the run saved."""

    def __init__(self, grid_name: str, total: int, options: dict[str, Any], plugin_modules: list[str], runner=None):
        self.grid_name, self.total, self.options = grid_name, total, options
        self.plugin_modules = plugin_modules  # the parent's FBN_BENCH_PLUGINS / extra modules, loaded again here
        self.runner = runner  # None: run_experiment (tests pass their own)

    def __call__(self, run: PlannedRun) -> tuple[str, Any, list[str]]:
        from .experiment import run_experiment
        from .registry import build_registry

        lines: list[str] = []
        registry = build_registry(extra_modules=self.plugin_modules)
        options = {**self.options, "registry": registry}
        kind, message = run_one(run, self.total, self.grid_name, self.runner or run_experiment, lines.append, options)
        if kind == PREEMPTED and _requeues():
            # The state is saved; submitit's own handler (restored when the run stopped) checkpoints and requeues.
            signal.raise_signal(_preemption_signal())
        return kind, message, lines

    def checkpoint(self, run: PlannedRun):
        import submitit

        return submitit.helpers.DelayedSubmission(self, run)


def _preemption_signal() -> signal.Signals:
    import submitit

    return getattr(signal, "SIG" + submitit.JobEnvironment.USR_SIG)


def _requeues() -> bool:
    """Whether this process is a submitit job that can be requeued (SLURM's, or the local executor's)."""
    import submitit

    try:
        return submitit.JobEnvironment().cluster in ("slurm", "local")
    except RuntimeError:  # not in a job
        return False


def execute_jobs(
    plan: list[PlannedRun],
    grid_name: str,
    out: Path,
    executor: str,
    resources: Resources,
    registry,
    echo: Callable[[str], None] = print,
    runner=None,
    **options: Any,
) -> SweepOutcome:
    """Submit every unfinished run as a job, wait for all, and gather what became of each (as sweep_run.execute
    does inline). `executor`: local, slurm, or debug (submitit's in-process executor, for tests)."""
    submitit = require_submitit(executor)
    outcome, total = SweepOutcome(), len(plan)
    for run in plan:
        if run.status == DONE:
            outcome.add(run, *run_one(run, total, grid_name, None, echo, {}))
    todo = [r for r in plan if r.status != DONE]
    if not todo:
        return outcome
    modules = sorted(m for m, dist in registry.origins.items() if dist is None)
    job = SweepJob(grid_name, total, options, modules, runner)
    folder = Path(out) / SUBMITIT_DIR / "%j"

    def gather(run: PlannedRun, handle) -> None:
        try:
            kind, message, lines = handle.result()
        except Exception as exc:  # the job itself died (killed, out of memory, timed out too often)
            kind, message = FAILED, f"its job {handle.job_id} failed: {one_line(exc)} (logs in {folder.parent})"
            lines = [f"{run.label(total)} failed: {message}"]
        for line in lines:
            echo(line)
        outcome.add(run, kind, message)

    if executor == "slurm":
        slurm = submitit.AutoExecutor(folder, cluster="slurm")
        slurm.update_parameters(**slurm_parameters(resources, grid_name))
        with slurm.batch():  # one job array
            handles = [slurm.submit(job, run) for run in todo]
        array = handles[0].job_id.split("_")[0]
        echo(f"submitted {len(todo)} run(s) as SLURM job array {array}; logs in {folder.parent}/{array}_*")
        try:
            _wait(list(zip(todo, handles)), gather)
        except KeyboardInterrupt:
            echo(
                f"stopped waiting; job array {array} goes on (scancel {array} stops it): rerun this sweep once it ends"
            )
            raise
    else:
        _throttled(
            submitit, executor, folder, _local_gpus(resources, options.get("cpu")), job, todo, total, echo, gather
        )
    return outcome


def _local_gpus(resources: Resources, cpu: bool | None) -> Resources:
    """Unless told, a local job gets one GPU of its own, and there are as many jobs as GPUs: submitit shows a
    local job only the GPUs it is given, so a job given none would train on the CPU beside idle GPUs."""
    if resources.gpus is not None or cpu:
        return resources
    import torch

    count = torch.cuda.device_count()
    return replace(resources, gpus=1, jobs=resources.jobs or count) if count else resources


def _throttled(submitit, executor, folder, resources, job, todo, total, echo, gather) -> None:
    """At most `jobs` local processes at once; each slot has its own GPUs when runs get GPUs."""
    gpus = resources.gpus or 0
    slots = list(range(resources.jobs or LOCAL_JOBS))
    if executor == "debug":
        local = submitit.AutoExecutor(folder, cluster="debug")
    else:
        local = submitit.LocalExecutor(folder)
        local.update_parameters(timeout_min=resources.time or LOCAL_TIMEOUT_MIN, gpus_per_node=gpus)
    pending, running = list(todo), []
    try:
        while pending or running:
            while pending and slots:
                slot, run = slots.pop(0), pending.pop(0)
                if gpus and executor == "local":
                    local.update_parameters(visible_gpus=tuple(range(slot * gpus, (slot + 1) * gpus)))
                handle = local.submit(job, run)
                echo(f"{run.label(total)}: started as job {handle.job_id}")
                running.append((slot, run, handle))
            finished = [item for item in running if item[2].done()]
            for item in finished:
                running.remove(item)
                slots.append(item[0])
                gather(item[1], item[2])
            if not finished:
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        for _, _, handle in running:  # local jobs end with the sweep; rerunning it continues their runs
            handle.cancel(check=False)
        raise


def _wait(jobs: list, gather) -> None:
    """Until every job is done (SLURM's accounting is asked at most every 10 s)."""
    waiting = list(jobs)
    while waiting:
        finished = [item for item in waiting if item[1].done()]
        for item in finished:
            waiting.remove(item)
            gather(*item)
        if not finished:
            time.sleep(POLL_S * 20)
