"""Step time of FaceBehaviorNet's training step by memory layout, precision and compilation, as paired ratios.

Run: `pytest benchmarks/test_step_speed.py --benchmark-enable -s -p no:randomly` (add FBN_BENCH_COMPILE=1 to
include torch.compile, whose first compile takes about a minute on a CPU). Every variant and the baseline
(fp32, NCHW: the layout of c50ce51) run the same step on the same batch, interleaved round by round, so a
busy machine slows them alike; the figure to read is `ratio` (variant time / baseline time, lower is
faster). bf16 is measured only where the hardware computes it natively (a CUDA GPU with bf16, or a CPU with
AVX-512 BF16 or AMX): elsewhere it is emulated, many times slower, and `precision = auto` never picks it.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
import torch

from fbn_bench.devices import native_bf16
from fbn_bench.losses import task_losses
from fbn_bench.model import FaceBehaviorNet

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
BATCH, SIZE, ROUNDS, STEPS_PER_ROUND = 96, 64, 5, 3


def _step_fn(channels_last: bool, bf16: bool, compile_: bool):
    from fbn_plugins.backbones.small import build_small

    torch.manual_seed(0)
    model = FaceBehaviorNet(build_small(SIZE, width=32), ("va", "expr", "au")).to(DEVICE)
    if channels_last:
        model.use_channels_last()
    if compile_:
        model.backbone.compile()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(BATCH, 3, SIZE, SIZE, generator=g) * 2 - 1).to(DEVICE)
    batch = {
        "va": (torch.rand(BATCH, 2, generator=g) * 2 - 1).to(DEVICE),
        "va_mask": torch.ones(BATCH, dtype=torch.bool, device=DEVICE),
        "expr": torch.randint(0, 7, (BATCH,), generator=g).to(DEVICE),
        "au": (torch.rand(BATCH, 17, generator=g) < 0.3).float().to(DEVICE),
        "au_mask": torch.ones(BATCH, 17, dtype=torch.bool, device=DEVICE),
    }

    def step():
        with torch.autocast(DEVICE.type, dtype=torch.bfloat16, enabled=bf16):
            outputs = model(images)
        loss = sum(task_losses(outputs, batch).values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if DEVICE.type == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up (and the compile)
    return step


VARIANTS = {
    "channels_last": (True, False, False),
    "bf16": (False, True, False),
    "bf16+channels_last": (True, True, False),
    "compile+channels_last": (True, False, True),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_step_time_ratio(benchmark, variant):
    channels_last, bf16, compile_ = VARIANTS[variant]
    if bf16 and not native_bf16(DEVICE.type):
        pytest.skip(f"no native bf16 on this {DEVICE.type}: it would be emulated, which no run does")
    if compile_ and os.environ.get("FBN_BENCH_COMPILE") != "1":
        pytest.skip("set FBN_BENCH_COMPILE=1 to measure torch.compile (a minute of compiling on a CPU)")
    base, other = _step_fn(False, False, False), _step_fn(channels_last, bf16, compile_)
    times = {"base": [], "variant": []}
    for _ in range(ROUNDS):  # interleaved: both see the same machine load
        for name, fn in (("base", base), ("variant", other)):
            start = time.perf_counter()
            for _ in range(STEPS_PER_ROUND):
                fn()
            times[name].append((time.perf_counter() - start) / STEPS_PER_ROUND)
    benchmark.pedantic(other, rounds=1, iterations=1)
    ratio = statistics.median(v / b for v, b in zip(times["variant"], times["base"]))
    benchmark.extra_info.update(
        ratio=round(ratio, 3),
        base_s=round(statistics.median(times["base"]), 4),
        variant_s=round(statistics.median(times["variant"]), 4),
    )
    print(f"\n{variant}: {ratio:.3f} x the fp32 NCHW step ({statistics.median(times['base']):.3f} s) on {DEVICE.type}")
