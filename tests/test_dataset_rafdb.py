"""rafdb and rafdb-compound on tiny trees in RAF-DB's real format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from real_fixtures_common import assert_matches, corrupt, split_stats
from real_fixtures_rafdb import BASIC_TRAIN_CODES, README_BASIC, write_rafdb

from fbn_bench import FbnError
from fbn_bench.data.roots import load_split
from fbn_bench.registry import get_registry
from fbn_bench.testing import check_dataset_plugin

# These tests check parsing: the fixtures' expected counts are the whole training side (conftest.uncarved).
pytestmark = pytest.mark.usefixtures("uncarved")
TRAIN_TEST = ("train", "test")  # val: tests/test_data_splits.py


@pytest.mark.parametrize("misspelt", [True, False])
@pytest.mark.parametrize("crlf", [False, True])
def test_counts_match_construction(tmp_path, misspelt, crlf):
    expected = write_rafdb(tmp_path, misspelt=misspelt, crlf=crlf)
    for split in ("train", "test"):
        assert_matches(split_stats("rafdb", tmp_path, split), expected["rafdb"][split])


def test_conformance_basic_and_compound(tmp_path):
    expected = write_rafdb(tmp_path)
    check_dataset_plugin("rafdb", tmp_path, splits=TRAIN_TEST)
    check_dataset_plugin("rafdb:images=original", tmp_path, splits=TRAIN_TEST)
    report = check_dataset_plugin("rafdb-compound", tmp_path, splits=TRAIN_TEST)
    for split in ("train", "test"):
        assert report.splits[split].extra["compound"] == expected["rafdb-compound"][split]["compound"]
        assert report.splits[split].stats["n_samples"] == expected["rafdb-compound"][split]["n_samples"]


def test_rows_codes_and_image_options(tmp_path):
    write_rafdb(tmp_path)
    spec = get_registry().dataset("rafdb")
    df, _ = load_split(spec, "train", {"root": str(tmp_path)})
    assert df["image"].iloc[0] == "basic/Image/aligned/train_00001_aligned.jpg"
    assert list(df["expression"]) == [README_BASIC[c] for c in BASIC_TRAIN_CODES]
    assert df["subject"].iloc[0] == "train_00001"
    test, _ = load_split(spec, "test", {"root": str(tmp_path), "images": "original"})
    assert test["image"].iloc[0] == "basic/Image/original/test_0001.jpg"
    # the root may also be basic/ itself
    df2, _ = load_split(spec, "train", {"root": str(tmp_path / "basic")})
    assert df2["image"].iloc[0] == "Image/aligned/train_00001_aligned.jpg"
    with pytest.raises(FbnError, match="option images=cropped is invalid; use one of aligned, original"):
        load_split(spec, "train", {"root": str(tmp_path), "images": "cropped"})


def test_compound_uses_canonical_names_and_sibling_folder(tmp_path):
    write_rafdb(tmp_path / "rafdb")
    spec = get_registry().dataset("rafdb-compound")
    assert spec.tasks == frozenset()
    # --data-root DIR resolves DIR/rafdb-compound, which does not exist: the loader finds DIR/rafdb/compound
    df, _ = load_split(spec, "train", {}, data_root=tmp_path)
    assert df["compound"].iloc[0] == "sadly angry" and df["compound"].iloc[2] == "disgustedly surprised"
    first = Path(df["image"].iloc[0])
    assert first.is_absolute() and first.is_file() and first.name == "train_00001_aligned.jpg"
    assert df["expression"].isna().all()


def test_root_at_the_other_part_says_which_folder_it_is(tmp_path):
    write_rafdb(tmp_path)
    registry = get_registry()
    # basic codes 1-7 are valid compound codes: without the check this read basic labels as compound classes
    expected = (
        f"{tmp_path / 'basic'} is RAF-DB's basic/ folder (7 basic expressions), but rafdb-compound reads "
        f"compound/: pass --root {tmp_path} (it holds compound/); the basic labels are read by the dataset rafdb"
    )
    with pytest.raises(FbnError, match=f"^{re.escape(expected)}$"):
        load_split(registry.dataset("rafdb-compound"), "train", {"root": str(tmp_path / "basic")})
    with pytest.raises(
        FbnError,
        match=r"compound is RAF-DB's compound/ folder \(11 compound expressions\), but rafdb "
        r"reads basic/: pass --root .* \(it holds basic/\)",
    ):
        load_split(registry.dataset("rafdb"), "train", {"root": str(tmp_path / "compound")})


def test_label_files_of_the_other_part_under_other_names_are_recognised(tmp_path):
    # The compound file where rafdb expects the basic one: codes 8-11 exist only in the compound set.
    write_rafdb(tmp_path / "a")
    (tmp_path / "a" / "basic").rename(tmp_path / "a" / "old")
    (tmp_path / "a" / "compound").rename(tmp_path / "a" / "basic")
    with pytest.raises(
        FbnError,
        match=r"list_patition_label.txt:\d+: expression code '(8|9|10|11)' is not one of 1..7 .*"
        r"codes 8-11 exist only in RAF-DB's compound set: this looks like compound/'s "
        r"label file",
    ):
        load_split(get_registry().dataset("rafdb"), "train", {"root": str(tmp_path / "a")})
    # The basic file where rafdb-compound expects the compound one: many lines, not one code above 7.
    label_file = tmp_path / "b" / "compound" / "EmoLabel" / "list_patition_label.txt"
    label_file.parent.mkdir(parents=True)
    label_file.write_text("".join(f"train_{i:05d}.jpg {i % 7 + 1}\n" for i in range(1, 61)))
    with pytest.raises(FbnError, match=r"has 60 lines and no code above 7, so it looks like RAF-DB's basic label file"):
        load_split(get_registry().dataset("rafdb-compound"), "train", {"root": str(tmp_path / "b")})


def _label_file(root):
    return root / "basic" / "EmoLabel" / "list_patition_label.txt"


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("train_00003.jpg", r"list_patition_label.txt:3: expected '<image name> <label code>'"),
        ("train_00003.jpg 8", r"list_patition_label.txt:3: expression code '8' is not one of 1..7"),
        ("train_00003.jpg 0", r"0-based file such as RAF-CE"),
        ("val_00003.jpg 4", r"does not start with 'train_' or 'test_'"),
    ],
)
def test_malformed_label_line_names_file_and_line(tmp_path, bad_line, message):
    write_rafdb(tmp_path, compound=False)
    lines = _label_file(tmp_path).read_text().splitlines()
    lines[2] = bad_line
    _label_file(tmp_path).write_text("\n".join(lines) + "\n")
    with pytest.raises(FbnError, match=message):
        check_dataset_plugin("rafdb", tmp_path, splits=TRAIN_TEST)


def test_missing_label_folder_names_both_spellings(tmp_path):
    write_rafdb(tmp_path, compound=False)
    _label_file(tmp_path).unlink()
    with pytest.raises(FbnError, match=r"basic/EmoLabel/list_patition_label.txt.*list_partition_label.txt"):
        check_dataset_plugin("rafdb", tmp_path, splits=TRAIN_TEST)


def test_unreadable_and_missing_images_are_counted(tmp_path):
    write_rafdb(tmp_path, compound=False)
    corrupt(tmp_path / "basic" / "Image" / "aligned" / "train_00002_aligned.jpg")
    (tmp_path / "basic" / "Image" / "aligned" / "test_0003_aligned.jpg").unlink()
    report = check_dataset_plugin("rafdb", tmp_path, strict=False, splits=TRAIN_TEST)
    assert report.splits["train"].unreadable_images == 1
    assert report.splits["test"].stats["missing_images"] == 1
    assert any("train_00002_aligned.jpg" in p for p in report.problems)
    assert any("test_0003_aligned.jpg" in p for p in report.problems)
    with pytest.raises(AssertionError, match="failed 2 check"):
        check_dataset_plugin("rafdb", tmp_path, splits=TRAIN_TEST)
