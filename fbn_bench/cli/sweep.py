"""`fbn-bench sweep`: many runs from the ablation preset or a grid file, resumable."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import FbnError
from .run import _split_list


@click.command()
@click.option(
    "--preset",
    type=click.Choice(["ablation", "ablation-v2", "coupling-tuning"]),
    default=None,
    help="ablation: VA, expression and AU alone, then all three with none, co, soft, dm and soft+dm. "
    "ablation-v2: the same, plus world controls, mismatch levels and to-convergence rows (5 seeds). "
    "coupling-tuning: each coupling's weight (and soft's temperature) on one grid, chosen on val "
    "(docs/protocol.md).",
)
@click.option(
    "--couplings",
    "couplings_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A chosen-on-val.toml (from --preset coupling-tuning): the ablation's couplings take its options.",
)
@click.option(
    "--grid",
    "grid_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A TOML grid file (see docs/sweeps.md).",
)
@click.option(
    "--seeds", type=int, default=None, help="Seeds 0..N-1 per configuration (default: the grid's or preset's)."
)
@click.option(
    "--only",
    default=None,
    metavar="NAMES",
    help="Comma-separated configurations to run (names or globs: 'va,expr,au,all-*'); the rest are left as they are.",
)
@click.option(
    "--datasets", default=None, help="Comma-separated databases for every run (each run keeps those serving its tasks)."
)
@click.option("--steps", type=int, default=None, help="Optimiser steps for every run.")
@click.option(
    "--data-root", default=None, type=click.Path(file_okay=False), help="Folder holding one folder per database."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Sweep folder: <out>/<configuration>/seed-<s>/ (default runs/sweep-<preset or grid name>).",
)
@click.option("--dry-run", is_flag=True, help="List the runs and whether each is finished; run nothing.")
@click.option("--force", is_flag=True, help="Replace run folders that hold a different configuration.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed run.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.option("--cpu", is_flag=True, help="Stay on the CPU even when a GPU is present.")
@click.option(
    "--executor",
    type=click.Choice(["inline", "local", "slurm"]),
    default=None,
    help="inline: one run after another in this process (default). local: each run in its own process, --jobs "
    "at a time. slurm: a SLURM job array (needs --time). local and slurm need submitit (fbn-bench[cluster]).",
)
@click.option(
    "--jobs",
    type=int,
    default=None,
    help="Runs at once: local processes (default 2, or one per GPU), or the array's limit.",
)
@click.option("--partition", default=None, help="SLURM partition.")
@click.option("--time", "time_min", type=int, default=None, help="Minutes per job (SLURM's time limit).")
@click.option("--gpus", type=int, default=None, help="GPUs per job (local: each process gets its own).")
@click.option("--cpus", type=int, default=None, help="CPUs per job (SLURM).")
@click.option("--mem-gb", type=int, default=None, help="Memory per job in GB (SLURM).")
@click.option("--account", default=None, help="SLURM account.")
@click.option("--qos", default=None, help="SLURM quality of service.")
@click.option("--constraint", default=None, help="SLURM node constraint (e.g. a100).")
@click.option("--sbatch", multiple=True, metavar="KEY=VALUE", help="Any other sbatch option, e.g. exclude=node12.")
def sweep(
    preset, couplings_file, grid_file, seeds, only, datasets, steps, data_root, out, dry_run, force, fail_fast,
    no_progress, cpu, executor, sbatch, **resources
) -> None:  # fmt: skip
    """Run every configuration of a grid for several seeds; rerun to resume where it stopped."""
    from ..registry import get_registry
    from ..sweep import load_grid
    from ..sweep_presets import PRESET_GRIDS, TAKES_COUPLINGS, chosen_couplings
    from ..sweep_run import default_out, plan_sweep

    if (preset is None) == (grid_file is None):
        raise FbnError("give exactly one of --preset NAME or --grid FILE.toml")
    overrides = {"datasets": _split_list(datasets), "steps": steps, "data_root": data_root}
    registry = get_registry()
    if couplings_file is not None and preset not in TAKES_COUPLINGS:
        raise FbnError(
            f"--couplings goes with --preset {' or '.join(TAKES_COUPLINGS)}; a grid file names its couplings"
        )
    if preset:
        extra = {"couplings": chosen_couplings(couplings_file)} if couplings_file else {}
        grid = PRESET_GRIDS[preset](seeds, registry=registry, **extra, **overrides)
        if preset == "ablation-v2" and not couplings_file:
            click.echo(
                "note: the couplings take their defaults, which are the committed tuning's choice on val "
                "(docs/coupling.md, 'Default weights'); for a tuning of your own (another budget or world), pass "
                "its chosen-on-val.toml with --couplings",
                err=True,
            )
    else:
        grid = load_grid(grid_file, registry).with_overrides(**overrides).with_seeds(seeds)
    grid = grid.only(tuple(p.strip() for p in (only or "").split(",") if p.strip()))
    out = out or default_out(grid)
    executor, chosen = _executor(grid, executor, sbatch, resources)  # a missing submitit or --time: before the plan
    plan = plan_sweep(grid, out, registry, force=force)
    _describe(grid, plan, out)
    if dry_run:
        for run in plan:
            why = f" (marked finished, but {run.note})" if run.note else ""
            click.echo(f"{run.label(len(plan))}: {run.status}{why}  {run.run_dir}")
        return
    progress = not no_progress and sys.stderr.isatty() and executor == "inline"
    _execute(grid, plan, out, registry, fail_fast, progress=progress, cpu=cpu, executor=executor, resources=chosen)


def _executor(grid, executor: str | None, sbatch: tuple[str, ...], options: dict):
    """(executor, sweep_jobs.Resources): the command line's, else the grid file's, else inline."""
    from ..sweep_jobs import Resources, require_submitit, slurm_parameters

    extra = {}
    for item in sbatch:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FbnError(f"--sbatch {item!r}: give KEY=VALUE, e.g. --sbatch exclude=node12")
        extra[key] = value
    given = Resources(**{"time" if k == "time_min" else k: v for k, v in options.items()}, sbatch=extra)
    for name in ("jobs", "time", "cpus", "mem_gb"):
        if getattr(given, name) is not None and getattr(given, name) < 1:
            raise FbnError(f"--{name.replace('_', '-')} must be 1 or more, got {getattr(given, name)}")
    if given.gpus is not None and given.gpus < 0:
        raise FbnError(f"--gpus must be 0 or more, got {given.gpus}")
    executor = executor or grid.executor or "inline"
    chosen = given.over(grid.resources or Resources())
    if executor != "inline":
        require_submitit(executor)
    if executor == "slurm":
        slurm_parameters(chosen, grid.name)  # checks the time limit
    return executor, chosen


def _describe(grid, plan, out: Path) -> None:
    from ..sweep_folder import DONE

    left = sum(r.status != DONE for r in plan)
    click.echo(
        f"sweep {grid.name}: {len(grid.entries)} configuration(s) x {len(grid.seeds)} seed(s) = {len(plan)} runs "
        f"in {out} ({len(plan) - left} finished, {left} to run)"
    )
    budgets = {_budget(r.config) for r in plan}
    click.echo(f"  budget: {budgets.pop() if len(budgets) == 1 else 'differs between configurations'}")
    for entry in grid.entries:
        own = {k: v for k, v in entry.overrides.items() if k not in grid.base or grid.base[k] != v}
        settings = ", ".join(f"{k}={','.join(v) if isinstance(v, tuple) else v}" for k, v in own.items())
        click.echo(f"  {entry.name}: {settings or 'the base settings'}")


def _budget(config) -> str:
    length = f"{config.steps} steps" if config.steps is not None else f"{config.epochs} epochs"
    return (
        f"{length}, batch {config.batch_size}, {config.image_size} px, backbone {config.backbone}, "
        f"preset {config.preset}"
    )


def _execute(grid, plan, out: Path, registry, fail_fast: bool, progress: bool, cpu: bool, executor, resources) -> None:
    from tabulate import tabulate

    from ..experiment import run_experiment
    from ..sweep_jobs import execute_jobs
    from ..sweep_run import execute
    from ..sweep_summary import summary_tables

    if executor == "inline":
        outcome = execute(
            plan,
            grid.name,
            run_experiment,
            echo=click.echo,
            fail_fast=fail_fast,
            registry=registry,
            progress=progress,
            cpu=cpu,
        )
    else:
        if fail_fast:
            raise FbnError(f"--fail-fast stops a sweep run inline; --executor {executor} runs its jobs at once")
        outcome = execute_jobs(
            plan, grid.name, out, executor, resources, registry, echo=click.echo, progress=False, cpu=cpu
        )
    tables = summary_tables(plan)
    if tables:
        click.echo("\nHeadline metric per database, mean ± sd over finished seeds:")
    for headers, rows in tables:  # one per group of databases sharing configurations (e.g. a world)
        click.echo(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) + "\n")
    click.echo(
        f"\n{len(plan)} runs: {len(outcome.ran)} ran, {len(outcome.skipped)} already finished, "
        + (f"{len(outcome.busy)} left to another sweep running them, " if outcome.busy else "")
        + (f"{len(outcome.preempted)} stopped with their state saved, " if outcome.preempted else "")
        + f"{len(outcome.failed)} failed"
        + (" (stopped at the first failure)" if outcome.stopped_early and not outcome.preempted else "")
    )
    click.echo(
        f"records: {out}/*/seed-*/results.jsonl; tables: fbn-bench leaderboard build --results {out} --out <folder>"
    )
    if grid.name == "coupling-tuning":
        _report_choices(plan, out)
    for run, _ in outcome.preempted:
        click.echo(
            f"stopped: {run.name} seed {run.seed}, its state saved in {run.run_dir}: rerun this sweep to continue"
        )
    if outcome.failed or outcome.preempted:
        for run, message in outcome.failed:
            click.echo(
                f"failed: {run.name} seed {run.seed}: {message} (traceback in {run.run_dir}/error.log)", err=True
            )
        sys.exit(1)


def _report_choices(plan, out: Path) -> None:
    """Each coupling's candidates by mean val selection score, the best marked, written for later runs."""
    from tabulate import tabulate

    from ..tuning import choose_on_val, write_choices

    choices = choose_on_val(plan)
    if not choices:
        click.echo("\nno finished run carries a val selection score: nothing to choose", err=True)
        return
    rows = [
        [c.coupling, text, f"{score:.4f}", seeds, "chosen" if text == c.text else ""]
        for c in choices
        for text, score, seeds in c.table
    ]
    click.echo("\nChosen on val (mean selection score over seeds; test is not read):")
    click.echo(tabulate(rows, headers=["coupling", "candidate", "val score", "seeds", ""], tablefmt="github"))
    click.echo(f"chosen options: {write_choices(choices, out)}")
