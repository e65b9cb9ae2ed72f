"""`fbn-bench run` and `fbn-bench evaluate`."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from ..config import PRESETS, RunConfig
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
    "lr_schedule",
    "warmup",
    "val_every",
    "patience",
    "budget",
    "channels_last",
    "compile",
    "face_detector",
    "face_crop",
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
    """Re-run this command under torch's launcher with N processes: on the GPUs, or on the CPU when there is
    none (devices.make_accelerator)."""
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


def _report(outcome, per_class: bool = False) -> None:
    """The results table, skipped images and where the records are (main process only: others have none).
    A database that could not be scored fails the command after the table, so no script mistakes a
    missing database for a finished one."""
    from .results_table import print_results

    if outcome.records:
        print_results(outcome.records, outcome.skipped, outcome.run_dir, per_class)
        click.echo(f"results: {outcome.run_dir / 'results.jsonl'}")
    if outcome.unscored and os.environ.get("LOCAL_RANK", "0") == "0":
        reasons = "; ".join(f"{name}: {why}" for name, why in outcome.unscored.items())
        raise FbnError(f"not scored: {reasons}. The other databases' results are in {outcome.run_dir}")


def _default(name: str) -> str:
    """`default 800; paper preset: none`: a setting's default in the quick preset, and the paper preset's."""
    quick = getattr(RunConfig, name)
    text = f"default {'none' if quick is None else quick}"
    if name in PRESETS["paper"] and PRESETS["paper"][name] != quick:
        paper = PRESETS["paper"][name]
        text += f"; paper preset: {'none' if paper is None else paper}"
    return text


_PRESET_HELP = (
    f"quick: a compact CNN ({RunConfig.backbone}) on {RunConfig.image_size} px faces, {RunConfig.steps} steps of "
    f"{RunConfig.batch_size}, lr {RunConfig.lr:g}: minutes on a laptop CPU. paper: the paper's setting "
    f"(reconstructed): {PRESETS['paper']['backbone']} (VGG-16 layout) at {PRESETS['paper']['image_size']} px, "
    f"{PRESETS['paper']['epochs']:g} epochs of {PRESETS['paper']['batch_size']}, lr {PRESETS['paper']['lr']:g}, "
    f"{PRESETS['paper']['hidden']} hidden units: meant for a GPU and real databases."
)

_PER_CLASS = click.option(
    "--per-class",
    "--per-au",
    "per_class",
    is_flag=True,
    help="Also print each AU's F1 and AP and each expression's F1 and recall (always in results.jsonl).",
)


@click.command()
@click.option(
    "--tasks",
    default=None,
    help="'all' (va, expr, au) or a comma-separated subset of va, expr, au and the opt-in au_int (AU intensity) "
    "(default: all; with --datasets, the tasks they label).",
)
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
@click.option("--epochs", type=float, default=None, help=f"Passes over the largest task stream ({_default('epochs')}).")
@click.option("--steps", type=int, default=None, help=f"Optimiser steps; wins over --epochs ({_default('steps')}).")
@click.option(
    "--batch-size",
    type=int,
    default=None,
    help=f"Samples per step, split across the task streams ({_default('batch_size')}).",
)
@click.option("--lr", type=float, default=None, help=f"Learning rate, AdamW ({_default('lr')}).")
@click.option(
    "--lr-schedule",
    type=click.Choice(["cosine", "constant"]),
    default=None,
    help=f"Learning rate after the warm-up ({_default('lr_schedule')}).",
)
@click.option(
    "--warmup", type=float, default=None, help=f"Linear warm-up, as a fraction of the steps ({_default('warmup')})."
)
@click.option(
    "--val-every",
    type=int,
    default=None,
    help=f"Score every database's val split every N steps and at the last; the best checkpoint is the one "
    f"scored on test ({_default('val_every')}).",
)
@click.option(
    "--patience",
    type=int,
    default=None,
    help=f"Stop after N validations without a better val score ({_default('patience')}: train every step).",
)
@click.option(
    "--budget",
    type=click.Choice(["samples", "steps"]),
    default=None,
    help=f"samples: a run with fewer tasks takes their share of the holistic batch, so single- and multi-task "
    f"runs see equal data per task; steps: every run gets the whole batch ({_default('budget')}).",
)
@click.option(
    "--seed", type=int, default=None, help=f"Seed; with the configuration it fixes a CPU run ({_default('seed')})."
)
@click.option(
    "--image-size",
    type=int,
    default=None,
    help=f"Side of the square input faces, in pixels ({_default('image_size')}; with --backbone alone, that backbone's own size).",
)
@click.option(
    "--data-root",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder holding one folder per database (default $FBN_BENCH_DATA, else the user cache folder).",
)
@click.option("--out", default=None, type=click.Path(file_okay=False), help="Run folder (default runs/<run-id>).")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False), help="TOML file of settings.")
@click.option(
    "--preset",
    type=click.Choice(list(PRESETS)),
    default=None,
    help=_PRESET_HELP + " A --config file may name one too; this option wins.",
)
@click.option(
    "--mixed-precision",
    type=click.Choice(["auto", "no", "bf16", "fp16"]),
    default=None,
    help=f"Precision: auto is bf16 on a GPU that computes it natively, else fp32 (no) ({_default('mixed_precision')}).",
)
@click.option(
    "--channels-last/--no-channels-last",
    default=None,
    help=f"Channels-last (NHWC) memory layout for the network ({_default('channels_last')}).",
)
@click.option(
    "--compile/--no-compile",
    default=None,
    help=f"torch.compile the backbone: a one-off compile (tens of seconds), then faster steps on a GPU "
    f"({_default('compile')}).",
)
@click.option(
    "--face-detector",
    default=None,
    help="Face detector for databases that ship full frames or videos: haar, yunet:model=PATH, another plugin's, "
    f"or none to use pictures whole ({_default('face_detector')}; docs/faces.md).",
)
@click.option(
    "--face-crop",
    type=click.Choice(["box", "align"]),
    default=None,
    help=f"Crop a found face to its widened box, or align it on its eye centres ({_default('face_crop')}).",
)
@click.option(
    "--num-processes", type=int, default=1, show_default=True, help="Processes (CPU or GPU) for a distributed run."
)
@click.option("--cpu", is_flag=True, help="Stay on the CPU even when a GPU is present.")
@click.option("--force", is_flag=True, help="With --out DIR holding another run: delete that run and run here.")
@click.option(
    "--resume",
    default=None,
    type=click.Path(file_okay=False, exists=True),
    help="Continue the unfinished run in this folder from its saved state (saved at every validation and on "
    "SIGTERM/SIGUSR1), with its own settings.",
)
@click.option("--no-progress", is_flag=True, help="No progress bars (also off when stderr is not a terminal).")
@_PER_CLASS
def run(config_file, preset, num_processes, cpu, force, resume, no_progress, per_class, datasets, **options) -> None:
    """Train FaceBehaviorNet and score every chosen database on its test split."""
    from ..config import resolve_config
    from ..experiment import run_experiment
    from ..registry import get_registry

    _check_processes(num_processes)
    overrides = {k: v for k, v in options.items() if k in _CONFIG_OPTIONS}
    overrides["datasets"] = _split_list(datasets)
    registry = get_registry()
    if resume:
        config = _resumed_config(resume, config_file, preset, overrides)
    else:
        config = resolve_config(preset, config_file, registry, **overrides)
    if num_processes > 1 and "LOCAL_RANK" not in os.environ:
        from ..devices import runnable_precision

        runnable_precision(config.mixed_precision, cpu)  # refused here once, not by every process started
        _relaunch(num_processes)
    outcome = run_experiment(
        config, registry=registry, progress=not no_progress, cpu=cpu, replace=force, resume=bool(resume)
    )
    _report(outcome, per_class)


def _resumed_config(folder: str, config_file, preset, overrides: dict) -> RunConfig:
    """The configuration an unfinished run was started with (its config.json): a resumed run changes nothing."""
    import json
    from pathlib import Path

    from ..results import CONFIG_FILE

    given = sorted(k for k, v in overrides.items() if v is not None)
    if given or config_file or preset:
        named = ", ".join(f"--{k.replace('_', '-')}" for k in given) or ("--config" if config_file else "--preset")
        raise FbnError(f"--resume continues a run with its own settings; drop {named}")
    path = Path(folder) / CONFIG_FILE
    try:
        settings = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FbnError(f"{path} is unreadable ({type(exc).__name__}): {folder} cannot be resumed") from None
    return RunConfig(**{**settings, "out": str(folder)})


def _check_processes(num_processes: int) -> None:
    if num_processes < 1:
        raise FbnError(f"--num-processes must be 1 or more, got {num_processes}")


@click.command()
@click.argument("run_dir_or_checkpoint", type=click.Path(exists=True))
@click.option("--datasets", default=None, help="Score these databases instead of the run's own.")
@click.option(
    "--data-root",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder holding one folder per database (default: the run's, else $FBN_BENCH_DATA).",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False),
    help="Write records and predictions here (default: the run folder).",
)
@click.option("--num-processes", type=int, default=1, show_default=True)
@click.option("--cpu", is_flag=True, help="Stay on the CPU even when a GPU is present.")
@click.option("--no-progress", is_flag=True, help="No progress bars (also off when stderr is not a terminal).")
@_PER_CLASS
def evaluate(run_dir_or_checkpoint, datasets, data_root, out, num_processes, cpu, no_progress, per_class) -> None:
    """Re-score a trained model (a run folder or its checkpoint.pt)."""
    from ..evaluate import evaluate_checkpoint
    from ..registry import get_registry

    _check_processes(num_processes)
    if num_processes > 1 and "LOCAL_RANK" not in os.environ:
        _relaunch(num_processes)
    outcome = evaluate_checkpoint(
        run_dir_or_checkpoint,
        _split_list(datasets) or (),
        out,
        registry=get_registry(),
        progress=not no_progress,
        cpu=cpu,
        data_root=data_root,
    )
    if not outcome.records and os.environ.get("LOCAL_RANK", "0") == "0":
        raise FbnError("nothing was scored: the test splits hold no labelled samples")
    _report(outcome, per_class)
