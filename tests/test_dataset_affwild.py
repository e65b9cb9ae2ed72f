"""affwild (v1) on a tiny tree in the owners' format."""

from __future__ import annotations

import math
import shutil

import pytest
from real_fixtures_aff_common import as_rows, loaded, only_missing_image_problems, skipped_rows
from real_fixtures_affwild import TOP, write_affwild

from fbn_bench import FbnError
from fbn_bench.testing import check_dataset_plugin

# These tests check parsing: the fixtures' expected counts are the whole training side (conftest.uncarved).
pytestmark = pytest.mark.usefixtures("uncarved")
TRAIN_TEST = ("train", "test")  # val: tests/test_data_splits.py


def test_counts_rows_and_boxes_match_construction(tmp_path):
    fx = write_affwild(tmp_path)
    for split in ("train", "test"):
        df, stats = loaded("affwild", fx.root, split)
        assert stats == fx.stats[split]
        assert as_rows(df, fx.root) == fx.rows[split]
        assert skipped_rows("affwild", fx.root, split) == {}
        for _, r in df.iterrows():
            assert r["image"] == f"frames/{r['video']}/{r['frame']:05d}.jpg" and r["subject"] == r["video"]
            box = fx.options["boxes"].get((split, r["video"], r["frame"]))
            got = (r["bbox_x"], r["bbox_y"], r["bbox_w"], r["bbox_h"])
            assert got == box if box else all(math.isnan(v) for v in got)
    df, _ = loaded("affwild", fx.root, "train", bboxes=False)
    assert "bbox_x" not in df.columns


def test_conformance(tmp_path):
    fx = write_affwild(tmp_path)
    report = check_dataset_plugin("affwild", fx.root, strict=False, splits=TRAIN_TEST)
    assert only_missing_image_problems(report) == []
    assert report.splits["test"].stats == fx.stats["test"]


def test_malformed_inputs(tmp_path):
    fx = write_affwild(tmp_path)
    ann = fx.root / TOP / "annotations"
    valence = ann / "test" / "valence" / "301.txt"
    good = valence.read_text()
    valence.write_text(good.replace(good.splitlines()[2], "0.1 0.2", 1))
    with pytest.raises(FbnError, match=r"301\.txt:3: valence '0\.1 0\.2' is not a number"):
        loaded("affwild", fx.root, "test")
    valence.write_text(good.replace(good.splitlines()[1], "1.7", 1))
    with pytest.raises(FbnError, match=r"301\.txt:2: valence 1\.7 is outside \[-1, 1\]"):
        loaded("affwild", fx.root, "test")
    valence.write_text(
        "\n".join([line for line in good.splitlines() if line][:4]) + "\n"
    )  # truncated: fewer lines than arousal
    with pytest.raises(FbnError, match=r"301\.txt has 4 lines but .*301\.txt has 6"):
        loaded("affwild", fx.root, "test")
    valence.write_text(good)
    pts = next((fx.root / TOP / "bboxes" / "test" / "301").glob("1.pts"))
    pts.write_text("version: 1\nn_points: 4\n{\n10 20\n30\n}\n")
    with pytest.raises(FbnError, match=r"1\.pts:5: '30' is not an 'x y' point"):
        loaded("affwild", fx.root, "test")
    (ann / "train" / "arousal" / "202.txt").unlink()
    with pytest.raises(FbnError, match=r"arousal/202\.txt is missing"):
        loaded("affwild", fx.root, "train")
    shutil.rmtree(ann / "test")
    with pytest.raises(FbnError, match=r"annotations/test/valence not found \(test labels"):
        loaded("affwild", fx.root, "test")
    shutil.rmtree(fx.root / "frames")
    with pytest.raises(FbnError, match=r"frame folder .*frames not found; extract each video's frames with `ffmpeg"):
        loaded("affwild", fx.root, "train", source="frames")
    shutil.rmtree(ann)
    with pytest.raises(FbnError, match=r"annotation folder .*affwild/annotations not found"):
        loaded("affwild", fx.root, "train")
