"""`fbn-bench cache list/prune`: the decoded-image cache and generated synthetic data, sizes and ages."""

from __future__ import annotations

import os
import time

import pytest
from click.testing import CliRunner
from data_fixtures import toy_spec, write_toy

from fbn_bench.cli import cli
from fbn_bench.data.cache import prepare_split

DAY = 86400


def _age(path, days):
    then = time.time() - days * DAY
    os.utime(path, (then, then))


@pytest.fixture
def stored(tmp_path):
    """A cache folder with two cached splits (one unused for 10 days) and a data root whose synthetic
    database holds two generated option sets (one 10 days old) and a temporary a killed generator left."""
    cache_dir, data_root = tmp_path / "cache", tmp_path / "data"
    root = tmp_path / "toy"
    write_toy(root, n=6)
    for size in (12, 16):
        prepare_split(toy_spec(), "train", {"root": str(root)}, image_size=size, cache_dir=cache_dir, progress=False)
    _age(next(cache_dir.glob("*-12px-*.json")), 10)
    synth = data_root / "synth-rafdb"
    for key, days in (("new-key", 0), ("old-key", 10), (".tmp-old-key-123-abcd", 3)):
        (synth / key).mkdir(parents=True)
        (synth / key / "train.csv").write_bytes(bytes(2500))
        _age(synth / key, days)
    return cache_dir, data_root


def _cache(*args, stored):
    cache_dir, data_root = stored
    where = ["--cache-dir", str(cache_dir), "--data-root", str(data_root)]
    return CliRunner().invoke(cli, ["cache", *args, *where], obj={"debug": False})


def test_list_shows_each_cached_split_and_generated_database_with_size_and_age(stored):
    result = _cache("list", stored=stored)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"decoded images: {stored[0]}" in lines
    split12 = next(line for line in lines if "toy/train 12px (6 images)" in line)
    npy = next(stored[0].glob("*-12px-*.npy"))
    size = npy.stat().st_size + npy.with_suffix(".json").stat().st_size
    assert f"{size / 1000:.1f} KB" in split12 and "| 10.0 " in split12
    old = next(line for line in lines if "synth-rafdb/old-key" in line)
    assert old.startswith("| generated") and "2.5 KB" in old and "| 10.0 " in old
    assert any(line.startswith("| left over") and ".tmp-old-key" in line for line in lines)
    assert "5 item(s)" in result.output


def test_prune_older_than_removes_only_what_was_not_used_since(stored):
    cache_dir, data_root = stored
    dry = _cache("prune", "--older-than", "5", "--dry-run", stored=stored)
    assert dry.exit_code == 0 and "would remove 2 of 5 item(s)" in dry.output
    assert len(list(cache_dir.glob("*.npy"))) == 2 and (data_root / "synth-rafdb" / "old-key").exists()
    result = _cache("prune", "--older-than", "5", stored=stored)
    assert result.exit_code == 0 and "removed 2 of 5 item(s)" in result.output
    assert [p.name for p in cache_dir.glob("*.npy")] == [next(cache_dir.glob("*-16px-*.npy")).name]
    assert sorted(p.name for p in (data_root / "synth-rafdb").iterdir()) == [".tmp-old-key-123-abcd", "new-key"]


def test_prune_all_keeps_a_temporary_a_build_may_still_be_writing(stored):
    cache_dir, data_root = stored
    young = data_root / "synth-rafdb" / ".tmp-now-1-beef"
    young.mkdir()
    result = _cache("prune", "--all", stored=stored)
    assert result.exit_code == 0 and "removed 5 of 6 item(s)" in result.output
    assert list(cache_dir.iterdir()) == [] and [p.name for p in (data_root / "synth-rafdb").iterdir()] == [young.name]


@pytest.mark.parametrize("args", [[], ["--all", "--older-than", "3"], ["--older-than", "-1"]])
def test_prune_wants_one_clear_instruction(stored, args):
    result = _cache("prune", *args, stored=stored)
    assert result.exit_code == 2 and result.output.startswith("Error: ") and len(result.output.splitlines()) == 1
