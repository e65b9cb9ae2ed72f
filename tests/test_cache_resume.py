"""A cache build killed part-way continues where it stopped: the finished cache is byte for byte the one an
uninterrupted build writes, only the units not yet on disk are decoded again, and a partial build is never
taken for a complete cache. The kill is real (os._exit in a child process: no cleanup runs)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import toy_spec, write_image, write_toy

from fbn_bench.data import decode as decode_mod
from fbn_bench.data import partial as partial_mod
from fbn_bench.data.cache import prepare_split
from fbn_bench.data.decode import CHUNK

N, SIZE = 5 * CHUNK + 7, 12  # six units of pictures
TESTS = Path(__file__).parent


def prepare(root, cache_dir):
    return prepare_split(toy_spec(), "train", {"root": str(root)}, image_size=SIZE, cache_dir=cache_dir, progress=False)


@pytest.fixture
def toy(tmp_path):
    root = tmp_path / "toy"
    write_toy(root, n=N)
    (root / "images" / "train_003.png").write_bytes(b"broken")  # one skipped row survives the resume too
    return root


def kill_after(root: Path, cache_dir: Path, units: int) -> int:
    """Build in a child process that saves after every unit and dies (os._exit, as SIGKILL) after `units`."""
    code = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(TESTS)!r})
        from data_fixtures import toy_spec
        from fbn_bench.data import partial
        from fbn_bench.data.cache import prepare_split

        partial.SAVE_EVERY_S = 0.0
        record, seen = partial.PartialBuild.record, []

        def dying(self, unit, decoded):
            record(self, unit, decoded)
            seen.append(unit)
            if len(seen) == {units}:
                os._exit(9)

        partial.PartialBuild.record = dying
        prepare_split(toy_spec(), "train", {{"root": {str(root)!r}}}, image_size={SIZE}, cache_dir={str(cache_dir)!r},
                      progress=False, workers=1)
        """
    )
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, "OMP_NUM_THREADS": "1"}).returncode


def test_a_killed_build_continues_and_ends_byte_identical(toy, tmp_path, monkeypatch, capsys):
    reference = prepare(toy, tmp_path / "reference")
    cache_dir = tmp_path / "cache"
    assert kill_after(toy, cache_dir, units=3) == 9
    assert not list(cache_dir.glob("*.npy")) and not list(cache_dir.glob("*.json"))  # nothing complete to trust
    assert len(list(cache_dir.glob("*.partial"))) == 2
    decoded_rows = []
    real = decode_mod._picture_chunk

    def counting(rows, *args):
        decoded_rows.extend(rows)
        return real(rows, *args)

    monkeypatch.setattr(decode_mod, "_picture_chunk", counting)
    resumed = prepare(toy, cache_dir)
    assert len(decoded_rows) == N - 3 * CHUNK  # only the three units that were not on disk
    assert "continuing a cache build that stopped part-way" in capsys.readouterr().err
    assert resumed.cache_path.read_bytes() == reference.cache_path.read_bytes()
    assert resumed.skipped == reference.skipped == {"unreadable": 1}
    np.testing.assert_array_equal(resumed.rows, reference.rows)
    assert not list(cache_dir.glob("*.partial")) and not list(cache_dir.glob("*.lock"))


def test_a_partial_build_of_other_data_is_started_again(toy, tmp_path):
    cache_dir = tmp_path / "cache"
    assert kill_after(toy, cache_dir, units=2) == 9
    state = next(cache_dir.glob("*.json.partial"))
    # the same file name with another key inside (e.g. written by another decoder version) is not resumed
    state.write_text(state.read_text().replace('"key": "', '"key": "0', 1))
    write_image(toy / "images" / "train_003.png", 3)  # and the broken picture is fixed meanwhile
    again = prepare(toy, cache_dir)
    assert again.skipped == {} and len(again) == N


def test_cache_list_shows_a_partial_build(toy, tmp_path):
    from click.testing import CliRunner

    from fbn_bench.cli import cli

    cache_dir = tmp_path / "cache"
    kill_after(toy, cache_dir, units=2)
    listed = CliRunner().invoke(cli, ["cache", "list", "--cache-dir", str(cache_dir)])
    assert listed.exit_code == 0, listed.output
    assert "partial build, 2 units done" in listed.output


def test_saves_are_throttled(monkeypatch, tmp_path):
    # With the default interval a fast build writes its state once at the end, not after every unit.
    writes = []
    monkeypatch.setattr(partial_mod, "atomic_write_text", lambda path, text, what: writes.append(path))
    build = partial_mod.PartialBuild(tmp_path / "x.npy", "k", 4, 8)
    with build:
        for unit in range(50):
            build.record(f"p{unit}", decode_mod.Decoded())
        build.save()
    assert len(writes) == 1
