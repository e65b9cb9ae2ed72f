"""emotionet on a tiny manual-set CSV in the real 2020 format."""

from __future__ import annotations

import pytest
from real_fixtures_common import assert_matches, corrupt, split_stats
from real_fixtures_emotionet import FILE_NAME, header, write_emotionet

from fbn_bench import FbnError
from fbn_bench.data.roots import load_split
from fbn_bench.registry import get_registry
from fbn_bench.testing import check_dataset_plugin

# These tests check parsing: the fixtures' expected counts are the whole training side (conftest.uncarved).
pytestmark = pytest.mark.usefixtures("uncarved")
TRAIN_TEST = ("train", "test")  # val: tests/test_data_splits.py


@pytest.mark.parametrize("percent", [20, 50])
def test_counts_match_construction(tmp_path, percent):
    expected = write_emotionet(tmp_path, test_percent=percent)
    for split in ("train", "test"):
        expected_split = {k: v for k, v in expected[split].items() if k != "skipped"}
        assert_matches(split_stats("emotionet", tmp_path, split, test_percent=percent), expected_split)


def test_conformance_and_skipped_rows(tmp_path):
    expected = write_emotionet(tmp_path)
    report = check_dataset_plugin("emotionet", tmp_path, splits=TRAIN_TEST)
    for split in ("train", "test"):
        got = report.splits[split].skipped.get("rows with every AU among the 17 unknown (999)", 0)
        assert got == expected[split]["skipped"]


def test_quotes_stripped_and_outside_aus_ignored(tmp_path):
    write_emotionet(tmp_path)
    df, _ = load_split(get_registry().dataset("emotionet"), "train", {"root": str(tmp_path)})
    assert df["image"].iloc[0].startswith("images/N_") and "'" not in df["image"].iloc[0]
    assert not any(c in df.columns for c in ("AU18", "AU43", "AU51"))


def _rewrite(root, index, text):
    lines = (root / FILE_NAME).read_text().splitlines()
    lines[index] = text
    (root / FILE_NAME).write_text("\n".join(lines) + "\n")


def test_malformed_inputs(tmp_path):
    write_emotionet(tmp_path, images=False)
    spec = get_registry().dataset("emotionet")
    row = (tmp_path / FILE_NAME).read_text().splitlines()[3]

    _rewrite(tmp_path, 3, row.rsplit(",", 4)[0])  # truncated
    with pytest.raises(FbnError, match=rf"{FILE_NAME}:4: 21 fields where the header has 25"):
        load_split(spec, "train", {"root": str(tmp_path)})

    fields = row.split(",")
    _rewrite(tmp_path, 3, ",".join([*fields[:2], "2", *fields[3:]]))  # AU1 = 2
    with pytest.raises(FbnError, match=rf"{FILE_NAME}:4: AU1 value '2' is not 0, 1 or 999"):
        load_split(spec, "train", {"root": str(tmp_path)})

    _rewrite(tmp_path, 0, header().replace("URL,", "link,", 1))
    with pytest.raises(FbnError, match=rf"{FILE_NAME}:1: expected a header like URL,URL orig"):
        load_split(spec, "train", {"root": str(tmp_path)})


def test_missing_annotation_file_mentions_xlsx(tmp_path):
    (tmp_path / "EmotioNet_FACS_aws_2020_24600.xlsx").write_bytes(b"x")
    with pytest.raises(FbnError, match=r"EmotioNet_FACS_aws_2020_24600.csv.*found only .*xlsx: save it as CSV"):
        check_dataset_plugin("emotionet", tmp_path, splits=TRAIN_TEST)


def test_unreadable_image_is_counted(tmp_path):
    write_emotionet(tmp_path)
    df, _ = load_split(get_registry().dataset("emotionet"), "test", {"root": str(tmp_path)})
    corrupt(tmp_path / df["image"].iloc[0])
    report = check_dataset_plugin("emotionet", tmp_path, strict=False, splits=TRAIN_TEST)
    assert report.splits["test"].unreadable_images == 1 and len(report.problems) == 1
