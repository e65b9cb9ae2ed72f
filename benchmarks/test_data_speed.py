"""Epoch time: training from the uint8 cache vs a loader that decodes the image files every epoch.

Both sides run the same batches (the same TaskStreams indices), and, for `tiny-cnn`, the same
augmentation and model step on the same device (a GPU when there is one); only where the uint8 pixels
come from differs. The decoding side uses the cache's own decoder (`decode_face`, JPEG draft mode
included) over a pool of decoding threads, and decodes the next batch while the current one trains,
so it is a strong baseline, not a strawman.

    pytest benchmarks/test_data_speed.py --benchmark-enable -s

prints the speed-up of the cache, measured in the same run, for two workloads: `loader` (uint8 batches
ready for the device, nothing else) and `tiny-cnn` (augmentation + a two-layer CNN training step).
Each ratio is also stored in the benchmark JSON as `extra_info["cache_speedup"]`. The loader must be
at least 10x faster; a full training step reaches that only where the model is cheap next to JPEG
decoding (a GPU), not on a few CPU cores, where the CNN's own time dominates both sides.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from data_fixtures import toy_spec, write_toy  # noqa: E402

from fbn_bench.data.augment import augment  # noqa: E402
from fbn_bench.data.batches import collate, to_device  # noqa: E402
from fbn_bench.data.cache import prepare_split  # noqa: E402
from fbn_bench.data.decode import default_workers  # noqa: E402
from fbn_bench.data.images import decode_face  # noqa: E402
from fbn_bench.data.roots import resolve_image  # noqa: E402
from fbn_bench.data.streams import TaskStreams  # noqa: E402

N_IMAGES = int(os.environ.get("FBN_BENCH_SPEED_IMAGES", 384))
SOURCE = (256, 256)  # JPEG size on disk; face crops in the wild are usually larger, which favours the cache
IMAGE_SIZE = 64
BATCH = 48
TASKS = ("va", "expr", "au")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("speed")
    write_toy(base / "toy", n=N_IMAGES, fmt="JPEG", size=SOURCE)
    split = prepare_split(
        toy_spec(),
        "train",
        {"root": str(base / "toy")},
        image_size=IMAGE_SIZE,
        cache_dir=base / "cache",
        progress=False,
    )
    streams = TaskStreams([split], TASKS, batch_size=BATCH, seed=0)
    steps = [streams.batch_indices(s) for s in range(streams.steps_per_epoch)]
    pool, prefetch = ThreadPoolExecutor(default_workers()), ThreadPoolExecutor(1)
    # On CPU the model runs on one thread: torch's spinning OpenMP threads and the decoding threads
    # fighting over a few cores made epoch times vary 10x from run to run.
    threads = torch.get_num_threads()
    if DEVICE.type == "cpu":
        torch.set_num_threads(1)
    yield split, steps, (pool, prefetch)
    torch.set_num_threads(threads)
    pool.shutdown()
    prefetch.shutdown()


DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_model(kind: str):
    if kind == "loader":
        return None, None
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 5, stride=4, padding=2),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(32, 2 + 7 + 17),
    ).to(DEVICE)
    return net, torch.optim.SGD(net.parameters(), lr=0.01)


def train_step(batch, net, opt, gen):
    if net is None:  # the loader alone: the batch is ready; touch it so nothing is lazy
        return int(batch["image"][-1, -1, -1, -1])
    batch = to_device(batch, DEVICE)
    out = net(augment(batch["image"], gen))
    mask = batch["au_mask"].float()
    loss = (((out[:, 9:] - batch["au"]) ** 2) * mask).sum() / mask.sum().clamp(min=1) + out[:, :2].square().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.detach()


def decoded_batch(split, split_idx, img_idx, pool):
    """What a decode-every-epoch loader does: read and decode each file of the batch, every time."""
    batch = collate([split], split_idx, img_idx, TASKS)  # labels; its cached pixels are replaced below
    table = split.table
    has_bbox = "bbox_x" in table.columns
    rows = split.rows[img_idx]

    def load(row):
        bbox = tuple(table.loc[row, ["bbox_x", "bbox_y", "bbox_w", "bbox_h"]]) if has_bbox else None
        return decode_face(resolve_image(split.root, table["image"].iat[row]), IMAGE_SIZE, bbox)

    pixels = np.stack(list(pool.map(load, rows)))
    batch["image"] = torch.from_numpy(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))
    return batch


def decoded_batches(split, steps, pools):
    """Decode-every-epoch batches, the next one decoded while the current one trains (as a
    DataLoader with workers would)."""
    pool, prefetch = pools
    pending = prefetch.submit(decoded_batch, split, *steps[0], pool)
    for i in range(len(steps)):
        batch = pending.result()
        if i + 1 < len(steps):
            pending = prefetch.submit(decoded_batch, split, *steps[i + 1], pool)
        yield batch


def run_epoch(source, model, setup):
    split, steps, pools = setup
    net, opt = model
    gen = torch.Generator(DEVICE).manual_seed(0)
    if source == "cache":
        batches = (collate([split], split_idx, img_idx, TASKS) for split_idx, img_idx in steps)
    else:
        batches = decoded_batches(split, steps, pools)
    for batch in batches:
        train_step(batch, net, opt, gen)
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


@pytest.mark.parametrize("model_kind", ["loader", "tiny-cnn"])
@pytest.mark.parametrize("source", ["cache", "decode"])
def test_epoch(benchmark, setup, source, model_kind):
    """Each side on its own, for pytest-benchmark's tables."""
    benchmark.group = f"epoch, {model_kind}"
    model = make_model(model_kind)
    run_epoch(source, model, setup)  # warm up (page cache, allocator, thread pool)
    benchmark.pedantic(run_epoch, args=(source, model, setup), rounds=3, iterations=1)


@pytest.mark.parametrize("model_kind", ["loader", "tiny-cnn"])
def test_cache_speedup(benchmark, setup, model_kind):
    """The ratio, from rounds that alternate the two sides, so that a machine getting busier or
    quieter during the run shifts both alike; the median of the per-round ratios is reported."""
    benchmark.group = f"speed-up, {model_kind}"
    model = make_model(model_kind)
    ratios, times = [], {"cache": [], "decode": []}

    def paired_round():
        for source in ("cache", "decode"):
            start = time.perf_counter()
            run_epoch(source, model, setup)
            times[source].append(time.perf_counter() - start)
        ratios.append(times["decode"][-1] / times["cache"][-1])

    paired_round()  # warm up
    ratios.clear()
    times = {"cache": [], "decode": []}
    benchmark.pedantic(paired_round, rounds=5 if not benchmark.disabled else 1, iterations=1)
    ratio = float(np.median(ratios))
    benchmark.extra_info["cache_speedup"] = round(ratio, 2)
    benchmark.extra_info["device"] = DEVICE.type
    print(
        f"\n{model_kind} on {DEVICE.type}: epoch from cache {np.median(times['cache']) * 1e3:.1f} ms, "
        f"decoding every epoch {np.median(times['decode']) * 1e3:.1f} ms, "
        f"per-round ratios {', '.join(f'{r:.1f}' for r in ratios)}: the cache is {ratio:.1f}x faster"
    )
    if model_kind == "loader" and not benchmark.disabled:
        assert ratio >= 10, f"the uint8 cache loader is only {ratio:.1f}x faster than decoding every epoch"
