"""Rendering speed of the synthetic face generator (pytest-benchmark; not a pass/fail unit test).

Run: python -m pytest benchmarks/test_synthetic_speed.py --benchmark-enable -p no:randomly
The `faces_per_cpu_s` extra info is the figure to compare with the target (1,000 faces/s per core
at 64 x 64); `ratio_to_baseline` compares with drawing the same number of random uint8 images in
the same run, which factors out how busy the machine is. It draws as generation does, in a process that keeps
the memory it frees (`keep_freed_memory`, called here as in every drawing process).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from fbn_plugins.datasets.synthetic.databases import DATABASES
from fbn_plugins.datasets.synthetic.identity import sample_identities
from fbn_plugins.datasets.synthetic.labels import render_intensity, sample_classes
from fbn_plugins.datasets.synthetic.render import render_faces
from fbn_plugins.datasets.synthetic.store import keep_freed_memory
from fbn_plugins.datasets.synthetic.style import WILD, sample_nuisance
from fbn_plugins.datasets.synthetic.world import database_world, people

BATCH = 64


def _inputs(size: int):
    """One batch as generation makes it: the realistic world's labels (copula, people) and cues."""
    rng = np.random.default_rng(0)
    world = database_world(DATABASES["synth-affectnet"])
    cls = sample_classes(rng, BATCH, DATABASES["synth-affectnet"].prior.class_prior)
    intensity = world.sample(rng, cls, np.arange(BATCH) % 8, people(rng, 8))
    nuis = sample_nuisance(rng, BATCH, WILD)
    world.apply_cues(rng, cls, nuis)
    return sample_identities(rng, BATCH), render_intensity(rng, intensity), nuis, size


def _per_cpu_second(fn, repeats=20) -> float:
    start = time.process_time()
    for _ in range(repeats):
        fn()
    return BATCH * repeats / (time.process_time() - start)


@pytest.mark.parametrize("size", [64, 112])
def test_render_speed(benchmark, size):
    keep_freed_memory()
    ident, intensity, nuis, size = _inputs(size)
    rng = np.random.default_rng(1)
    render = lambda: render_faces(ident, intensity, nuis, size, rng)  # noqa: E731
    baseline = lambda: np.random.default_rng(1).integers(0, 256, (BATCH, size, size, 3), dtype=np.uint8)  # noqa: E731
    benchmark(render)
    faces = _per_cpu_second(render)
    base = _per_cpu_second(baseline)
    benchmark.extra_info.update(
        faces_per_cpu_s=round(faces), baseline_per_cpu_s=round(base), ratio_to_baseline=round(faces / base, 4)
    )
    print(f"\n{size} px: {faces:.0f} faces per CPU-second; baseline {base:.0f}/s; ratio {faces / base:.4f}")
