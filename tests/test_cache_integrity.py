"""The decoded-image cache is checked before use: a damaged cache is rebuilt with a warning, never used;
temporaries a killed build left behind are removed by a later run."""

from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np
import pytest
from data_fixtures import toy_spec, write_toy

from fbn_bench.data import cache as cache_mod
from fbn_bench.data.cache import prepare_split
from fbn_bench.data.images import decode_face
from fbn_bench.errors import FbnError

SIZE = 12


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "_verified", set())  # each test starts as a fresh process
    monkeypatch.setattr(cache_mod, "_cleaned", set())
    root = tmp_path / "toy"
    table = write_toy(root, n=10)
    return root, table, tmp_path / "cache"


def prepare(root, cache_dir):
    return prepare_split(toy_spec(), "train", {"root": str(root)}, image_size=SIZE, cache_dir=cache_dir, progress=False)


def _zero_the_middle(npy):
    """Same size, same header: only pixels change (what a bad disk block or a partial copy does)."""
    size = npy.stat().st_size
    with open(npy, "r+b") as fh:
        fh.seek(size // 3)
        fh.write(bytes(size // 3))


def test_the_metadata_holds_the_sha256_of_the_images(toy):
    root, _, cache_dir = toy
    p = prepare(root, cache_dir)
    meta = json.loads(p.cache_path.with_suffix(".json").read_text())
    assert meta["sha256"] == hashlib.sha256(p.cache_path.read_bytes()).hexdigest()


def test_a_damaged_cache_is_rebuilt_with_a_warning(toy, capsys):
    root, table, cache_dir = toy
    p = prepare(root, cache_dir)
    expected = np.stack([decode_face(root / image, SIZE) for image in table["image"]])
    assert np.array_equal(np.asarray(p.images), expected)
    del p
    capsys.readouterr()

    npy = next(cache_dir.glob("*.npy"))
    stat = npy.stat()
    _zero_the_middle(npy)
    os.utime(npy, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with its time put back
    cache_mod._verified.clear()  # as a new process finds it
    again = prepare(root, cache_dir)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "damaged" in line]
    assert len(warnings) == 1 and str(npy) in warnings[0] and "decoding toy/train again" in warnings[0]
    assert np.array_equal(np.asarray(again.images), expected)  # the pixels decoding gives, not zeros


def test_damage_after_first_use_in_a_process_is_found_when_the_file_changes(toy, capsys):
    root, table, cache_dir = toy
    prepare(root, cache_dir)
    npy = next(cache_dir.glob("*.npy"))
    _zero_the_middle(npy)
    os.utime(npy, ns=(npy.stat().st_atime_ns, npy.stat().st_mtime_ns + 10**9))  # coarse file-system clocks
    again = prepare(root, cache_dir)
    assert "damaged" in capsys.readouterr().err
    assert np.asarray(again.images).any(axis=(1, 2, 3)).all()  # no image of zeros survived


def test_an_intact_cache_is_hashed_once_per_process(toy, monkeypatch):
    root, _, cache_dir = toy
    prepare(root, cache_dir)  # builds (and hashes what it wrote)
    cache_mod._verified.clear()
    calls = []
    real = cache_mod.file_sha256
    monkeypatch.setattr(cache_mod, "file_sha256", lambda path: calls.append(path) or real(path))
    for _ in range(3):
        prepare(root, cache_dir)
    assert len(calls) == 1


def test_a_cache_without_a_checksum_is_built_again(toy):
    root, _, cache_dir = toy
    p = prepare(root, cache_dir)
    meta_path = p.cache_path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    del meta["sha256"]  # as caches were written before they were checked
    meta_path.write_text(json.dumps(meta))
    prepare(root, cache_dir)
    assert "sha256" in json.loads(meta_path.read_text())


def test_stale_temporaries_of_a_killed_build_are_removed(toy):
    root, _, cache_dir = toy
    cache_dir.mkdir(parents=True)
    stale, fresh = cache_dir / ".tmp-abc.npy", cache_dir / ".tmp-def.npy"
    stale.write_bytes(bytes(1000))
    fresh.write_bytes(bytes(1000))  # a build in progress in another process: left alone
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    prepare(root, cache_dir)
    assert not stale.exists() and fresh.exists()


def test_a_cache_folder_that_is_a_file_is_one_line(toy):
    root, _, cache_dir = toy
    cache_dir.write_text("not a folder")
    with pytest.raises(FbnError, match=f"the image cache folder {cache_dir} is a file"):
        prepare(root, cache_dir)


def test_a_disk_without_room_for_the_cache_is_said_before_decoding(toy, monkeypatch):
    import shutil
    from collections import namedtuple

    root, _, cache_dir = toy
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**6, 10**6 - 1000, 1000))
    with pytest.raises(FbnError, match=r"needs 8.6 KB to build 10 faces at 12 px but the disk has 1.0 KB free"):
        prepare(root, cache_dir)
    assert not cache_dir.exists() or not list(cache_dir.glob("*.npy"))
