"""Decoding faces and the uint8 image cache: reuse, invalidation, bad-image counting, atomic writes."""

from __future__ import annotations

import dataclasses
import io
import threading

import numpy as np
import pandas as pd
import pytest
from data_fixtures import toy_spec, write_image, write_toy
from PIL import Image

from fbn_bench.data import cache as cache_mod
from fbn_bench.data.cache import prepare_split
from fbn_bench.data.images import BadImageError, decode_face
from fbn_bench.data.table import LoadedTable
from fbn_bench.errors import FbnError

SIZE = 12


@pytest.fixture
def toy(tmp_path):
    root = tmp_path / "toy"
    table = write_toy(root, n=10)
    return root, table, tmp_path / "cache"


def prepare(root, cache_dir, spec=None, size=SIZE, **kw):
    return prepare_split(
        spec or toy_spec(), "train", {"root": str(root)}, image_size=size, cache_dir=cache_dir, progress=False, **kw
    )


@pytest.fixture
def decode_calls(monkeypatch):
    """Counts how many times the cache decodes a whole split."""
    calls = []
    real = cache_mod.decode_units

    def counting(sources, *args, **kwargs):
        calls.append(len(sources))
        return real(sources, *args, **kwargs)

    monkeypatch.setattr(cache_mod, "decode_units", counting)
    return calls


# ---------------------------------------------------------------- decode_face


def test_decode_face_matches_pil_resize_and_crop(tmp_path):
    path = tmp_path / "a.png"
    write_image(path, 7, size=(40, 30))
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    whole = np.asarray(rgb.resize((SIZE, SIZE), Image.Resampling.BILINEAR))
    assert np.array_equal(decode_face(path, SIZE), whole)
    crop = np.asarray(rgb.crop((5, 4, 25, 24)).resize((SIZE, SIZE), Image.Resampling.BILINEAR))
    assert np.array_equal(decode_face(path, SIZE, (5, 4, 20, 20)), crop)
    # A box reaching past the image is clamped to it.
    clamped = np.asarray(rgb.crop((30, 20, 40, 30)).resize((SIZE, SIZE), Image.Resampling.BILINEAR))
    assert np.array_equal(decode_face(path, SIZE, (30, 20, 50, 50)), clamped)
    assert decode_face(path, SIZE).dtype == np.uint8 and decode_face(path, SIZE).shape == (SIZE, SIZE, 3)


def test_decode_face_grayscale_and_rgba_become_rgb(tmp_path):
    Image.new("L", (20, 20), 77).save(tmp_path / "g.png")
    Image.new("RGBA", (20, 20), (10, 20, 30, 0)).save(tmp_path / "a.png")
    assert np.all(decode_face(tmp_path / "g.png", 8) == 77)
    assert np.all(decode_face(tmp_path / "a.png", 8) == (10, 20, 30))


def test_decode_face_large_jpeg_draft_keeps_the_crop(tmp_path):
    """JPEG draft decoding must map the bbox into the reduced image: left half red, right half blue."""
    img = np.zeros((800, 800, 3), np.uint8)
    img[:, :400] = (255, 0, 0)
    img[:, 400:] = (0, 0, 255)
    Image.fromarray(img).save(tmp_path / "big.jpg", quality=95)
    left = decode_face(tmp_path / "big.jpg", 16, (0, 0, 390, 800)).astype(int)
    right = decode_face(tmp_path / "big.jpg", 16, (410, 0, 390, 800)).astype(int)
    assert left[..., 0].min() > 200 and left[..., 2].max() < 60
    assert right[..., 2].min() > 200 and right[..., 0].max() < 60


def _bad_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    (folder / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (folder / "text.jpg").write_bytes(b"this is not an image at all\n" * 10)
    (folder / "empty.png").write_bytes(b"")
    return {
        "truncated": folder / "truncated.jpg",
        "text": folder / "text.jpg",
        "empty": folder / "empty.png",
        "missing": folder / "nope.png",
    }


def test_decode_face_reasons(tmp_path):
    bad = _bad_files(tmp_path / "bad")
    write_image(tmp_path / "ok.png", 1)
    expected = {"missing": "missing", "truncated": "unreadable", "text": "unreadable", "empty": "unreadable"}
    for name, reason in expected.items():
        with pytest.raises(BadImageError) as err:
            decode_face(bad[name], SIZE)
        assert err.value.reason == reason and str(bad[name]) in str(err.value)
    for bbox in [(0, 0, 0, 10), (0, 0, 10, -1), (100, 100, 5, 5), (np.nan, 0, 5, 5)]:
        with pytest.raises(BadImageError) as err:
            decode_face(tmp_path / "ok.png", SIZE, bbox)
        assert err.value.reason == "bad bbox"
    assert issubclass(BadImageError, FbnError)


# ---------------------------------------------------------------- the cache


def test_cache_holds_decoded_rows_and_labels(toy):
    root, table, cache_dir = toy
    p = prepare(root, cache_dir)
    assert len(p) == 10 and p.n_skipped == 0 and isinstance(p.images, np.memmap)
    assert p.images.shape == (10, SIZE, SIZE, 3) and not p.images.flags.writeable
    for i in (0, 9):
        assert np.array_equal(p.images[i], decode_face(root / table["image"][i], SIZE))
    np.testing.assert_array_equal(p.labels["va"][:, 0], table["valence"].to_numpy())
    assert p.cache_path.parent == cache_dir and p.cache_path.suffix == ".npy"


def test_cache_default_location_is_fbn_bench_cache(tmp_path, monkeypatch):
    root = tmp_path / "toy"
    write_toy(root, n=3)
    monkeypatch.setenv("FBN_BENCH_CACHE", str(tmp_path / "elsewhere"))
    p = prepare_split(toy_spec(), "train", {"root": str(root)}, image_size=SIZE, progress=False)
    assert p.cache_path.parent == tmp_path / "elsewhere"


def test_second_run_reuses_the_cache(toy, decode_calls):
    root, _, cache_dir = toy
    first = prepare(root, cache_dir)
    second = prepare(root, cache_dir)
    assert decode_calls == [10]
    assert second.cache_path == first.cache_path
    assert np.array_equal(np.asarray(first.images), np.asarray(second.images))
    assert sorted(f.name for f in cache_dir.iterdir()) == sorted(
        [first.cache_path.name, first.cache_path.with_suffix(".json").name]
    )


@pytest.mark.parametrize("change", ["image path", "bbox", "row order", "size", "loader_version", "root"])
def test_cache_invalidation(toy, decode_calls, change, tmp_path):
    root, table, cache_dir = toy
    spec, size = toy_spec(), SIZE
    if change == "bbox":  # first run with one set of boxes, then another
        table.assign(bbox_x=0, bbox_y=0, bbox_w=20, bbox_h=20).to_csv(root / "train.csv", index=False)
    first = prepare(root, cache_dir)
    if change == "image path":
        write_image(root / "images/other.png", 99)
        table.loc[3, "image"] = "images/other.png"
        table.to_csv(root / "train.csv", index=False)
    elif change == "bbox":
        table.assign(bbox_x=0, bbox_y=0, bbox_w=20, bbox_h=21).to_csv(root / "train.csv", index=False)
    elif change == "row order":
        table.iloc[::-1].to_csv(root / "train.csv", index=False)
    elif change == "size":
        size = SIZE + 4
    elif change == "loader_version":
        spec = dataclasses.replace(spec, loader_version="2")
    elif change == "root":
        import shutil

        shutil.copytree(root, tmp_path / "copy")
        root = tmp_path / "copy"
    second = prepare(root, cache_dir, spec=spec, size=size)
    assert decode_calls == [10, 10]
    assert second.cache_path != first.cache_path
    if change == "row order":
        assert np.array_equal(np.asarray(second.images[::-1]), np.asarray(first.images))
    if change == "image path":
        assert np.array_equal(second.images[3], decode_face(root / "images/other.png", SIZE))


def test_label_change_keeps_pixels_but_reads_new_labels(toy, decode_calls):
    root, table, cache_dir = toy
    prepare(root, cache_dir)
    table["valence"] = 0.5
    table.to_csv(root / "train.csv", index=False)
    p = prepare(root, cache_dir)
    assert decode_calls == [10]
    assert np.all(p.labels["va"][:, 0] == 0.5)


def test_bad_images_are_counted_and_reported_once(tmp_path, capsys):
    root = tmp_path / "toy"
    table = write_toy(root, n=8)
    bad = _bad_files(root / "images")
    extra = pd.DataFrame(
        {
            "image": [
                str(bad["missing"]),
                "images/truncated.jpg",
                "images/text.jpg",
                "images/empty.png",
                "images/train_000.png",
                "images/train_001.png",
            ]
        }
    )
    table = pd.concat([table, extra], ignore_index=True)
    table[["bbox_x", "bbox_y", "bbox_w", "bbox_h"]] = (0.0, 0.0, 30.0, 30.0)
    table.loc[12, "bbox_w"] = 0  # w <= 0
    table.loc[13, ["bbox_x", "bbox_y"]] = (500.0, 500.0)  # outside the 40x32 image
    table.to_csv(root / "train.csv", index=False)

    p = prepare(root, tmp_path / "cache")
    assert p.skipped == {"missing": 1, "unreadable": 3, "bad bbox": 2}
    assert p.n_skipped == 6 and len(p) == 8 and len(p.table) == 14
    assert p.rows.tolist() == list(range(8))
    assert p.images.shape[0] == 8
    assert np.array_equal(p.images[7], decode_face(root / "images/train_007.png", SIZE, (0, 0, 30, 30)))
    assert p.skipped_examples[0] == (str(bad["missing"]), "missing")
    assert [r for _, r in p.skipped_examples] == ["missing", "unreadable", "unreadable", "unreadable", "bad bbox"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skipped 6 of 14 images (1 missing, 3 unreadable, 2 bad bbox)" in err[0]

    # The counts survive reuse (the skipped rows are in the cache's JSON), and are reported again.
    again = prepare(root, tmp_path / "cache")
    assert again.skipped == p.skipped and again.rows.tolist() == p.rows.tolist()
    assert "skipped 6 of 14" in capsys.readouterr().err
    assert prepare(root, tmp_path / "cache", report=False).n_skipped == 6
    assert capsys.readouterr().err == ""


def test_labels_follow_the_surviving_rows(tmp_path):
    root = tmp_path / "toy"
    table = write_toy(root, n=6)
    (root / table["image"][2]).unlink()
    p = prepare(root, tmp_path / "cache")
    assert p.rows.tolist() == [0, 1, 3, 4, 5]
    np.testing.assert_array_equal(p.labels["va"][:, 1], table["arousal"].to_numpy()[[0, 1, 3, 4, 5]])
    assert np.array_equal(p.images[2], decode_face(root / table["image"][3], SIZE))


def test_a_fixed_file_is_picked_up(tmp_path, decode_calls):
    root = tmp_path / "toy"
    table = write_toy(root, n=5)
    (root / table["image"][1]).unlink()
    assert len(prepare(root, tmp_path / "cache")) == 4
    assert len(prepare(root, tmp_path / "cache")) == 4  # still missing: reused
    write_image(root / table["image"][1], 5)
    assert len(prepare(root, tmp_path / "cache")) == 5
    assert decode_calls == [5, 5]


def test_all_images_bad_gives_an_empty_split(tmp_path):
    root = tmp_path / "toy"
    table = write_toy(root, n=3)
    for rel in table["image"]:
        (root / rel).unlink()
    p = prepare(root, tmp_path / "cache")
    assert len(p) == 0 and p.images.shape == (0, SIZE, SIZE, 3) and p.skipped == {"missing": 3}
    assert len(prepare(root, tmp_path / "cache")) == 0


def test_partial_bbox_columns_are_an_error(toy):
    root, table, cache_dir = toy
    table.assign(bbox_x=0, bbox_y=0).to_csv(root / "train.csv", index=False)
    with pytest.raises(FbnError, match="bbox_w"):
        prepare(root, cache_dir)


def test_interrupted_build_leaves_no_cache_only_its_partial_build(toy, monkeypatch):
    # No .npy/.json pair a later run would trust; the partial build (tests/test_cache_resume.py) is continued
    # and removed by the next build.
    root, _, cache_dir = toy

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_mod, "decode_units", crash)
    with pytest.raises(KeyboardInterrupt):
        prepare(root, cache_dir)
    assert sorted(p.suffix for p in cache_dir.iterdir()) == [".lock", ".partial", ".partial"]
    monkeypatch.undo()
    assert len(prepare(root, cache_dir)) == 10
    assert sorted(p.suffix for p in cache_dir.iterdir()) == [".json", ".npy"]


def test_corrupt_cache_files_are_rebuilt(toy, decode_calls):
    root, _, cache_dir = toy
    p = prepare(root, cache_dir)
    p.cache_path.write_bytes(b"garbage")
    assert len(prepare(root, cache_dir)) == 10
    p.cache_path.with_suffix(".json").write_text("{not json")
    assert len(prepare(root, cache_dir)) == 10
    assert decode_calls == [10, 10, 10]


def test_concurrent_builders_agree(toy):
    root, _, cache_dir = toy
    results, errors = [], []

    def build():
        try:
            results.append(np.asarray(prepare(root, cache_dir, workers=1).images).copy())
        except Exception as err:  # surfaced by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 3
    assert all(np.array_equal(r, results[0]) for r in results)
    assert not [f for f in cache_dir.iterdir() if f.name.startswith(".tmp-")]


def test_rows_the_loader_dropped_are_reported_with_the_bad_images(tmp_path, capsys):
    root = tmp_path / "toy"
    table = write_toy(root, n=4)
    (root / table["image"][0]).unlink()

    def load(root, split):
        return LoadedTable(pd.read_csv(root / f"{split}.csv"), skipped={"contempt": 3, "no face": 0})

    p = prepare(root, tmp_path / "cache", spec=dataclasses.replace(toy_spec(), load=load))
    assert p.skipped == {"contempt": 3, "missing": 1} and p.n_skipped == 4 and len(p) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skipped 1 of 4 images (1 missing)" in err[0] and "left out 3 rows (3 contempt)" in err[0]


def test_loader_notes_are_printed_but_not_counted_as_skipped(tmp_path, capsys):
    root = tmp_path / "toy"
    write_toy(root, n=4)

    def load(root, split):
        notes = ["2 subject folders outside the standard folds, in no split (S9, S10)"]
        return LoadedTable(pd.read_csv(root / f"{split}.csv"), skipped={"contempt": 3}, notes=notes)

    spec = dataclasses.replace(toy_spec(), load=load)
    p = prepare(root, tmp_path / "cache", spec=spec)
    # The record's n_skipped counts rows only: the 3 rows the loader dropped, not the 2 subjects of the note.
    assert p.skipped == {"contempt": 3} and p.n_skipped == 3 and len(p) == 4
    assert p.notes == ["2 subject folders outside the standard folds, in no split (S9, S10)"]
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "warning: toy/train: the loader left out 3 rows (3 contempt); all are counted in the result records",
        "warning: toy/train: 2 subject folders outside the standard folds, in no split (S9, S10)",
    ]
    quiet = prepare(root, tmp_path / "cache", spec=spec, report=False)  # e.g. not the main process
    assert quiet.notes == p.notes and capsys.readouterr().err == ""
