"""affwild2 on tiny trees in the ABAW releases' own formats (every edition's naming)."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from real_fixtures_aff_common import as_rows, loaded, only_missing_image_problems, skipped_rows
from real_fixtures_affwild2 import EDITIONS, SPEC_AUS, annotation_file, write_affwild2

from fbn_bench import FbnError
from fbn_bench.cli import cli
from fbn_bench.data.roots import load_split
from fbn_bench.registry import get_registry
from fbn_bench.testing import check_dataset_plugin

# These tests check parsing: the fixtures' expected counts are the whole training side (conftest.uncarved).
pytestmark = pytest.mark.usefixtures("uncarved")
TRAIN_TEST = ("train", "test")  # val: tests/test_data_splits.py


@pytest.mark.parametrize("edition", sorted(EDITIONS))
def test_counts_and_rows_match_construction(tmp_path, edition):
    fx = write_affwild2(tmp_path, edition)
    for split in ("train", "test"):
        df, stats = loaded("affwild2", fx.root, split)
        assert stats == fx.stats[split]
        assert skipped_rows("affwild2", fx.root, split) == fx.skipped[split]
        assert as_rows(df, fx.root, SPEC_AUS) == fx.rows[split]


def test_the_abaw_protocol_makes_other_the_eighth_class(tmp_path):
    """`affwild2:classes=8`: "Other" frames are labelled `other`, so none is skipped as Other-only, and the
    stats count the class; the default protocol stays the 7 (those frames unlabelled for expression)."""
    fx7, fx8 = write_affwild2(tmp_path / "7", "abaw3"), write_affwild2(tmp_path / "8", "abaw3", classes="8")
    for split in TRAIN_TEST:
        df, stats = loaded("affwild2", fx8.root, split, classes="8")
        assert stats == fx8.stats[split] and stats["expr"]["counts"]["other"] > 0
        assert as_rows(df, fx8.root, SPEC_AUS) == fx8.rows[split]
        assert "expression 'Other' and no other label" not in skipped_rows("affwild2", fx8.root, split, classes="8")
        assert len(df) == len(fx7.rows[split]) + fx7.skipped[split].get("expression 'Other' and no other label", 0)
    assert "other" not in loaded("affwild2", fx7.root, "train")[1]["expr"]["counts"]
    assert get_registry().dataset("affwild2").expression_classes({"classes": "8"})[-1] == "other"


def test_people_videos_frames_and_images(tmp_path):
    fx = write_affwild2(tmp_path, "abaw3")
    df, _ = loaded("affwild2", fx.root, "train")
    right = df[df["subject"] == "video59_right"]
    assert set(right["video"]) == {"video59"} and set(df[df["subject"] == "video59"]["video"]) == {"video59"}
    assert set(df[df["subject"] == "video74_left"]["video"]) == {"video74"}
    first = right.iloc[0]
    assert first["image"] == f"cropped_aligned/video59_right/{first['frame']:05d}.jpg"
    # Frame 4 of every video has no face crop on disk but stays in the table (counted as missing).
    assert (df["frame"] == 4).any() and not any((fx.root / p).is_file() for p in df[df["frame"] == 4]["image"])
    # The AU file of video74_right is one line longer than its EXPR file: frame 6 has AUs only.
    last = df[(df["subject"] == "video74_right") & (df["frame"] == 6)]
    if len(last):
        assert last["expression"].isna().all()
    assert get_registry().dataset("affwild2").group_column == "subject"


def test_conformance_and_check_command(tmp_path):
    fx = write_affwild2(tmp_path, "abaw6")
    report = check_dataset_plugin("affwild2", fx.root, strict=False, splits=TRAIN_TEST)
    assert only_missing_image_problems(report) == []
    for split in ("train", "test"):
        assert report.splits[split].stats == fx.stats[split]
        assert report.splits[split].skipped == fx.skipped[split]
    result = CliRunner().invoke(cli, ["datasets", "check", "affwild2", "--root", str(fx.root), "--json"])
    assert result.exit_code == 1, result.output  # the missing crops are reported as problems
    shown = json.loads(result.output)
    assert shown["splits"]["train"]["stats"] == fx.stats["train"]


def test_data_root_finds_the_database_folder(tmp_path):
    fx = write_affwild2(tmp_path, "abaw3")
    spec = get_registry().dataset("affwild2")
    df, root = load_split(spec, "test", {}, data_root=tmp_path)
    assert root == fx.root and len(df) == fx.stats["test"]["n_samples"]


def test_unreadable_image_is_kept_for_the_core_to_count(tmp_path):
    fx = write_affwild2(tmp_path, "abaw3")
    df, _ = loaded("affwild2", fx.root, "test")
    (fx.root / df["image"].iloc[0]).write_bytes(b"not a jpeg")
    again, stats = loaded("affwild2", fx.root, "test")
    assert len(again) == len(df) and stats == fx.stats["test"]
    report = check_dataset_plugin("affwild2", fx.root, splits=["test"], strict=False)
    assert report.splits["test"].unreadable_images == 1


def _rewrite_line(path, number, text):
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "task, stem, line, text, message",
    [
        ("au", "2-30-640x360", 3, "0,1,0", r"2-30-640x360\.txt:3: expected 12 value\(s\).*found 3.*re-extract"),
        ("va", "2-30-640x360", 2, "0.5,", r"2-30-640x360\.txt:2: arousal '' is not a number"),
        ("va", "video2_left", 3, "1.5,0.2", r"video2_left\.txt:3: valence 1\.5 is outside \[-1, 1\]"),
        ("expr", "2-30-640x360", 4, "9", r"2-30-640x360\.txt:4: expression code '9' is outside 0\.\.7"),
        ("au", "2-30-640x360", 2, "0,0,2,0,0,0,0,0,0,0,1,0", r"2-30-640x360\.txt:2: AU4 = '2' is not 0, 1"),
        (
            "va",
            "video2_left",
            1,
            "valence;arousal",
            r"video2_left\.txt:1: header 'valence;arousal' is not 'valence,arousal'",
        ),
        ("expr", "2-30-640x360", 1, "Neutral,Angry,Disgust,Fear,Joy,Sadness,Surprise,Other", r"header .* names 'Joy'"),
        (
            "au",
            "2-30-640x360",
            1,
            "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,Smile",
            r"has 'Smile', not an AU name",
        ),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, task, stem, line, text, message):
    fx = write_affwild2(tmp_path, "abaw3")
    _rewrite_line(annotation_file(fx, "abaw3", task, "test", stem), line, text)
    with pytest.raises(FbnError, match=message):
        loaded("affwild2", fx.root, "test")
    loaded("affwild2", fx.root, "train")  # the other split is untouched


def test_missing_folders_name_the_expected_path(tmp_path):
    fx = write_affwild2(tmp_path, "abaw3")
    base = fx.root / EDITIONS["abaw3"][0]
    shutil.rmtree(base / "VA_Estimation_Challenge" / "Validation_Set")
    with pytest.raises(FbnError, match=r"VA_Estimation_Challenge/Validation_Set not found"):
        loaded("affwild2", fx.root, "test")
    shutil.rmtree(fx.root / "3rd ABAW Annotations")
    with pytest.raises(FbnError, match=r"no ABAW annotation folder .*VA_Estimation_Challenge.* found in .*affwild2"):
        loaded("affwild2", fx.root, "train")
    shutil.rmtree(fx.root / "cropped_aligned")
    with pytest.raises(FbnError, match=r"face-crop folder .*cropped_aligned not found"):
        loaded("affwild2", fx.root, "train")
    with pytest.raises(FbnError, match=r"root folder .*nowhere does not exist"):
        loaded("affwild2", tmp_path / "nowhere", "train")


def test_a_missing_task_folder_leaves_that_task_unlabelled(tmp_path):
    fx = write_affwild2(tmp_path, "abaw3")
    shutil.rmtree(fx.root / EDITIONS["abaw3"][0] / "AU_Detection_Challenge")
    df, stats = loaded("affwild2", fx.root, "train")
    assert all(v["n"] == 0 for v in stats["au"].values())
    assert stats["va"] == fx.stats["train"]["va"]
    assert "118" not in set(df["subject"])  # that video was only in the AU set


def test_two_editions_side_by_side_need_the_annotations_option(tmp_path):
    fx = write_affwild2(tmp_path, "abaw3")
    write_affwild2(tmp_path / "other", "abaw2020")
    shutil.copytree(tmp_path / "other" / "affwild2" / "ABAW Annotations", fx.root / "ABAW Annotations")
    with pytest.raises(FbnError, match=r"several (VA|EXPR|AU) annotation folders.*affwild2:annotations=FOLDER"):
        loaded("affwild2", fx.root, "train")
    _, stats = loaded("affwild2", fx.root, "test", annotations="3rd ABAW Annotations")
    assert stats == fx.stats["test"]
