"""`fbn-bench run` and `fbn-bench evaluate`."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from ..errors import FbnError

# CLI option -> RunConfig field, for the options that map one to one.
_CONFIG_OPTIONS = (
    "tasks",
    "coupling",
    "relatedness",
    "backbone",
    "weights",
    "epochs",
    "steps",
    "batch_size",
    "lr",
    "seed",
    "image_size",
    "data_root",
    "out",
    "mixed_precision",
)


def _split_list(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    # Dataset options use commas too (`disfa:fold=2,threshold=1`): a part with '=' but no ':' belongs
    # to the dataset before it.
    parts: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if "=" in piece and ":" not in piece and parts:
            parts[-1] += "," + piece
        else:
            parts.append(piece)
    return tuple(parts)


def _relaunch(num_processes: int) -> None:
    """Re-run this command under torch's launcher with N processes (CPU or GPU)."""
    argv, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
            continue
        if arg == "--num-processes":
            skip = True
            continue
        if arg.startswith("--num-processes="):
            continue
        argv.append(arg)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={num_processes}",
        "-m",
        "fbn_bench",
        *argv,
    ]
    sys.exit(subprocess.call(cmd))


def _report(outcome) -> None:
    """The results table, skipped images and where the records are (main process only: others have none).
    A database that could not be scored fails the command after the table, so no script mistakes a
    missing database for a finished one."""
    if outcome.records:
        _print_results(outcome.records, outcome.skipped)
        click.echo(f"results: {outcome.run_dir / 'results.jsonl'}")
    if outcome.unscored and os.environ.get("LOCAL_RANK", "0") == "0":
        reasons = "; ".join(f"{name}: {why}" for name, why in outcome.unscored.items())
        raise FbnError(f"not scored: {reasons}. The other databases' results are in {outcome.run_dir}")


def _print_results(records: list[dict], skipped: dict[str, dict[str, int]]) -> None:
    from tabulate import tabulate

    from ..scoring import au_of

    rows = [
        [r["dataset"], r["task"], r["metric"], f"{r['value']:.4f}".replace("-0.0000", "0.0000"), r["n_samples"]]
        for r in records
        if au_of(r["metric"]) is None  # per-AU values stay in the records
    ]
    click.echo(tabulate(rows, headers=["dataset", "task", "metric", "value", "n"], tablefmt="github"))
    for name, reasons in skipped.items():
        detail = ", ".join(f"{n} {reason}" for reason, n in reasons.items())
        click.echo(f"skipped images in {name}: {detail}", err=True)


@click.command()
@click.option("--tasks", default=None, help="'all' (default) or a comma-separated subset of va, expr, au.")
@click.option("--coupling", default=None, help="none (default), co, soft, dm, or a '+' composition such as soft+dm.")
@click.option(
    "--relatedness", default=None, help="P(AU|expression) source: du2014 (default), empirical:<dataset>, or a CSV file."
)
@click.option(
    "--datasets",
    default=None,
    help="Comma-separated databases (NAME or NAME:key=value); default: every synthetic one serving the tasks.",
)
@click.option("--backbone", default=None, help="small (default), vggface, timm:<model>, or a plugin's backbone.")
@click.option("--weights", default=None, type=click.Path(dir_okay=False), help="Local state dict for the backbone.")
@click.option("--epochs", type=float, default=None, help="Passes over the largest task stream.")
@click.option("--steps", type=int, default=None, help="Optimiser steps (wins over --epochs).")
@click.option("--batch-size", type=int, default=None, help="Samples per step, split across the task streams.")
@click.option("--lr", type=float, default=None, help="Learning rate.")
@click.option("--seed", type=int, default=None, help="Seed; with the configuration it fixes a CPU run.")
@click.option("--image-size", type=int, default=None, help="Side of the square input faces.")
@click.option(
    "--data-root", default=None, type=click.Path(file_okay=False), help="Folder holding one folder per database."
)
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Run folder (default runs/<run-id>).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False), help="TOML file of settings.")
@click.option("--preset", type=click.Choice(["quick", "paper"]), default="quick", show_default=True)
@click.option("--mixed-precision", type=click.Choice(["no", "bf16", "fp16"]), default=None)
@click.option(
    "--num-processes", type=int, default=1, show_default=True, help="Processes (CPU or GPU) for a distributed run."
)
@click.option("--cpu", is_flag=True, help="Stay on the CPU even when a GPU is present.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def run(config_file, preset, num_processes, cpu, no_progress, datasets, **options) -> None:
    """Train FaceBehaviorNet and score every chosen database on its test split."""
    from ..config import resolve_config
    from ..experiment import run_experiment

    if num_processes > 1 and "LOCAL_RANK" not in os.environ:
        _relaunch(num_processes)
    overrides = {k: v for k, v in options.items() if k in _CONFIG_OPTIONS}
    overrides["datasets"] = _split_list(datasets)
    config = resolve_config(preset, config_file, **overrides)
    _report(run_experiment(config, progress=not no_progress, cpu=cpu))


@click.command()
@click.argument("run_dir_or_checkpoint", type=click.Path(exists=True))
@click.option("--datasets", default=None, help="Score these databases instead of the run's own.")
@click.option("--data-root", default=None, type=click.Path(file_okay=False))
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False),
    help="Write records and predictions here (default: the run folder).",
)
@click.option("--num-processes", type=int, default=1, show_default=True)
@click.option("--cpu", is_flag=True, help="Stay on the CPU even when a GPU is present.")
@click.option("--no-progress", is_flag=True)
def evaluate(run_dir_or_checkpoint, datasets, data_root, out, num_processes, cpu, no_progress) -> None:
    """Re-score a trained model (a run folder or its checkpoint.pt)."""
    from ..experiment import evaluate_checkpoint

    if num_processes > 1 and "LOCAL_RANK" not in os.environ:
        _relaunch(num_processes)
    outcome = evaluate_checkpoint(
        run_dir_or_checkpoint, _split_list(datasets) or (), out, progress=not no_progress, cpu=cpu, data_root=data_root
    )
    if not outcome.records and os.environ.get("LOCAL_RANK", "0") == "0":
        raise FbnError("nothing was scored: the test splits hold no labelled samples")
    _report(outcome)
