"""Synthetic databases on disk: deterministic, subject-disjoint, keyed by options, safe to race."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fbn_bench.data.roots import load_split, resolve_image
from fbn_bench.data.stats import table_stats
from fbn_bench.errors import FbnError
from fbn_bench.registry import get_registry
from fbn_bench.tasks import AUS
from fbn_plugins.datasets.synthetic.databases import DATABASES
from fbn_plugins.datasets.synthetic.store import ensure_generated, load_truth

SMALL = {"scale": 0.05}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json"):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    db = DATABASES["synth-affwild2"]
    a = ensure_generated(db, tmp_path / "a", **SMALL)
    b = ensure_generated(db, tmp_path / "b", **SMALL)
    c = ensure_generated(db, tmp_path / "c", seed=1, **SMALL)
    assert a.name == b.name != c.name
    assert _digest(a) == _digest(b) != _digest(c)


def test_the_faces_do_not_depend_on_how_many_processes_draw_them(tmp_path, monkeypatch):
    db = DATABASES["synth-affwild2"]  # a video database: batches cross video boundaries
    monkeypatch.setenv("FBN_BENCH_WORKERS", "1")
    one = ensure_generated(db, tmp_path / "one", **SMALL)
    monkeypatch.setenv("FBN_BENCH_WORKERS", "3")  # more processes than cores, and batches done out of order
    three = ensure_generated(db, tmp_path / "three", **SMALL)
    assert one.name == three.name  # the worker count is not a generation option
    assert _digest(one) == _digest(three)
    assert len(list(one.rglob("*.jpg"))) > 3 * 64  # enough batches that the processes share the work


def test_a_bad_worker_count_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("FBN_BENCH_WORKERS", "two")
    with pytest.raises(FbnError, match="FBN_BENCH_WORKERS='two' is not a whole number"):
        ensure_generated(DATABASES["synth-bp4d"], tmp_path, **SMALL)


@pytest.mark.parametrize("name", sorted(DATABASES))
def test_every_database_loads_subject_disjoint_splits(name, tmp_path):
    spec = get_registry().dataset(name)
    assert spec.synthetic and spec.prepare is not None
    train, root = load_split(spec, "train", SMALL, data_root=tmp_path)
    test, _ = load_split(spec, "test", SMALL, data_root=tmp_path)
    val, _ = load_split(spec, "val", SMALL, data_root=tmp_path)
    assert spec.splits == ("train", "val", "test")
    assert set(train["subject"]).isdisjoint(set(test["subject"]))
    assert set(val["subject"]).isdisjoint(set(train["subject"]) | set(test["subject"])) and len(val) > 0
    assert table_stats(train, spec, "train", root)["missing_images"] == 0
    for task, column in (("va", "valence"), ("expr", "expression")):
        assert train[column].notna().any() == (task in spec.tasks)
    annotated = [f"AU{a}" for a in AUS if train[f"AU{a}"].notna().any()]
    assert annotated == [f"AU{a}" for a in spec.aus]
    if DATABASES[name].video:
        assert train["video"].notna().all() and (train["frame"] >= 1).all()
    if DATABASES[name].compound:
        assert train["compound"].nunique() > 5
    with Image.open(resolve_image(root, train["image"].iloc[0])) as im:
        assert im.size == (64, 64) and im.mode == "RGB"


def test_occurrence_is_intensity_at_least_two(tmp_path):
    spec = get_registry().dataset("synth-disfa")
    train, _ = load_split(spec, "train", SMALL, data_root=tmp_path)
    for au in spec.aus:
        assert ((train[f"intensity_AU{au}"] >= 2) == (train[f"AU{au}"] == 1)).all()


def test_options_change_the_data_and_size(tmp_path):
    spec = get_registry().dataset("synth-rafdb")
    small, root = load_split(spec, "train", {"scale": 0.05, "size": 96}, data_root=tmp_path)
    bigger, _ = load_split(spec, "train", {"scale": 0.1}, data_root=tmp_path)
    assert len(bigger) > len(small)
    assert small["image"].iloc[0].split("/")[0] != bigger["image"].iloc[0].split("/")[0]
    with Image.open(resolve_image(root, small["image"].iloc[0])) as im:
        assert im.size == (96, 96)
    with pytest.raises(FbnError, match="size"):
        load_split(spec, "train", {"size": 4}, data_root=tmp_path)


def _generate_in(root: str) -> str:
    return str(ensure_generated(DATABASES["synth-bp4d"], Path(root), **SMALL))


def test_two_processes_generating_at_once_agree(tmp_path):
    with mp.get_context("spawn").Pool(2) as pool:
        folders = pool.map(_generate_in, [str(tmp_path)] * 2)
    assert folders[0] == folders[1]
    assert [p.name for p in tmp_path.iterdir()] == [Path(folders[0]).name]  # no temporary leftovers
    assert len(list((Path(folders[0]) / "images" / "train").iterdir())) > 0


def test_stale_manifest_is_refused(tmp_path):
    db = DATABASES["synth-rafdb"]
    folder = ensure_generated(db, tmp_path, **SMALL)
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"seed": 0', '"seed": 5'))
    with pytest.raises(FbnError, match="delete"):
        ensure_generated(db, tmp_path, **SMALL)


def test_rendered_aus_change_the_pixels_where_they_should():
    from fbn_plugins.datasets.synthetic.generate import render_ladder

    faces = render_ladder(DATABASES["synth-disfa"], seed=0, size=64).astype(np.float32)
    ladder = faces.reshape(len(AUS), 6, 64, 64, 3)
    neutral = ladder[:, 0]
    assert np.allclose(neutral, neutral[0], atol=1)  # intensity 0 is the same face for every AU
    change = np.abs(ladder[:, 5] - neutral).sum(-1)  # (17, 64, 64)
    rows = np.arange(64)[None, :, None]
    centre = (change * rows).sum((1, 2)) / change.sum((1, 2))
    upper = {AUS.index(a) for a in (1, 2, 4, 5, 7)}
    lower = {AUS.index(a) for a in (12, 15, 20, 23, 24, 25, 26)}
    for j in range(len(AUS)):
        assert change[j].sum() > 2000, f"AU{AUS[j]} barely changes the face"
        if j in upper:
            assert centre[j] < 32, f"AU{AUS[j]} should act above the face centre"
        if j in lower:
            assert centre[j] > 36, f"AU{AUS[j]} should act below the nose"
    # Every pair of AUs looks different at full intensity.
    flat = ladder[:, 5].reshape(len(AUS), -1)
    gaps = np.abs(flat[:, None] - flat[None]).mean(-1)
    assert gaps[~np.eye(len(AUS), dtype=bool)].min() > 0.1


def test_a_damaged_table_is_named_with_the_way_out(tmp_path):
    """A truncated train.csv (a killed copy, a bad disk) must not train on what is left of it."""
    db = DATABASES["synth-disfa"]
    folder = ensure_generated(db, tmp_path / db.name, **SMALL)  # where load_split looks under data_root
    spec = get_registry().dataset("synth-disfa")
    rows = load_split(spec, "train", SMALL, data_root=tmp_path)[0]
    lines = (folder / "train.csv").read_text().splitlines()
    (folder / "train.csv").write_text("\n".join(lines[:10]) + "\n")
    with pytest.raises(FbnError, match=f"damaged: train.csv has 9 rows where {len(rows)} were written.*delete"):
        load_split(spec, "train", SMALL, data_root=tmp_path)
    (folder / "test.csv").unlink()
    with pytest.raises(FbnError, match="test.csv is missing"):
        load_split(spec, "test", SMALL, data_root=tmp_path)


def test_a_killed_generation_leaves_nothing_behind_for_long(tmp_path):
    import os

    stale = tmp_path / ".tmp-v2-0123456789ab-999-deadbeef"
    (stale / "images").mkdir(parents=True)
    os.utime(stale, (0, 0))
    fresh = tmp_path / ".tmp-v2-another-1-cafe"  # a generation still running in another process
    fresh.mkdir()
    ensure_generated(DATABASES["synth-rafdb"], tmp_path, **SMALL)
    assert not stale.exists() and fresh.exists()


def test_the_world_is_part_of_the_data_and_the_truth_is_kept(tmp_path):
    db = DATABASES["synth-bp4d"]
    root = tmp_path / db.name
    folders = {w: ensure_generated(db, root, world=w, **SMALL).name for w in ("realistic", "null", "du2014")}
    assert len(set(folders.values())) == 3
    assert ensure_generated(db, root, mismatch=0.5, **SMALL).name not in folders.values()
    spec = get_registry().dataset("synth-bp4d")
    public = load_split(spec, "test", SMALL, data_root=tmp_path)[0]
    truth = load_truth(db, root, "test", **SMALL)
    assert list(truth["image"]) == list(public["image"])
    assert truth["expression"].notna().all() and public["expression"].isna().all()  # hidden, but kept
    assert truth[[f"intensity_AU{a}" for a in AUS]].notna().all().all()
