"""Cost of checking a decoded-image cache (the SHA-256 of its .npy, once per process) against building it.

    pytest benchmarks/test_cache_verify_speed.py --benchmark-enable -s

decodes N JPEGs of 256x256 px into a 64 px cache on one decoding thread, hashes the cache the way a run's
first use does (`cache.file_sha256`), and prints the ratio (also `extra_info["verify_over_build"]`). With
W decoding threads the build is up to W times shorter, so the ratio up to W times larger. On the project's
2-core machine under load: 1,000 faces, 12 MB, build 3.43 s, verify 0.048 s, ratio 0.014 (0.019 at 112 px).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from data_fixtures import toy_spec, write_toy  # noqa: E402

from fbn_bench.data import cache as cache_mod  # noqa: E402

N_IMAGES = int(os.environ.get("FBN_BENCH_SPEED_IMAGES", 384))


@pytest.mark.parametrize("image_size", [64, 112])
def test_verifying_a_cache_costs_a_small_fraction_of_building_it(tmp_path, benchmark, image_size):
    write_toy(tmp_path / "toy", n=N_IMAGES, fmt="JPEG", size=(256, 256))
    started = time.perf_counter()
    split = cache_mod.prepare_split(
        toy_spec(),
        "train",
        {"root": str(tmp_path / "toy")},
        image_size=image_size,
        cache_dir=tmp_path / "cache",
        progress=False,
        workers=1,
    )
    build = time.perf_counter() - started
    started = time.perf_counter()
    digest = cache_mod.file_sha256(split.cache_path)
    seconds = time.perf_counter() - started
    assert benchmark(cache_mod.file_sha256, split.cache_path) == digest
    ratio = seconds / build
    benchmark.extra_info["verify_over_build"] = ratio
    print(f"\n{N_IMAGES} faces at {image_size} px: build {build:.2f} s, verify {seconds:.4f} s, ratio {ratio:.4f}")
    assert ratio < 0.1
