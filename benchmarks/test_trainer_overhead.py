"""The trainer's overhead over a bare PyTorch loop: same model, same batches, same optimiser.

Run: `pytest benchmarks/test_trainer_overhead.py --benchmark-enable -s`. Target: ratio <= 1.10.
Both sides read the same in-memory uint8 batches and move each to the device (a GPU when there is one);
the trainer adds its streams, Accelerate, loss bookkeeping and logging, which is exactly what is measured.
On a GPU that includes reading losses back from the device, which stalls the host if done every step.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fbn_bench.config import resolve_config
from fbn_bench.data.augment import normalize
from fbn_bench.data.batches import collate, to_device
from fbn_bench.data.streams import TaskStreams
from fbn_bench.data.table import label_arrays
from fbn_bench.losses import task_losses
from fbn_bench.model import FaceBehaviorNet
from fbn_bench.train import fit

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
STEPS, SIZE, BATCH = (30 if DEVICE.type == "cpu" else 300), 64, 96


class FakeSplit:
    """Just what TaskStreams and collate read from a PreparedSplit."""

    def __init__(self, n: int, seed: int) -> None:
        import pandas as pd

        from fbn_bench import AU_COLUMNS, EXPRESSIONS

        rng = np.random.default_rng(seed)
        self.name, self.split = f"fake{seed}", "train"
        self.images = rng.integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)
        table = pd.DataFrame(
            {
                "valence": rng.uniform(-1, 1, n),
                "arousal": rng.uniform(-1, 1, n),
                "expression": rng.choice(EXPRESSIONS, n),
                **{c: rng.integers(0, 2, n).astype(float) for c in AU_COLUMNS},
            }
        )
        self.labels = label_arrays(table)


def build_model(seed: int = 0) -> FaceBehaviorNet:
    from fbn_plugins.backbones.small import build_small

    torch.manual_seed(seed)
    return FaceBehaviorNet(build_small(SIZE, width=32), ("va", "expr", "au")).to(DEVICE)


def synchronize() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def bare_loop(batches):
    model = build_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for batch in batches:
        batch = to_device(batch, DEVICE)
        outputs = model(normalize(batch["image"]))
        loss = sum(task_losses(outputs, batch).values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize()


def trainer_loop(streams, config):
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=DEVICE.type == "cpu")
    model = build_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model, optimizer = accelerator.prepare(model, optimizer)
    streams.step = 0
    fit(
        model,
        optimizer,
        streams,
        accelerator,
        config,
        lambda outputs, batch: {},
        lambda epoch, row: None,
        progress=False,
    )
    synchronize()


@pytest.fixture(scope="module")
def setup():
    splits = [FakeSplit(600, 0), FakeSplit(600, 1)]
    streams = TaskStreams(splits, ("va", "expr", "au"), BATCH, seed=0)
    batches = [collate(splits, *streams.batch_indices(s), streams.tasks) for s in range(STEPS)]
    config = resolve_config("quick", steps=STEPS, batch_size=BATCH, augment=False)
    return streams, batches, config


pytestmark = pytest.mark.skipif("not config.getoption('benchmark_enable')", reason="run with --benchmark-enable")


def test_bare_loop(benchmark, setup):
    _, batches, _ = setup
    benchmark.pedantic(bare_loop, args=(batches,), rounds=3, iterations=1)
    setup_times["bare"] = benchmark.stats.stats.median


def test_trainer_loop(benchmark, setup):
    streams, _, config = setup
    benchmark.pedantic(trainer_loop, args=(streams, config), rounds=3, iterations=1)
    ratio = benchmark.stats.stats.median / setup_times["bare"]
    benchmark.extra_info["ratio_vs_bare_loop"] = ratio
    print(f"\ntrainer / bare loop on {DEVICE.type} = {ratio:.3f} (target <= 1.10)")
    assert ratio <= 1.10


setup_times: dict[str, float] = {}
