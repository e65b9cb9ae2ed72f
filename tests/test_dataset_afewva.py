"""afewva on a tiny tree in the owners' format (per-clip JSON)."""

from __future__ import annotations

import json

import pytest
from real_fixtures_afewva import write_afewva
from real_fixtures_aff_common import as_rows, loaded, only_missing_image_problems

from fbn_bench import FbnError
from fbn_bench.testing import check_dataset_plugin

# These tests check parsing: the fixtures' expected counts are the whole training side (conftest.uncarved).
pytestmark = pytest.mark.usefixtures("uncarved")
TRAIN_TEST = ("train", "test")  # val: tests/test_data_splits.py


@pytest.mark.parametrize("fold, folds", [(1, 5), (2, 5), (3, 3)])
def test_counts_match_construction_for_each_fold(tmp_path, fold, folds):
    fx = write_afewva(tmp_path, fold=fold, folds=folds)
    for split in ("train", "test"):
        df, stats = loaded("afewva", fx.root, split, fold=fold, folds=folds)
        assert stats == fx.stats[split]
        assert sorted(as_rows(df, fx.root), key=repr) == sorted(fx.rows[split], key=repr)


def test_rows_images_and_landmark_boxes(tmp_path):
    fx = write_afewva(tmp_path)
    df, _ = loaded("afewva", fx.root, "train", margin=0)
    r = df[(df["video"] == "052") & (df["frame"] == 2)].iloc[0]
    assert r["image"] == "02/052/00002.png" and r["subject"] == "Dee Wallace"
    assert (r["bbox_x"], r["bbox_y"], r["bbox_w"], r["bbox_h"]) == pytest.approx(fx.options["boxes"][("052", 2)])
    wide, _ = loaded("afewva", fx.root, "train")  # default margin 0.2 on every side
    w = wide[(wide["video"] == "052") & (wide["frame"] == 2)].iloc[0]
    assert w["bbox_w"] == pytest.approx(1.4 * r["bbox_w"]) and w["bbox_x"] == pytest.approx(
        r["bbox_x"] - 0.2 * r["bbox_w"]
    )
    # the eye centres for --face-crop align: means of the 68 points 37-42 and 43-48 (1-based), image-left first
    points = json.loads((fx.root / "02/052/052.json").read_text())["frames"]["00002"]["landmarks"]
    eyes = sorted([tuple(sum(p[i] for p in points[a:b]) / 6 for i in (0, 1)) for a, b in ((36, 42), (42, 48))])
    assert (r["eye_l_x"], r["eye_l_y"], r["eye_r_x"], r["eye_r_y"]) == pytest.approx((*eyes[0], *eyes[1]))
    bare, _ = loaded("afewva", fx.root, "test", crop="none")
    assert "bbox_x" not in bare.columns and "eye_l_x" not in bare.columns
    assert not any("_cropped" in p for p in df["image"])  # the duplicate folder is not read


def test_conformance(tmp_path):
    fx = write_afewva(tmp_path)
    report = check_dataset_plugin("afewva", fx.root, strict=False, splits=TRAIN_TEST)
    assert only_missing_image_problems(report) == []  # includes: no actor in both splits
    assert report.splits["train"].stats == fx.stats["train"]


def test_malformed_inputs(tmp_path):
    fx = write_afewva(tmp_path)
    path = fx.root / "02" / "051" / "051.json"
    data = json.loads(path.read_text())
    path.write_text(path.read_text()[:200])
    with pytest.raises(FbnError, match=r"051\.json:1: not valid JSON .*truncated"):
        loaded("afewva", fx.root, "train")
    data["frames"]["00001"]["arousal"] = 12
    path.write_text(json.dumps(data))
    with pytest.raises(FbnError, match=r"051\.json frame '00001': arousal 12 is outside -10\.\.10"):
        loaded("afewva", fx.root, "train")
    data["frames"]["00001"]["arousal"] = "high"
    path.write_text(json.dumps(data))
    with pytest.raises(FbnError, match=r"arousal 'high' is not a number"):
        loaded("afewva", fx.root, "test")
    with pytest.raises(FbnError, match=r"fold=6 folds=5 is invalid"):
        loaded("afewva", fx.root, "test", fold=6)
    empty = tmp_path / "empty"
    (empty / "01").mkdir(parents=True)
    with pytest.raises(FbnError, match=r"no clip annotation found under .*expected .*001/001\.json"):
        loaded("afewva", empty, "test")
