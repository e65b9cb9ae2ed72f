"""One run, start to finish: resolve datasets -> claim the run folder -> train -> checkpoint -> evaluate ->
result records. The pieces live elsewhere: identity.py (run hash and id), run_folder.py (who owns the folder),
devices.py (the Accelerator), checkpoint.py, evaluate.py, results.py (records)."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import torch

from .checkpoint import save_checkpoint
from .config import RunConfig
from .devices import device_text, make_accelerator, precision_text
from .evaluate import score_test_splits, skipped_counts
from .identity import run_hash, run_plugins
from .registry import Registry
from .results import RunOutcome, assemble_records, write_records
from .resume import STATE_FILE, StopRequests, load_state, save_state
from .run_datasets import (
    check_tasks_served,
    face_front_end,
    prepare_all,
    read_annotations,
    resolve_datasets,
    run_classes,
)
from .run_folder import RunFolder, claim, reopen, write_config
from .specs import RunInfo


def run_experiment(
    config: RunConfig,
    registry: Registry | None = None,
    progress: bool = True,
    cpu: bool = False,
    echo=None,
    run_id: str | None = None,
    replace: bool = False,
    resume: bool = False,
) -> RunOutcome:
    """`run_id` names the run in its records (default: the --out folder's name, or a new unique id).
    `replace`: a --out folder holding another run is emptied first (else refused). `resume`: `config.out` is an
    unfinished run's folder and `config` its configuration; training continues from its saved state."""
    from accelerate.utils import set_seed

    from .collapse import check_step
    from .coupling.compose import build_coupling
    from .coupling.relatedness import relatedness, relatedness_tensor
    from .data.streams import TaskStreams, budget_batch_size
    from .memory import check_batches_fit
    from .model import build_model
    from .selection import Selector
    from .train import fit, total_steps

    if registry is None:  # the CLI entry points build the registry and pass it down; a leaf never reaches for one
        raise ValueError("pass the registry (fbn_bench.registry.get_registry() or build_registry())")
    echo = echo or (lambda text: print(text, file=sys.stderr))
    started = time.perf_counter()
    accelerator = make_accelerator(config.mixed_precision, cpu)
    # `auto` becomes what runs here, so the saved config, the hash and the records say bf16 or fp32.
    config = dataclasses.replace(config, mixed_precision=str(accelerator.mixed_precision))
    chosen = resolve_datasets(config, registry)
    check_tasks_served(config, chosen)
    # Build everything that can fail on a user's input before the slow work starts.
    check_batches_fit(config)  # a batch too large would get the process killed with no message
    R = relatedness_tensor(relatedness(config.relatedness, data_root=config.data_root, registry=registry))
    coupling = build_coupling(config.coupling, registry, R, config.tasks)
    set_seed(config.seed)
    model = build_model(config, registry, run_classes(chosen, config.tasks))  # checks --weights before hashing
    plugins = run_plugins(config, registry, chosen, R, bool(coupling))
    config_hash = run_hash(config, plugins, accelerator.num_processes)

    saved = load_state(Path(config.out), accelerator) if resume else None  # before the folder: it names the run
    if saved is not None:
        run_id = saved["run_id"]
    folder = _claim_on_main(accelerator, config, run_id, replace, resume)
    info = RunInfo(folder.run_id, folder.path, config.to_dict())
    hook = registry.hook()
    try:
        with hook.watching(info, active=accelerator.is_main_process):
            # Protocol (docs/protocol.md): train and select on train/val; test is read only after training.
            annotations = read_annotations(chosen, ("train", "val"), config, accelerator)
            front = face_front_end(config, registry)
            train_splits = prepare_all(chosen, "train", config, accelerator, progress, annotations, front)
            val_splits = prepare_all(chosen, "val", config, accelerator, progress, annotations, front)
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
                echo(
                    f"run {folder.run_id}: {config.backbone} on {len(chosen)} databases, coupling {config.coupling}"
                    f", {total_steps(config, streams)} steps of {streams.batch_size} on {device_text(accelerator)}"
                    f" ({precision_text(accelerator)}); {streams.summary()}"
                )

            def on_epoch_end(epoch: int, row: dict[str, float]) -> None:
                if accelerator.is_main_process:
                    hook.on_epoch_end(run=info, epoch=epoch, logs=row)

            selector = Selector(
                val_splits,
                accelerator,
                config,
                progress=progress,
                collapse_step=check_step(total_steps(config, streams)),
            )
            if saved is not None:
                accelerator.unwrap_model(model).load_state_dict(saved["model"])
                selector.load_state_dict(saved["selector"])
                for row in saved["progress"]["history"]:  # the observers hear the epochs before the stop again
                    on_epoch_end(row["epoch"], row)

            def keep_state(p, schedule, generator) -> None:
                save_state(folder, accelerator, model, optimizer, schedule, generator, p, selector)

            with StopRequests(folder.path) as stop:
                history = fit(
                    model,
                    optimizer,
                    streams,
                    accelerator,
                    config,
                    coupling,
                    on_epoch_end,
                    progress,
                    selector,
                    save_state=keep_state,
                    resume=saved,
                    stop=stop,
                )
            selector.restore(model)  # the selected checkpoint is the one saved and tested
            if accelerator.is_main_process:
                state = accelerator.unwrap_model(model).state_dict()
                save_checkpoint(folder.path, state, config, plugins, config_hash, accelerator.num_processes)
                selector.write_val_predictions(folder.path)  # per-AU thresholds are chosen on them
            test_splits = prepare_all(chosen, "test", config, accelerator, progress, front=front)
            records, unscored = score_test_splits(
                model,
                test_splits,
                accelerator,
                config.tasks,
                config.eval_batch_size,
                folder.path,
                progress,
                registry,
                thresholds=selector.au_thresholds() if accelerator.is_main_process else None,
            )
            steps_run = history[-1]["step"] if history else 0
            records = selector.annotate(records, streams.samples_seen(steps_run), steps_run)
            if accelerator.is_main_process:
                records = assemble_records(
                    records,
                    run_id=folder.run_id,
                    config=config,
                    plugins=plugins,
                    config_hash=config_hash,
                    accelerator=accelerator,
                    wall_time_s=time.perf_counter() - started,
                )
                write_records(folder.path, records)  # last: records exist only for a finished run
                (folder.path / STATE_FILE).unlink(missing_ok=True)  # a finished run is not resumed
                hook.on_run_end(run=info, records=records)
        accelerator.wait_for_everyone()
    finally:
        folder.release()
    skipped = skipped_counts(train_splits + val_splits + test_splits)
    return RunOutcome(folder.path, records, skipped, history, unscored, config_hash)


def _claim_on_main(accelerator, config: RunConfig, run_id: str | None, replace: bool, resume: bool) -> RunFolder:
    """The main process claims the folder and writes config.json; the others learn its name from it."""
    folder = None
    if accelerator.is_main_process:
        folder = reopen(Path(config.out), run_id) if resume else claim(config, run_id, replace)
        try:
            write_config(folder.path, config)
        except BaseException:
            folder.release()
            raise
    if accelerator.num_processes == 1:
        return folder
    from accelerate.utils import broadcast_object_list

    named = broadcast_object_list([(folder.path, folder.run_id) if folder else None])[0]
    return folder or RunFolder(*named)
