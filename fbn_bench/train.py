"""The training loop: task streams -> augmentation -> FaceBehaviorNet -> task losses + coupling terms.

Accelerate owns the device, mixed precision and multi-process runs; each process draws its own share
of every batch from the streams (seeded by rank), so nothing here changes between a laptop and a node.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from .data.augment import augment, normalize
from .data.batches import to_device
from .data.prefetch import Prefetcher
from .data.streams import TaskStreams
from .errors import FbnError
from .losses import task_losses
from .resume import Preempted, Progress, StopRequests, restore_random_state

# Bump when a change in the loop, the schedule or the augmentation changes what a run learns from the same
# settings (identity.training_code).
VERSION = 1

# Steps between progress-bar loss updates (each one reads the loss back from the device).
LOG_EVERY = 10
# Batches gathered ahead of the step on a background thread (data/prefetch.py); 0 gathers each in the loop.
PREFETCH = 2


def total_steps(config, streams: TaskStreams) -> int:
    if config.steps is not None:
        return int(config.steps)
    return max(1, math.ceil(config.epochs * streams.steps_per_epoch))


def lr_factor(step: int, steps: int, schedule: str, warmup: float) -> float:
    """The learning rate at `step` (0-based) as a fraction of the configured one: a linear warm-up over the
    first `warmup` fraction of the steps, then constant or a half cosine down to 0 at the last step."""
    warm = math.ceil(warmup * steps)
    if step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    left = max(1, steps - warm)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / left)))


def fit(
    model,
    optimizer,
    streams: TaskStreams,
    accelerator,
    config,
    coupling: Callable,
    on_epoch_end: Callable[[int, dict[str, float]], None],
    progress: bool = True,
    validate: Callable[[object, int], bool] | None = None,
    *,
    save_state: Callable[[Progress, object, torch.Generator], None] | None = None,
    resume: dict | None = None,
    stop: StopRequests | None = None,
    prefetch: int | None = None,
) -> list[dict[str, float]]:
    """Train for the configured number of steps. Returns one log row per epoch (mean of each term).

    `validate(model, step) -> stop` runs every `config.val_every` steps and at the last one (selection.py);
    when it says stop, training ends there (early stopping). `save_state(progress, schedule, generator)` runs
    after each of those validations (resume.py); `resume` (resume.load_state) continues a saved run from its
    step; `stop` (resume.StopRequests) is checked after every step: the state is saved and Preempted raised.
    `prefetch`: batches gathered ahead on a thread (default PREFETCH; 0: none); it changes no batch."""
    steps = total_steps(config, streams)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, steps, config.lr_schedule, config.warmup)
    )
    generator = torch.Generator(device="cpu").manual_seed(config.seed * 1000 + accelerator.process_index)
    # Running sums stay on the device: reading a loss back (float()) waits for the GPU, and doing it every
    # step would keep the host from queueing the next batch while the current one computes.
    p = Progress()
    if resume is not None:
        p = Progress(**resume["progress"])
        # After the schedule is built: building it sets every group's lr to the first step's, which the
        # optimizer's saved state (the lr of the step it stopped at) must then overwrite.
        optimizer.load_state_dict(resume["optimizer"])
        schedule.load_state_dict(resume["schedule"])
        restore_random_state(resume, accelerator.process_index, generator)
    model.train()
    # disable=None: no bars unless stderr is a terminal (a redirected log gets none).
    bar = tqdm(
        total=steps,
        initial=p.step,
        desc="train",
        disable=None if progress and accelerator.is_main_process else True,
        dynamic_ncols=True,
    )
    batches = streams.batches(steps - p.step, start_step=p.step)
    depth = PREFETCH if prefetch is None else prefetch
    # Gathered ahead on a thread (the same batches, in the same order); pinned for an asynchronous copy on a GPU.
    # Leaving the block stops the thread: an early stop, a stop request or an error leaves batches unread.
    with Prefetcher(batches, depth, pin=accelerator.device.type == "cuda") as feed:
        for step, batch in enumerate(feed, start=p.step + 1):
            batch = to_device(batch, accelerator.device)
            images = augment(batch["image"], generator=generator) if config.augment else normalize(batch["image"])
            with accelerator.autocast():
                outputs = model(images)
            terms = {**task_losses(outputs, batch, config.task_weights), **coupling(outputs, batch)}
            loss = sum(terms.values())
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            optimizer.step()
            schedule.step()

            p.add(step, {**terms, "loss": loss})
            bar.update()
            if step % LOG_EVERY == 0:
                mean_loss = p.mean_loss()
                check_finite(mean_loss, p.sums, step)
                bar.set_postfix(loss=f"{mean_loss:.3f}")
            stopping = validated = False
            if validate is not None and (step % config.val_every == 0 or step == steps):
                check_finite(p.mean_loss(), p.sums, step)  # never select among diverged weights
                stopping, validated = validate(model, step), True
                model.train()
            if step % streams.steps_per_epoch == 0 or step == steps or stopping:
                check_finite(p.mean_loss(), p.sums, step)
                row = p.end_epoch()
                on_epoch_end(p.epoch, row)
            if stopping:
                break
            asked_to_stop = step < steps and _stop_requested(stop, accelerator, step)
            if save_state is not None and ((validated and step < steps) or asked_to_stop):
                save_state(p, schedule, generator)
            if asked_to_stop:
                bar.close()
                raise Preempted(
                    f"stopped by {stop.name} after step {step} of {steps}; the state is saved: continue with "
                    f"`fbn-bench run --resume {stop.run_dir or 'RUN_DIR'}`"
                )
    bar.close()
    return p.history


def _stop_requested(stop: StopRequests | None, accelerator, step: int) -> bool:
    """Whether to save and stop now. With several processes every one must decide alike (saving gathers from
    all of them): the main process's flag is shared every LOG_EVERY steps, not every step (each share syncs)."""
    if stop is None:
        return False
    if accelerator.num_processes == 1:
        return stop.signal is not None
    if step % LOG_EVERY:
        return False
    from accelerate.utils import broadcast_object_list

    return bool(broadcast_object_list([stop.signal is not None], from_process=0)[0])


def check_finite(loss: float, sums: dict, step: int) -> None:
    """Stop a run whose loss went to nan or inf: scoring a diverged model would record numbers that look
    like results (argmax of nan logits is class 0). Checked at log points, where the loss is read anyway."""
    if math.isfinite(loss):
        return
    bad = [name for name, value in sums.items() if name != "loss" and not math.isfinite(float(value))]
    raise FbnError(
        f"training diverged by step {step}: the loss is {loss} (from {', '.join(bad) or 'the total'}); "
        "lower --lr, check --weights and the coupling and task weights"
    )
