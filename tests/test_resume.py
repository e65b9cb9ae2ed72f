"""Resumable runs: killed (SIGKILL) or preempted (SIGTERM, SIGUSR1) at an arbitrary step and resumed, a run ends
with exactly the records, predictions and training log of one that was never interrupted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from engine_toy_plugin import write_toy

from fbn_bench.resume import STATE_FILE

pytestmark = pytest.mark.slow  # seven toy runs in subprocesses (about a minute and a half on 2 cores)
TESTS = Path(__file__).resolve().parent
# The toy run below has epochs ending at steps 12, 24, 36 and 40, and validates (and saves) every 5 steps: a
# SIGKILL at the end of epoch 1 or 3 loses the steps since the save before it, which the resumed run redoes.
STEPS, VAL_EVERY = 40, 5
VOLATILE = {"wall_time_s", "created", "git_commit"}  # when and how long, not what


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    return write_toy(tmp_path_factory.mktemp("toy"), n_train=80, n_test=24)


def _run(toy_root, out, *extra, stop_epoch=0, stop_signal="KILL"):
    env = {
        **os.environ,
        "PYTHONPATH": str(TESTS),
        "FBN_BENCH_PLUGINS": "engine_toy_plugin,stop_plugin",
        "FBN_TEST_STOP_EPOCH": str(stop_epoch),
        "FBN_TEST_STOP_SIGNAL": stop_signal,
        "OMP_NUM_THREADS": "1",
    }
    args = ["run", "--no-progress", "--cpu", *extra]
    if "--resume" not in extra:
        args += ["--out", str(out), "--datasets", f"toy:root={toy_root}", "--image-size", "16", "--steps", str(STEPS),
                 "--batch-size", "16", "--val-every", str(VAL_EVERY), "--seed", "4"]  # fmt: skip
    return subprocess.run([sys.executable, "-m", "fbn_bench", *args], env=env, capture_output=True, text=True)


def _records(out: Path) -> list[dict]:
    """The records without what says when, where and under which name the run ran."""
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    kept = [{k: v for k, v in r.items() if k not in VOLATILE and k != "run_id"} for r in rows]
    for r in kept:
        r["config"] = {k: v for k, v in r["config"].items() if k != "out"}
    return kept


def _same_run(a: Path, b: Path) -> None:
    assert _records(a) == _records(b)
    for name in sorted(p.name for p in (a / "predictions").iterdir()):
        pd.testing.assert_frame_equal(pd.read_csv(a / "predictions" / name), pd.read_csv(b / "predictions" / name))
    assert (a / "train_log.csv").read_text() == (b / "train_log.csv").read_text()


@pytest.fixture(scope="module")
def uninterrupted(toy_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    done = _run(toy_root, out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (out / STATE_FILE).exists()  # a finished run keeps no state to resume
    return out


@pytest.mark.parametrize("stop_epoch", [1, 3])
def test_a_run_killed_and_resumed_equals_one_never_interrupted(toy_root, tmp_path, uninterrupted, stop_epoch):
    out = tmp_path / "run"
    killed = _run(toy_root, out, stop_epoch=stop_epoch, stop_signal="KILL")
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (out / STATE_FILE).is_file() and not (out / "results.jsonl").exists()
    resumed = _run(toy_root, out, "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _same_run(out, uninterrupted)
    assert {r["run_id"] for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())} == {"run"}


@pytest.mark.parametrize("stop_signal", ["TERM", "USR1"])
def test_a_preempted_run_saves_stops_cleanly_and_resumes(toy_root, tmp_path, uninterrupted, stop_signal):
    out = tmp_path / "run"
    stopped = _run(toy_root, out, stop_epoch=2, stop_signal=stop_signal)
    assert stopped.returncode == 2, stopped.stderr[-2000:]
    assert f"Error: stopped by SIG{stop_signal} after step 24 of 40" in stopped.stderr
    assert f"fbn-bench run --resume {out}`" in stopped.stderr
    resumed = _run(toy_root, out, "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _same_run(out, uninterrupted)


def test_resume_refuses_what_it_cannot_continue(toy_root, tmp_path, uninterrupted):
    finished = _run(toy_root, uninterrupted, "--resume", str(uninterrupted))
    assert finished.returncode == 2 and "finished run" in finished.stderr and "nothing to resume" in finished.stderr
    out = tmp_path / "run"
    _run(toy_root, out, stop_epoch=2, stop_signal="KILL")
    changed = _run(toy_root, out, "--resume", str(out), "--lr", "0.1")
    assert changed.returncode == 2 and "drop --lr" in changed.stderr
