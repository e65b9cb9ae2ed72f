"""One run, start to finish: resolve datasets -> prepare splits -> train -> evaluate -> result records."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from . import results
from .config import RunConfig
from .data.cache import PreparedSplit
from .errors import FbnError
from .plugin_options import content_provenance, resolved_plugins
from .registry import Registry, get_registry
from .run_datasets import prepare_all, read_annotations, resolve_datasets
from .specs import RunInfo
from .weights import read_torch_file

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass
class RunOutcome:
    run_dir: Path
    records: list[dict[str, Any]]
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # dataset -> reason -> count
    history: list[dict[str, float]] = field(default_factory=list)
    unscored: dict[str, str] = field(default_factory=dict)  # dataset -> why it has no record


def new_run_id(config: RunConfig) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    tasks = "all" if len(config.tasks) == 3 else "+".join(config.tasks)
    # Only characters that are safe in folder names and leaderboard record ids.
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{stamp}-{tasks}-{config.coupling}-s{config.seed}")


def make_accelerator(config: RunConfig, cpu: bool = False):
    """An Accelerator for this run. Accelerate keeps one state per process and refuses a second mixed
    precision (or --cpu) in it, so a single-process caller (a sweep, a notebook) starts from a clean one."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState

    if int(os.environ.get("WORLD_SIZE", "1")) == 1:  # a distributed process group cannot be rebuilt mid-process
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
    return Accelerator(cpu=cpu, mixed_precision=config.mixed_precision)


def run_experiment(
    config: RunConfig,
    registry: Registry | None = None,
    progress: bool = True,
    cpu: bool = False,
    echo=None,
    run_id: str | None = None,
) -> RunOutcome:
    """`run_id` names the run in its records (default: the --out folder's name, or a timestamped id)."""
    from accelerate.utils import set_seed

    from .coupling.compose import build_coupling
    from .coupling.relatedness import relatedness, relatedness_tensor
    from .data.streams import TaskStreams, budget_batch_size
    from .model import build_model
    from .selection import Selector
    from .train import fit

    registry = registry or get_registry()
    echo = echo or (lambda text: print(text, file=sys.stderr))
    started = time.perf_counter()
    accelerator = make_accelerator(config, cpu)
    chosen = resolve_datasets(config, registry)
    # Build everything that can fail on a user's input before the slow work starts.
    R = relatedness_tensor(relatedness(config.relatedness, data_root=config.data_root))
    coupling = build_coupling(config.coupling, registry, R, config.tasks)
    set_seed(config.seed)
    model = build_model(config, registry)  # checks --weights before its bytes are hashed below
    plugins = {
        **resolved_plugins(config, registry, [(spec, options) for _, spec, options in chosen]),
        **content_provenance(config, R, bool(coupling)),
    }

    run_id = run_id or (Path(config.out).name if config.out else new_run_id(config))
    run_dir = Path(config.out) if config.out else Path("runs") / run_id
    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / results.CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2))
    info = RunInfo(run_id, run_dir, config.to_dict())
    hook = registry.hook()
    with hook.watching(info, active=accelerator.is_main_process):
        # Protocol (docs/protocol.md): train and select on train/val; test is read only after training.
        annotations = read_annotations(chosen, ("train", "val"), config, accelerator)
        train_splits = prepare_all(chosen, "train", config, accelerator, progress, annotations)
        val_splits = prepare_all(chosen, "val", config, accelerator, progress, annotations)
        streams = TaskStreams(
            train_splits,
            config.tasks,
            budget_batch_size(config.batch_size, config.tasks, config.budget),
            config.shares or None,
            seed=config.seed,
            rank=accelerator.process_index,
            world_size=accelerator.num_processes,
        )
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        model, optimizer = accelerator.prepare(model, optimizer)
        if accelerator.is_main_process and progress:
            from .train import total_steps

            echo(
                f"run {run_id}: {config.backbone} on {len(chosen)} databases, coupling {config.coupling}, "
                f"{total_steps(config, streams)} steps of {streams.batch_size} on {accelerator.device.type}"
                f" x{accelerator.num_processes}; {streams.summary()}"
            )

        def on_epoch_end(epoch: int, row: dict[str, float]) -> None:
            if accelerator.is_main_process:
                hook.on_epoch_end(run=info, epoch=epoch, logs=row)

        selector = Selector(val_splits, accelerator, config)
        history = fit(model, optimizer, streams, accelerator, config, coupling, on_epoch_end, progress, selector)
        selector.restore(model)  # the selected checkpoint is the one tested and saved
        # Per-AU thresholds (metrics.choose_thresholds, once on main) are chosen here from selector.best_frames.
        test_splits = prepare_all(chosen, "test", config, accelerator, progress)
        records, unscored = score_test_splits(model, test_splits, accelerator, config, run_dir, progress, registry)
        steps_run = history[-1]["step"] if history else 0
        records = selector.annotate(records, streams.samples_seen(steps_run), steps_run)
        skipped = skipped_counts(train_splits + val_splits + test_splits)
        if accelerator.is_main_process:
            unwrapped = accelerator.unwrap_model(model)
            run_hash = results.config_hash(hashed_config(config, accelerator.num_processes), plugins)
            torch.save(
                {
                    "model": unwrapped.state_dict(),
                    "config": config.to_dict(),
                    "plugins": plugins,
                    "config_hash": run_hash,
                },
                run_dir / CHECKPOINT_FILE,
            )
            records = complete_records(
                records, config, plugins, run_id, accelerator, time.perf_counter() - started, config_hash=run_hash
            )
            results.write_records(run_dir, records)
            selector.write_val_predictions(run_dir)
            hook.on_run_end(run=info, records=records)
    accelerator.wait_for_everyone()
    return RunOutcome(run_dir, records, skipped, history, unscored)


def hashed_config(config: RunConfig, world_size: int) -> dict[str, Any]:
    """The configuration as hashed: with several processes the CCC loss, the coupling means and batch-norm
    statistics are computed per process's share of each batch, which is another optimisation problem."""
    return {**config.to_dict(), **({"world_size": world_size} if world_size > 1 else {})}


def complete_records(
    partial: list[dict],
    config: RunConfig,
    plugins: dict[str, Any],
    run_id: str,
    accelerator,
    wall: float,
    config_hash: str | None = None,
) -> list[dict]:
    """Add the run's identity, configuration (plugin options resolved) and provenance to each (dataset, metric)
    record. `config_hash`: the training run's (re-scoring a checkpoint that saved it); else computed here."""
    config_hash = config_hash or results.config_hash(hashed_config(config, accelerator.num_processes), plugins)
    common = {
        "run_id": run_id,
        "backbone": config.backbone,
        "tasks": list(config.tasks),
        "coupling": config.coupling,
        "preset": config.preset,
        "image_size": config.image_size,
        "seed": config.seed,
        "config_hash": config_hash,
        "config": config.to_dict(),
        "plugins": plugins,
        "versions": results.versions(),
        "git_commit": results.git_commit(),
        "device": f"{accelerator.device.type} x{accelerator.num_processes}",
        "wall_time_s": round(wall, 2),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return [{**common, **r} for r in partial]


def skipped_counts(splits: list[PreparedSplit]) -> dict[str, dict[str, int]]:
    return {f"{s.name}/{s.split}": dict(s.skipped) for s in splits if s.n_skipped}


def score_test_splits(
    model, test_splits, accelerator, config: RunConfig, run_dir: Path, progress: bool, registry: Registry
) -> list[dict]:
    """Predict every test split, store per-sample predictions, return partial records (main process)."""
    from .evaluate import predict, predictions_frame, score_split
    from .scoring import plugin_metrics

    metric_plugins = plugin_metrics(registry)
    records: list[dict[str, Any]] = []
    unscored: dict[str, str] = {}
    for split in test_splits:
        outputs = predict(model, split, accelerator, config.eval_batch_size, progress)
        if accelerator.is_main_process:
            frame = predictions_frame(split, outputs)
            results.write_predictions(run_dir, split.name, frame)
            scored = score_split(split, frame, config.tasks, metric_plugins)
            records += scored
            if not scored:
                unscored[split.name] = why_unscored(split, config.tasks)
    return records, unscored


def why_unscored(split: PreparedSplit, tasks: tuple[str, ...]) -> str:
    """One line on why a test split gave no score, for the end of the run."""
    if len(split) == 0:
        reasons = ", ".join(f"{n} {reason}" for reason, n in split.skipped.items()) or "the split is empty"
        return f"no usable {split.split} image ({reasons})"
    return f"none of its {len(split)} {split.split} images is labelled for {', '.join(t for t in tasks if t in split.spec.tasks)}"


def stored_run_id(run_dir: Path) -> str:
    """The id the run's own records carry (a sweep names its folders seed-0, seed-1, ...), else the folder's name."""
    try:
        first = next(results.read_records(run_dir / results.RESULTS_FILE), None)
    except (FbnError, OSError):
        first = None
    return str(first["run_id"]) if first and first.get("run_id") else run_dir.name


@dataclass
class Checkpoint:
    state: dict[str, Any]
    config: RunConfig  # the training configuration
    run_dir: Path
    plugins: dict[str, Any] | None = None  # as resolved at training time (None: a checkpoint from before)
    config_hash: str | None = None


def load_checkpoint(path: str | Path) -> Checkpoint:
    """A run folder's (or a checkpoint file's) trained weights and training configuration."""
    path = Path(path)
    file = path / CHECKPOINT_FILE if path.is_dir() else path
    if not file.is_file():
        raise FbnError(f"no checkpoint at {file}; give a run folder (runs/<id>) or its {CHECKPOINT_FILE}")
    saved = read_torch_file(file, "a fbn-bench checkpoint")
    if not isinstance(saved, dict) or "model" not in saved or "config" not in saved:
        raise FbnError(f"{file}: not a fbn-bench checkpoint (expected keys 'model' and 'config')")
    return Checkpoint(
        saved["model"], RunConfig(**saved["config"]), file.parent, saved.get("plugins"), saved.get("config_hash")
    )


def evaluate_checkpoint(
    path: str | Path,
    datasets: tuple[str, ...] = (),
    out: str | Path | None = None,
    registry: Registry | None = None,
    progress: bool = True,
    cpu: bool = False,
    data_root: str | None = None,
) -> RunOutcome:
    """Re-score a trained model on the test splits of its datasets (or of `datasets`).

    The records are the training run's: its run id, its configuration and hash (so a leaderboard puts a
    cross-database score in the same configuration's row), one record per database scored now. They are
    merged into `out`'s results.jsonl (default: the run folder): a database scored again replaces its old
    records, the others stay.
    """
    from .model import build_model

    registry = registry or get_registry()
    started = time.perf_counter()
    checkpoint = load_checkpoint(path)
    trained, run_dir = checkpoint.config, checkpoint.run_dir
    config = replace(
        trained, datasets=tuple(datasets) or trained.datasets, data_root=data_root or trained.data_root, weights=None
    )  # what is scored now, where its data is; the checkpoint carries the weights
    out_dir = Path(out) if out else run_dir
    run_id = stored_run_id(run_dir)
    accelerator = make_accelerator(config, cpu)
    chosen = resolve_datasets(config, registry)
    plugins = checkpoint.plugins  # what the training run resolved, files' contents included
    if plugins is None:  # a checkpoint from before they were saved: resolve them now
        trained_on = [(spec, options) for _, spec, options in resolve_datasets(trained, registry)]
        plugins = resolved_plugins(trained, registry, trained_on)
    model = build_model(config, registry)
    model.load_state_dict(checkpoint.state)
    model = accelerator.prepare(model)
    annotations = read_annotations(chosen, ("test",), config, accelerator)
    test_splits = prepare_all(chosen, "test", config, accelerator, progress, annotations)
    if accelerator.is_main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
    records, unscored = score_test_splits(model, test_splits, accelerator, config, out_dir, progress, registry)
    if accelerator.is_main_process:
        records = complete_records(
            records,
            trained,
            plugins,
            run_id,
            accelerator,
            time.perf_counter() - started,
            config_hash=checkpoint.config_hash,
        )
        records = results.merge_records(out_dir, records)
        results.write_records(out_dir, records)
    accelerator.wait_for_everyone()
    return RunOutcome(out_dir, records, skipped_counts(test_splits), unscored=unscored)
