"""A 2-process CPU run: every test sample scored exactly once, and the same metrics as 1 process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_toy_plugin import write_toy

TESTS = Path(__file__).parent


def fbn(*args, cwd, env):
    proc = subprocess.run(
        [sys.executable, "-m", "fbn_bench", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def records(folder):
    return [json.loads(line) for line in (Path(folder) / "results.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_process_run_scores_each_sample_once_and_matches_one_process(tmp_path):
    root = write_toy(tmp_path / "toy", n_train=64, n_test=37)  # 37: not divisible by 2, so shards differ in size
    env = {**os.environ, "PYTHONPATH": str(TESTS), "FBN_BENCH_PLUGINS": "engine_toy_plugin", "OMP_NUM_THREADS": "1"}
    common = [
        "--datasets",
        f"toy:root={root}",
        "--image-size",
        "16",
        "--steps",
        "4",
        "--batch-size",
        "24",
        "--no-progress",
        "--cpu",
    ]
    fbn("run", *common, "--num-processes", "2", "--out", str(tmp_path / "two"), cwd=tmp_path, env=env)
    two = records(tmp_path / "two")
    assert two and all(r["n_samples"] == 37 for r in two if r["metric"] in ("accuracy", "ccc_mean"))
    assert all(r["device"] == "cpu x2" for r in two)

    fbn(
        "evaluate",
        str(tmp_path / "two"),
        "--out",
        str(tmp_path / "one"),
        "--no-progress",
        "--cpu",
        cwd=tmp_path,
        env=env,
    )
    one = records(tmp_path / "one")
    assert all(r["device"] == "cpu x1" for r in one)
    assert {(r["metric"], r["n_samples"]): round(r["value"], 6) for r in one} == {
        (r["metric"], r["n_samples"]): round(r["value"], 6) for r in two
    }
