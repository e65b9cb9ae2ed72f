"""Synthetic generation over several processes: wall time with every core against one, as a ratio.

Run: `pytest benchmarks/test_generation_workers.py --benchmark-enable -s -p no:randomly`. Both generate the
same database (identical bytes, tests/test_synthetic_store.py checks it) into fresh folders, alternately, so
machine load hits both alike. `ratio` is the all-core time over the one-process time (1/cores is perfect).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from fbn_plugins.datasets.synthetic.databases import DATABASES
from fbn_plugins.datasets.synthetic.store import ensure_generated, generation_workers

ROUNDS = 3


def _generate(monkeypatch, workers: int) -> float:
    monkeypatch.setenv("FBN_BENCH_WORKERS", str(workers))
    root = Path(tempfile.mkdtemp())
    start = time.perf_counter()
    ensure_generated(DATABASES["synth-affectnet"], root)  # its default size, as a run generates it
    elapsed = time.perf_counter() - start
    shutil.rmtree(root)
    return elapsed


def test_generation_scales_with_processes(benchmark, monkeypatch):
    cores = generation_workers()
    times = {1: [], cores: []}
    for _ in range(ROUNDS):
        for workers in times:
            times[workers].append(_generate(monkeypatch, workers))
    benchmark.pedantic(lambda: _generate(monkeypatch, cores), rounds=1, iterations=1)
    ratio = statistics.median(a / b for a, b in zip(times[cores], times[1]))
    benchmark.extra_info.update(cores=cores, ratio=round(ratio, 3), one_process_s=round(statistics.median(times[1]), 2))
    print(f"\n{cores} processes: {ratio:.3f} x the one-process time ({statistics.median(times[1]):.2f} s)")
