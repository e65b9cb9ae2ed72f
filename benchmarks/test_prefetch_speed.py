"""Step time with and without background prefetch (fbn_bench/data/prefetch.py), as a ratio within one run.

Run: `pytest benchmarks/test_prefetch_speed.py --benchmark-enable -s`. The batches come from a memory-mapped
uint8 cache through TaskStreams (the training loop's own gather), and the step is a chain of matrix products
sized, after measuring the gather, to take about as long: without prefetch a step costs gather + compute, with
it about the larger of the two. ratio = step with / step without: 1 hides nothing, 0.5 hides the whole gather.
Both variants run the same steps, interleaved round by round, and each is timed by its best round, so other
processes on the machine disturb the ratio least. On a CPU
torch gets one thread, leaving a core to the gather thread (on 1 core nothing can overlap).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
import torch

from fbn_bench.data.batches import to_device
from fbn_bench.data.prefetch import Prefetcher
from fbn_bench.data.streams import TaskStreams
from fbn_bench.data.table import label_arrays

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
BATCH, SIZE, N_IMAGES, STEPS, ROUNDS = 192, 96, 6000, 20, 7
# The step: PRODUCTS matrix products, each long enough to release the GIL for a while (as a real network's
# kernels do; on a GPU the host waits in synchronize, GIL released), sized to take as long as the gather.
PRODUCTS = 2
pytestmark = pytest.mark.skipif("not config.getoption('benchmark_enable')", reason="run with --benchmark-enable")


class MemmapSplit:
    """Just what TaskStreams and collate read from a PreparedSplit, its images memory-mapped from a file."""

    def __init__(self, folder, n: int) -> None:
        import pandas as pd

        from fbn_bench import AU_COLUMNS, EXPRESSIONS

        rng = np.random.default_rng(0)
        self.name, self.split = "fake", "train"
        images = np.lib.format.open_memmap(folder / "images.npy", mode="w+", dtype=np.uint8, shape=(n, SIZE, SIZE, 3))
        images[:] = rng.integers(0, 256, images.shape, dtype=np.uint8)
        images.flush()
        self.images = np.load(folder / "images.npy", mmap_mode="r")
        table = pd.DataFrame(
            {
                "valence": rng.uniform(-1, 1, n),
                "arousal": rng.uniform(-1, 1, n),
                "expression": rng.choice(EXPRESSIONS, n),
                **{c: rng.integers(0, 2, n).astype(float) for c in AU_COLUMNS},
            }
        )
        self.labels = label_arrays(table)


def synchronize() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def compute_step(matrix: torch.Tensor, products: int):
    def step(images: torch.Tensor) -> None:
        x = matrix + images[:1, 0, :1, :1].float()  # reads the batch, as a model does
        for _ in range(products):
            x = torch.tanh(x @ matrix)
        synchronize()

    return step


def _matrix_for(seconds: float) -> torch.Tensor:
    """A square matrix whose product with itself takes about `seconds` here (time grows as the size cubed)."""
    size = 256
    for _ in range(3):
        matrix = torch.randn(size, size, device=DEVICE) / size**0.5
        one = compute_step(matrix, 3)
        one(torch.zeros(1, 3, 1, 1, device=DEVICE))  # warm-up
        started = time.perf_counter()
        one(torch.zeros(1, 3, 1, 1, device=DEVICE))
        took = (time.perf_counter() - started) / 3
        size = max(64, int(round(size * (seconds / took) ** (1 / 3) / 64)) * 64)
    return torch.randn(size, size, device=DEVICE) / size**0.5


def steps_time(streams: TaskStreams, step, prefetch: bool) -> float:
    """Seconds per step over STEPS steps from step 0."""
    batches = streams.batches(STEPS, start_step=0)
    feed = Prefetcher(batches, 2, pin=DEVICE.type == "cuda") if prefetch else None
    started = time.perf_counter()
    try:
        for batch in feed if feed is not None else batches:
            step(to_device(batch, DEVICE)["image"])
    finally:
        if feed is not None:
            feed.close()
    return (time.perf_counter() - started) / STEPS


def test_prefetch_hides_the_gather_behind_the_step(benchmark, tmp_path):
    threads = torch.get_num_threads()
    if DEVICE.type == "cpu":
        torch.set_num_threads(1)
    try:
        streams = TaskStreams([MemmapSplit(tmp_path, N_IMAGES)], ("va", "expr", "au"), BATCH, seed=0)
        steps_time(streams, lambda images: None, prefetch=False)  # the first pass reads the file into the page cache
        gather = statistics.median(steps_time(streams, lambda images: None, prefetch=False) for _ in range(3))
        step = compute_step(_matrix_for(gather / PRODUCTS), PRODUCTS)  # a step about as long as the gather
        compute = statistics.median(steps_time_of(step) for _ in range(3))  # the step alone, on one batch
        without, with_ = [], []
        for _ in range(ROUNDS):
            without.append(steps_time(streams, step, prefetch=False))
            with_.append(steps_time(streams, step, prefetch=True))
        ratio = min(with_) / min(without)  # each side's least disturbed round: other processes share the cores
        benchmark.extra_info.update(
            gather_ms=gather * 1e3, compute_ms=compute * 1e3, ratio_with_over_without=ratio, device=DEVICE.type
        )
        print(
            f"\nprefetch on {DEVICE.type}: gather {gather * 1e3:.2f} ms, step {compute * 1e3:.2f} ms per batch of "
            f"{BATCH} at {SIZE} px; step time without prefetch {min(without) * 1e3:.2f} ms, with "
            f"{min(with_) * 1e3:.2f} ms (best of {ROUNDS} rounds each); ratio with / without = {ratio:.2f} "
            "(0.5: the gather hidden)"
        )
        benchmark.pedantic(steps_time, args=(streams, step, True), rounds=1, iterations=1)
        assert ratio < 0.9, f"prefetch hid little of the gather: ratio {ratio:.2f}"
    finally:
        torch.set_num_threads(threads)


def steps_time_of(step) -> float:
    images = torch.zeros(BATCH, 3, SIZE, SIZE, dtype=torch.uint8, device=DEVICE)
    started = time.perf_counter()
    for _ in range(STEPS):
        step(images)
    return (time.perf_counter() - started) / STEPS
