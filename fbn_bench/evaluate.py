"""Evaluation: predictions on each database's test split, scored with its own metrics, as result records;
and `evaluate_checkpoint`, which re-scores a trained model (`fbn-bench evaluate`).

With several processes each scores a contiguous shard; shards are gathered in rank order, so the
scored samples are exactly the test split's decodable images: no duplicates, no padding.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .atomic import clean_stale_temporaries
from .confusion import write_run_picture
from .data.augment import normalize
from .data.batches import eval_batches, to_device
from .data.cache import PreparedSplit
from .data.table import ID_COLUMNS, LABEL_COLUMNS
from .errors import FbnError, FbnWarning
from .model import class_logits, intensities
from .registry import Registry
from .results import (
    CONFIG_FILE,
    RunOutcome,
    assemble_records,
    check_one_run,
    drop_records,
    merge_records,
    write_predictions,
    write_records,
)
from .scoring import make_scope, plugin_metrics, record_fields, score_predictions
from .tasks import AU_INT_COLUMNS, AUS


@torch.no_grad()
def predict(model, split: PreparedSplit, accelerator, batch_size: int, progress: bool = True) -> dict[str, np.ndarray]:
    """Model outputs for every image of `split`, gathered from all processes in order."""
    model.eval()
    shard = np.array_split(np.arange(len(split)), accelerator.num_processes)[accelerator.process_index]
    chunks: dict[str, list[np.ndarray]] = {}
    bar = tqdm(
        total=len(shard),
        desc=f"eval {split.name}",
        disable=None if progress and accelerator.is_main_process else True,  # None: off unless stderr is a terminal
        dynamic_ncols=True,
        leave=False,
    )
    for batch in eval_batches(split, shard, batch_size, tasks=("va", "expr", "au")):
        batch = to_device(batch, accelerator.device)
        with accelerator.autocast():
            outputs = model(normalize(batch["image"]))
        for task, value in outputs.items():
            value = torch.sigmoid(value) if task == "au" else value
            chunks.setdefault(task, []).append(value.float().cpu().numpy())
        bar.update(len(batch["image"]))
    bar.close()
    local = {task: np.concatenate(parts) for task, parts in chunks.items()}
    if accelerator.num_processes == 1:
        return local
    from accelerate.utils import gather_object

    gathered = gather_object([local])  # one dict per process, in rank order
    return {task: np.concatenate([g[task] for g in gathered if len(g.get(task, ()))]) for task in local}


def predictions_frame(split: PreparedSplit, outputs: dict[str, np.ndarray]) -> pd.DataFrame:
    """The split's identity and label columns for the scored rows, plus the model's outputs."""
    table = split.table.iloc[split.rows].reset_index(drop=True)
    # Intensity targets only beside intensity outputs: other runs' prediction files keep their columns.
    intensity = AU_INT_COLUMNS if "au_int" in outputs else ()
    keep = [c for c in (*ID_COLUMNS, *LABEL_COLUMNS, *intensity, "compound") if c in table.columns]
    frame = table[keep].copy()
    if "va" in outputs:
        frame["pred_valence"], frame["pred_arousal"] = outputs["va"][:, 0], outputs["va"][:, 1]
    if "expr" in outputs:
        # Over the split's own classes: an 8-class model scored on a 7-class database never predicts the 8th.
        logits = class_logits(outputs, split.classes)
        frame["pred_expression"] = np.asarray(split.classes)[logits.argmax(1)]
        for i, name in enumerate(split.classes):
            frame[f"logit_{name}"] = logits[:, i]
    if "au" in outputs:
        for i, au in enumerate(AUS):
            frame[f"prob_AU{au}"] = outputs["au"][:, i]
    if "au_int" in outputs:
        values = intensities(outputs["au_int"])
        for i, au in enumerate(AUS):
            frame[f"pred_int_AU{au}"] = values[:, i]
    return frame


def score_split(
    split: PreparedSplit, frame: pd.DataFrame, tasks: tuple[str, ...], metric_plugins=(), thresholds=None
) -> list[dict]:
    """Partial records (dataset, task, metric, value, n_samples, n_skipped) for the run's tasks, scored by
    `metric_plugins` (the registered MetricSpecs, see scoring.plugin_metrics; none given: the built-ins).
    `thresholds`: per-AU thresholds chosen on validation (metrics.choose_thresholds); else 0.5."""
    scored_tasks = [t for t in tasks if t in split.spec.tasks]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = score_predictions(
            frame, scored_tasks, split.spec.aus, list(metric_plugins) or None, thresholds, split.classes
        )
    for found in caught:  # the same words, saying which database and split they are about
        warnings.warn(f"{split.name}/{split.split}: {found.message}", FbnWarning, stacklevel=2)
    scope = make_scope(scored_tasks, split.spec.aus, thresholds, split.classes)
    return [
        {
            "dataset": split.name,
            "split": split.split,
            "task": task,
            "metric": metric,
            "value": value,
            "n_samples": n,
            "n_skipped": split.n_skipped,
            **record_fields(metric, scope),
        }
        for (task, metric), (value, n) in scores.items()
    ]


def score_test_splits(
    model,
    test_splits,
    accelerator,
    tasks: tuple[str, ...],
    batch_size: int,
    run_dir: Path,
    progress: bool,
    registry,
    thresholds: dict[str, dict[int, float]] | None = None,
) -> tuple[list[dict], dict[str, str]]:
    """Predict every test split, store per-sample predictions, return partial records and, per database
    without any, why (main process; the others return nothing). `thresholds`: {dataset: {au: threshold}}
    chosen on validation (else AU F1 is taken at 0.5)."""
    metric_plugins = plugin_metrics(registry)
    records: list[dict[str, Any]] = []
    unscored: dict[str, str] = {}
    for split in test_splits:
        outputs = predict(model, split, accelerator, batch_size, progress)
        if accelerator.is_main_process:
            frame = predictions_frame(split, outputs)
            write_predictions(run_dir, split.name, frame)
            if "expr" in tasks and "expr" in split.spec.tasks:
                write_run_picture(run_dir, split.name, frame, split.classes)
            scored = score_split(split, frame, tasks, metric_plugins, (thresholds or {}).get(split.name))
            records += scored
            if not scored:
                unscored[split.name] = why_unscored(split, tasks)
    return records, unscored


def why_unscored(split: PreparedSplit, tasks: tuple[str, ...]) -> str:
    """One line on why a test split gave no score, for the end of the run."""
    if len(split) == 0:
        reasons = ", ".join(f"{n} {reason}" for reason, n in split.skipped.items()) or "the split is empty"
        return f"no usable {split.split} image ({reasons})"
    labelled = ", ".join(t for t in tasks if t in split.spec.tasks)
    return f"none of its {len(split)} {split.split} images is labelled for {labelled}"


def skipped_counts(splits: list[PreparedSplit]) -> dict[str, dict[str, int]]:
    return {f"{s.name}/{s.split}": dict(s.skipped) for s in splits if s.n_skipped}


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
    records, the others stay. `device` and `precision` say how this scoring ran.
    """
    from .checkpoint import CHECKPOINT_FILE, load_checkpoint
    from .devices import make_accelerator
    from .identity import run_hash
    from .model import build_model, state_classes
    from .plugin_options import resolved_plugins
    from .run_datasets import check_classes_served, face_front_end, prepare_all, read_annotations, resolve_datasets
    from .run_folder import lock_folder, stored_run_id

    if registry is None:  # the CLI entry points build the registry and pass it down; a leaf never reaches for one
        raise ValueError("pass the registry (fbn_bench.registry.get_registry() or build_registry())")
    started = time.perf_counter()
    checkpoint = load_checkpoint(path)
    trained, run_dir = checkpoint.config, checkpoint.run_dir
    config = replace(
        trained, datasets=tuple(datasets) or trained.datasets, data_root=data_root or trained.data_root, weights=None
    )  # what is scored now, where its data is; the checkpoint carries the weights
    out_dir = Path(out) if out else run_dir
    if out_dir.resolve() != run_dir.resolve() and any((out_dir / f).exists() for f in (CONFIG_FILE, CHECKPOINT_FILE)):
        raise FbnError(f"--out {out_dir} is the folder of another run; write this evaluation to a new folder")
    run_id = stored_run_id(run_dir)
    # A GPU run's fp16 re-scored on a CPU computes in fp32; the records' `precision` says so.
    accelerator = make_accelerator(config.mixed_precision, cpu, fallback_fp16=True)
    chosen = resolve_datasets(config, registry)
    plugins = checkpoint.plugins  # what the training run resolved, files' contents included
    if plugins is None:  # a checkpoint from before they were saved: resolve them now
        trained_on = resolve_datasets(trained, registry)
        plugins = resolved_plugins(trained, registry, trained_on)
    config_hash = checkpoint.config_hash or run_hash(trained, plugins, checkpoint.world_size)
    classes = state_classes(checkpoint.state)
    check_classes_served(chosen, classes, config.tasks)
    model = build_model(config, registry, classes)
    model.load_state_dict(checkpoint.state)
    model = accelerator.prepare(model)
    annotations = read_annotations(chosen, ("test",), config, accelerator)
    front = face_front_end(config, registry)
    test_splits = prepare_all(chosen, "test", config, accelerator, progress, annotations, front)
    lock = lock_folder(out_dir) if accelerator.is_main_process else None  # one writer of its records at a time
    try:
        if accelerator.is_main_process:
            check_one_run(out_dir, {run_id})  # before anything of another run's folder is touched
            clean_stale_temporaries(out_dir)  # what a killed write left there
            drop_records(out_dir, {(s.name, s.split) for s in test_splits})
        records, unscored = score_test_splits(
            model,
            test_splits,
            accelerator,
            config.tasks,
            config.eval_batch_size,
            out_dir,
            progress,
            registry,
            thresholds=trained_thresholds(run_dir, test_splits, config.tasks),
        )
        if accelerator.is_main_process:
            records = assemble_records(
                records,
                run_id=run_id,
                config=trained,
                plugins=plugins,
                config_hash=config_hash,
                accelerator=accelerator,
                wall_time_s=time.perf_counter() - started,
            )
            records = merge_records(out_dir, records)
            write_records(out_dir, records)
    finally:
        if lock is not None:
            lock.close()
    accelerator.wait_for_everyone()
    return RunOutcome(out_dir, records, skipped_counts(test_splits), unscored=unscored, config_hash=config_hash)


def trained_thresholds(run_dir: Path, splits, tasks: tuple[str, ...]) -> dict[str, dict[int, float]]:
    """The per-AU thresholds the training run chose, from the val predictions of its selected checkpoint
    (predictions/<dataset>.val.csv.gz), so re-scoring gives the run's own AU F1; a database the run did not
    validate on keeps the fixed 0.5."""
    from .metrics import choose_thresholds
    from .results import predictions_path

    found = {}
    for split in splits:
        path = predictions_path(run_dir, f"{split.name}.val")
        if "au" in tasks and split.spec.aus and path.is_file():
            found[split.name] = choose_thresholds(pd.read_csv(path), split.spec.aus)
    return found
