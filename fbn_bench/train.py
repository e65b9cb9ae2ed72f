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
from .data.streams import TaskStreams
from .errors import FbnError
from .losses import task_losses

# Bump when a change in the loop, the schedule or the augmentation changes what a run learns from the same
# settings (identity.training_code).
VERSION = 1

# Steps between progress-bar loss updates (each one reads the loss back from the device).
LOG_EVERY = 10


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
) -> list[dict[str, float]]:
    """Train for the configured number of steps. Returns one log row per epoch (mean of each term).

    `validate(model, step) -> stop` runs every `config.val_every` steps and at the last one (selection.py);
    when it says stop, training ends there (early stopping)."""
    steps = total_steps(config, streams)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, steps, config.lr_schedule, config.warmup)
    )
    generator = torch.Generator(device="cpu").manual_seed(config.seed * 1000 + accelerator.process_index)
    # Running sums stay on the device: reading a loss back (float()) waits for the GPU, and doing it every
    # step would keep the host from queueing the next batch while the current one computes.
    sums: dict[str, torch.Tensor] = {}
    count, epoch, history = 0, 0, []
    model.train()
    # disable=None: no bars unless stderr is a terminal (a redirected log gets none).
    bar = tqdm(
        total=steps,
        desc="train",
        disable=None if progress and accelerator.is_main_process else True,
        dynamic_ncols=True,
    )
    for step, batch in enumerate(streams.batches(steps), start=1):
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

        for name, value in {**terms, "loss": loss}.items():
            value = value.detach().float()
            sums[name] = sums[name] + value if name in sums else value
        count += 1
        bar.update()
        if step % LOG_EVERY == 0:
            mean_loss = float(sums["loss"]) / count
            check_finite(mean_loss, sums, step)
            bar.set_postfix(loss=f"{mean_loss:.3f}")
        stop = False
        if validate is not None and (step % config.val_every == 0 or step == steps):
            check_finite(float(sums["loss"]) / count, sums, step)  # never select among diverged weights
            stop = validate(model, step)
            model.train()
        if step % streams.steps_per_epoch == 0 or step == steps or stop:
            check_finite(float(sums["loss"]), sums, step)
            epoch += 1
            row = {"epoch": epoch, "step": step, **{k: float(v) / count for k, v in sums.items()}}
            history.append(row)
            on_epoch_end(epoch, row)
            sums, count = {}, 0
        if stop:
            break
    bar.close()
    return history


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
