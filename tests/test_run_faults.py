"""A run killed (SIGKILL) while it writes a file leaves nothing that a later command would trust; two runs
started at once with the default naming leave two complete, consistent folders."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from engine_toy_plugin import write_toy

from fbn_bench import FbnError
from fbn_bench.checkpoint import load_checkpoint
from fbn_bench.data.roots import load_split
from fbn_bench.evaluate import evaluate_checkpoint
from fbn_bench.leaderboard.store import add_runs
from fbn_bench.results import read_predictions, read_records

TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    return write_toy(tmp_path_factory.mktemp("toy"), n_train=48, n_test=20)


def visible_files(folder: Path) -> list[Path]:
    """Files under their final names (hidden temporaries are what atomic writes leave; nothing reads them)."""
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]


@pytest.mark.parametrize(
    "kill_at",
    [
        "config",
        "checkpoint",
        pytest.param("predictions", marks=pytest.mark.slow),
        pytest.param("records", marks=pytest.mark.slow),
    ],
)
def test_a_run_killed_while_writing_leaves_nothing_partial_that_is_trusted(kill_at, toy_root, registry, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(TESTS / "fault_run.py"), kill_at, str(out), str(toy_root)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]

    # Every file under its final name is whole: as many rows as its split holds (the val split is carved
    # from train, so its size comes from the loader, not from the toy's arguments).
    spec = registry.dataset("toy")
    split_sizes = {
        "toy.csv.gz": len(load_split(spec, "test", {"root": toy_root})[0]),
        "toy.val.csv.gz": len(load_split(spec, "val", {"root": toy_root})[0]),
    }
    for file in visible_files(out):
        if file.name == "config.json":
            assert json.loads(file.read_text())["steps"] == 2
        elif file.name == "checkpoint.pt":
            assert load_checkpoint(file).config.steps == 2
        elif file.name.endswith(".csv.gz"):
            with gzip.open(file) as fh:
                assert len(pd.read_csv(fh)) == split_sizes[file.name], file.name
        elif file.name == "results.jsonl":
            assert list(read_records(file))
    assert not (out / "results.jsonl").exists()  # the run did not finish: it has no records

    # `leaderboard add` finds no run to add; `evaluate` either refuses in one line or scores a whole checkpoint.
    with pytest.raises(FbnError, match="holds no results.jsonl"):
        add_runs([out], store=tmp_path / "store")
    if (out / "checkpoint.pt").exists():
        outcome = evaluate_checkpoint(out, registry=registry, progress=False, cpu=True)
        assert outcome.config_hash == load_checkpoint(out).config_hash
        assert {r["config_hash"] for r in read_records(out)} == {outcome.config_hash}
        assert len(read_predictions(out, "toy")) == 20
    else:
        assert kill_at in ("config", "checkpoint")
        with pytest.raises(FbnError, match="no checkpoint at .*did not finish"):
            evaluate_checkpoint(out, registry=registry, progress=False, cpu=True)


@pytest.mark.slow
def test_two_runs_started_at_once_with_default_names_get_two_consistent_folders(toy_root, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(TESTS), "FBN_BENCH_PLUGINS": "engine_toy_plugin", "OMP_NUM_THREADS": "1"}
    common = ["--datasets", f"toy:root={toy_root}", "--image-size", "16", "--steps", "2", "--batch-size", "24"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fbn_bench", "run", *common, "--lr", lr, "--no-progress", "--cpu"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for lr in ("0.001", "0.003")
    ]
    for proc in procs:
        _, err = proc.communicate()
        assert proc.returncode == 0, err[-2000:]
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2
    lrs = set()
    for folder in folders:
        config = json.loads((folder / "config.json").read_text())
        records = list(read_records(folder))
        checkpoint = load_checkpoint(folder)
        assert records and all(r["config"] == config and r["run_id"] == folder.name for r in records)
        assert checkpoint.config.to_dict() == config
        assert {r["config_hash"] for r in records} == {checkpoint.config_hash}
        lrs.add(config["lr"])
    assert lrs == {0.001, 0.003}


@pytest.fixture
def small_disk(tmp_path):
    """A real 96 KiB filesystem (tmpfs): room for a run's config, not for its checkpoint."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root in a container that allows mounts)")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_is_one_line_and_leaves_no_checkpoint_or_records(toy_root, small_disk):
    out = small_disk / "run"
    env = {**os.environ, "PYTHONPATH": str(TESTS), "FBN_BENCH_PLUGINS": "engine_toy_plugin", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "fbn_bench", "run", "--datasets", f"toy:root={toy_root}", "--image-size", "16"]
        + ["--steps", "2", "--batch-size", "24", "--out", str(out), "--no-progress", "--cpu"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: cannot write checkpoint") and "No space left on device" in last, last
    assert "Traceback" not in proc.stderr
    # Nothing a later command would trust: no checkpoint, no records, and no temporary file left taking the space.
    assert not (out / "checkpoint.pt").exists() and not (out / "results.jsonl").exists()
    assert not [p for p in out.rglob(".tmp-*")]


def test_a_folder_that_is_no_run_is_not_called_unfinished(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(FbnError, match="is not a run folder: it has no config.json") as info:
        load_checkpoint(tmp_path / "photos")
    assert "did not finish" not in str(info.value)
    (tmp_path / "photos" / "config.json").write_text("{}")  # a run folder killed before its checkpoint
    with pytest.raises(FbnError, match="did not finish"):
        load_checkpoint(tmp_path / "photos")
