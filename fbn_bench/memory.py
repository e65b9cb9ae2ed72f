"""Refusing, in one line, a batch that cannot fit in memory, before anything is allocated.

Without this a batch too large for the machine gets the process killed by the kernel with no message at all.
The estimate is a lower bound that holds for every backbone: the batch's own image tensors (the uint8 batch,
its float32 normalised copy and its float32 augmented copy for training; uint8 and float32 for evaluation).
The network's activations come on top, so a batch that passes may still be too large; one that fails cannot fit.
"""

from __future__ import annotations

import os

from .errors import FbnError

CHANNELS = 3
TRAIN_BYTES_PER_VALUE = 1 + 4 + 4  # uint8 batch, float32 normalised, float32 augmented
EVAL_BYTES_PER_VALUE = 1 + 4


def batch_bytes(batch_size: int, image_size: int, bytes_per_value: int) -> int:
    return batch_size * CHANNELS * image_size * image_size * bytes_per_value


def available_memory() -> int | None:
    """Bytes of RAM the system can still give (Linux MemAvailable, else physical memory); None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def check_batches_fit(config, available: int | None = None) -> None:
    """FbnError when the training or evaluation batch of `config` (a RunConfig) needs more memory than is
    available, saying which setting to lower."""
    available = available_memory() if available is None else available
    if available is None:
        return
    for what, size, per_value, option in (
        ("a training", config.batch_size, TRAIN_BYTES_PER_VALUE, "--batch-size"),
        ("an evaluation", config.eval_batch_size, EVAL_BYTES_PER_VALUE, "eval_batch_size (in a --config file)"),
    ):
        need = batch_bytes(size, config.image_size, per_value)
        if need > available:
            raise FbnError(
                f"{what} batch of {size} faces at {config.image_size} x {config.image_size} px needs at least "
                f"{_size(need)} (its image tensors alone) but only {_size(available)} of memory is available; "
                f"lower {option} or --image-size"
            )
