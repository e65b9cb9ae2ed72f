"""affectnet on tiny trees in both of the owners' releases (CSV file lists and per-image .npy)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from real_fixtures_aff_common import as_rows, loaded, only_missing_image_problems, skipped_rows
from real_fixtures_affectnet import CSV_ROWS, NPY_ROWS, write_affectnet_csv, write_affectnet_npy

from fbn_bench import FbnError
from fbn_bench.testing import check_dataset_plugin

# These tests check parsing: the fixtures' expected counts are the whole training side (conftest.uncarved).
pytestmark = pytest.mark.usefixtures("uncarved")
TRAIN_TEST = ("train", "test")  # val: tests/test_data_splits.py


@pytest.mark.parametrize("writer", [write_affectnet_csv, write_affectnet_npy])
def test_counts_rows_and_skips_match_construction(tmp_path, writer):
    fx = writer(tmp_path)
    for split in ("train", "test"):
        df, stats = loaded("affectnet", fx.root, split)
        assert stats == fx.stats[split]
        assert skipped_rows("affectnet", fx.root, split) == fx.skipped[split]
        assert [r.__dict__ | {"subject": None} for r in as_rows(df, fx.root)] == [
            r.__dict__ | {"subject": None} for r in fx.rows[split]
        ]
        assert list(df["subject"]) == [r.subject.rsplit(".", 1)[0] for r in fx.rows[split]]


@pytest.mark.parametrize("writer", [write_affectnet_csv, write_affectnet_npy])
def test_the_eight_class_protocol_keeps_contempt(tmp_path, writer):
    """`affectnet:classes=8` (AffectNet-8): code 7 is `contempt`; every other row is as under the 7, where code 7
    leaves the row labelled for valence-arousal only."""
    fx = writer(tmp_path)
    for split in TRAIN_TEST:
        if writer is write_affectnet_csv:
            want = sum(code == 7 and width > 0 for code, _, _, width in CSV_ROWS[split])
        else:
            want = sum(code == 7 for code, *_ in NPY_ROWS[split])
        seven, stats7 = loaded("affectnet", fx.root, split)
        eight, stats8 = loaded("affectnet", fx.root, split, classes="8")
        contempt = eight["expression"].eq("contempt").to_numpy()
        assert want > 0 and contempt.sum() == want
        assert seven["expression"][contempt].isna().all()
        assert list(eight["expression"][~contempt].fillna("-")) == list(seven["expression"][~contempt].fillna("-"))
        assert stats8["expr"]["counts"] == {**stats7["expr"]["counts"], "contempt": want}
        assert list(eight["image"]) == list(seven["image"])  # the same rows, one more label


def test_csv_boxes_and_image_paths(tmp_path):
    fx = write_affectnet_csv(tmp_path)
    df, _ = loaded("affectnet", fx.root, "train")
    first = df.iloc[0]
    assert first["image"].startswith("Manually_Annotated_Images/100/") and first["image"].endswith(".jpg")
    assert (first["bbox_x"], first["bbox_y"], first["bbox_w"], first["bbox_h"]) == (4, 6, 30, 32)
    assert any(p.endswith(".png") for p in df["image"])
    # the fixture's 136 values are 10, 10.5, 11, ...: point i (0-based) is (10 + i, 10.5 + i), so the eye centres
    # (means of points 36-41 and 42-47) are (48.5, 49) and (54.5, 55)
    assert (first["eye_l_x"], first["eye_l_y"], first["eye_r_x"], first["eye_r_y"]) == (48.5, 49.0, 54.5, 55.0)


def test_conformance_both_releases(tmp_path):
    for name, writer in (("csv", write_affectnet_csv), ("npy", write_affectnet_npy)):
        fx = writer(tmp_path / name)
        report = check_dataset_plugin("affectnet", fx.root, strict=False, splits=TRAIN_TEST)
        assert only_missing_image_problems(report) == []
        for split in ("train", "test"):
            assert report.splits[split].stats == fx.stats[split]
            assert report.splits[split].skipped == fx.skipped[split]


def _edit_line(path, number, edit):
    lines = path.read_text().splitlines()
    lines[number - 1] = edit(lines[number - 1])
    path.write_text("\n".join(lines) + "\n")


def test_malformed_csv(tmp_path):
    fx = write_affectnet_csv(tmp_path)
    path = fx.root / "Manually_Annotated_file_lists" / "validation.csv"
    good = path.read_text()
    _edit_line(path, 2, lambda line: line[: line.index(";")])  # truncated inside the landmarks
    with pytest.raises(FbnError, match=r"validation\.csv:2: expected 9 fields, found 6; the line looks truncated"):
        loaded("affectnet", fx.root, "test")
    path.write_text(good)
    _edit_line(path, 2, lambda line: line.rsplit(",", 3)[0] + ",11,0.1,0.1")
    with pytest.raises(FbnError, match=r"validation\.csv:2: expression code 11 is outside 0\.\.10"):
        loaded("affectnet", fx.root, "test")
    path.write_text(good)
    _edit_line(path, 2, lambda line: line.rsplit(",", 3)[0] + ",1,-1.5,0.1")
    with pytest.raises(
        FbnError, match=r"validation\.csv:2: valence -1\.5 is outside \[-1, 1\] and is not the -2 marker"
    ):
        loaded("affectnet", fx.root, "test")
    path.write_text(good.replace("subDirectory_filePath", "path", 1))
    with pytest.raises(FbnError, match=r"validation\.csv:1: header lacks subDirectory_filePath"):
        loaded("affectnet", fx.root, "test")
    shutil.rmtree(fx.root / "Manually_Annotated_Images")
    with pytest.raises(FbnError, match=r"image folder .*Manually_Annotated_Images not found"):
        loaded("affectnet", fx.root, "train")
    shutil.rmtree(fx.root / "Manually_Annotated_file_lists")
    with pytest.raises(
        FbnError,
        match=r"no train annotations under .*Manually_Annotated_file_lists/training\.csv .*train_set/annotations/",
    ):
        loaded("affectnet", fx.root, "train")


def test_malformed_npy(tmp_path):
    fx = write_affectnet_npy(tmp_path)
    annotations = fx.root / "val_set" / "annotations"
    np.save(annotations / "1_exp.npy", np.array(12))
    with pytest.raises(FbnError, match=r"1_exp\.npy: expression code 12 is outside 0\.\.10"):
        loaded("affectnet", fx.root, "test")
    (annotations / "1_exp.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(FbnError, match=r"1_exp\.npy: unreadable"):
        loaded("affectnet", fx.root, "test")
    (annotations / "1_exp.npy").unlink()
    (annotations / "0_aro.npy").unlink()
    with pytest.raises(FbnError, match=r"0_aro\.npy is missing"):
        loaded("affectnet", fx.root, "test")
    with pytest.raises(FbnError, match=r"no train annotations"):
        loaded("affectnet", fx.root, "train", release="csv")


def test_release_choice_when_both_are_present(tmp_path):
    csv_fx = write_affectnet_csv(tmp_path)
    npy_fx = write_affectnet_npy(tmp_path / "npy")
    shutil.copytree(npy_fx.root / "train_set", csv_fx.root / "train_set")
    _, stats = loaded("affectnet", csv_fx.root, "train")
    assert stats == csv_fx.stats["train"]
    _, stats = loaded("affectnet", csv_fx.root, "train", release="npy")
    assert stats["n_samples"] == npy_fx.stats["train"]["n_samples"]
