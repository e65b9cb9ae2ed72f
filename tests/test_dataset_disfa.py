"""disfa on a tiny tree in DISFA's real format: per-AU intensity files, folds, threshold, naming."""

from __future__ import annotations

import pytest
from real_fixtures_common import assert_matches, corrupt, split_stats
from real_fixtures_disfa import write_disfa

from fbn_bench import FbnError
from fbn_bench.data.cache import prepare_split
from fbn_bench.data.roots import load_split
from fbn_bench.registry import get_registry
from fbn_bench.testing import check_dataset_plugin

# These tests check parsing: the fixtures' expected counts are the whole training side (conftest.uncarved).
pytestmark = pytest.mark.usefixtures("uncarved")
TRAIN_TEST = ("train", "test")  # val: tests/test_data_splits.py


@pytest.mark.parametrize("fold", [1, 2, 3])
@pytest.mark.parametrize("threshold", [1, 2, 3])
def test_counts_match_construction(tmp_path, fold, threshold):
    expected = write_disfa(tmp_path)
    for split in ("train", "test"):
        actual = split_stats("disfa", tmp_path, split, fold=fold, threshold=threshold)
        assert_matches(actual, expected[f"fold{fold}"][f"threshold{threshold}"][split])


def test_defaults_are_fold1_threshold2(tmp_path):
    expected = write_disfa(tmp_path)
    for split in ("train", "test"):
        assert_matches(split_stats("disfa", tmp_path, split), expected["fold1"]["threshold2"][split])


def test_conformance_and_skip_counts(tmp_path):
    write_disfa(tmp_path)
    report = check_dataset_plugin("disfa", tmp_path, splits=TRAIN_TEST)
    # Only dropped frames are skipped rows; the subject-level facts are notes (next test).
    assert report.splits["train"].skipped == {"frames missing from some of their subject's 12 AU files": 1}
    assert report.splits["test"].skipped == {}
    for fold in (2, 3):
        check_dataset_plugin("disfa", tmp_path, options={"fold": fold}, splits=TRAIN_TEST)


def test_subjects_outside_the_folds_or_absent_are_notes_not_skipped_images(tmp_path, capsys):
    write_disfa(tmp_path)
    spec = get_registry().dataset("disfa")
    labels = tmp_path / "ActionUnit_Labels"
    outside = f"1 subject folder in {labels} outside the standard folds, in no split (SN014)"
    # fold 1 tests on part 3, of which the tiny tree has only SN003: the other 8 have no label folder.
    absent = (
        f"8 fold 1 test subjects with no label folder in {labels}, so the split is smaller than the standard "
        "one (SN004, SN005, SN007, SN008, SN017, ... (3 more))"
    )
    test = prepare_split(
        spec, "test", {"root": str(tmp_path)}, image_size=8, cache_dir=tmp_path / "cache", progress=False
    )
    assert test.notes == [outside, absent]
    assert test.skipped == {} and test.n_skipped == 0  # no frame of SN003 was dropped
    assert capsys.readouterr().err.splitlines() == [f"warning: disfa/test: {outside}", f"warning: disfa/test: {absent}"]
    train = prepare_split(
        spec, "train", {"root": str(tmp_path)}, image_size=8, cache_dir=tmp_path / "cache", progress=False
    )
    assert train.n_skipped == 1 and train.notes[0] == outside and train.notes[1].startswith("16 fold 1 train subjects")


def test_rows_join_by_frame_and_keep_intensity(tmp_path):
    write_disfa(tmp_path)
    df, _ = load_split(get_registry().dataset("disfa"), "test", {"root": str(tmp_path)})
    assert list(df["image"])[:2] == ["frames/SN003/00001.png", "frames/SN003/00002.png"]
    assert set(df["subject"]) == {"SN003"} and list(df["frame"]) == [1, 2, 3, 4, 5, 6]
    assert ((df["AU12_int"] >= 2).astype(float) == df["AU12"]).all()
    assert df["AU12_int"].between(0, 5).all() and df["AU12_int"].nunique() > 1  # the au_int label, 0-5
    assert "AU10_int" in df and df["AU10_int"].isna().all()  # not coded by DISFA: unlabelled


def test_naming_option(tmp_path):
    write_disfa(tmp_path, images=False)
    spec = get_registry().dataset("disfa")
    df, _ = load_split(spec, "test", {"root": str(tmp_path), "naming": "img/{subject}/{frame0}.png"})
    assert df["image"].iloc[0] == "img/SN003/0.png"
    with pytest.raises(FbnError, match=r"naming='img/\{person\}.png' is not a valid pattern"):
        load_split(spec, "test", {"root": str(tmp_path), "naming": "img/{person}.png"})
    with pytest.raises(FbnError, match="fold=4 is invalid"):
        load_split(spec, "test", {"root": str(tmp_path), "fold": 4})


def _au_file(root, subject="SN001", au=4):
    return root / "ActionUnit_Labels" / subject / f"{subject}_au{au}.txt"


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("3,", r"SN001_au4.txt:3: expected 'frame,intensity'"),
        ("3", r"SN001_au4.txt:3: expected 'frame,intensity'"),
        ("3,6", r"SN001_au4.txt:3: intensity 6 is outside 0-5"),
        ("3,x", r"SN001_au4.txt:3: frame and intensity must be integers"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad_line, message):
    write_disfa(tmp_path, images=False)
    lines = _au_file(tmp_path).read_text().splitlines()
    lines[2] = bad_line
    _au_file(tmp_path).write_text("\n".join(lines) + "\n")
    with pytest.raises(FbnError, match=message):
        load_split(get_registry().dataset("disfa"), "train", {"root": str(tmp_path)})


def test_missing_annotation_folder_and_file(tmp_path):
    write_disfa(tmp_path, images=False)
    _au_file(tmp_path).unlink()
    with pytest.raises(FbnError, match=r"DISFA label file missing: expected .*SN001/SN001_au4.txt"):
        check_dataset_plugin("disfa", tmp_path, check_images=False, splits=TRAIN_TEST)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FbnError, match=r"DISFA label folder not found: expected .*empty/ActionUnit_Labels"):
        check_dataset_plugin("disfa", empty, splits=TRAIN_TEST)


def test_unreadable_image_is_counted(tmp_path):
    write_disfa(tmp_path)
    corrupt(tmp_path / "frames" / "SN003" / "00002.png")
    report = check_dataset_plugin("disfa", tmp_path, strict=False, splits=TRAIN_TEST)
    assert report.splits["test"].unreadable_images == 1 and report.splits["train"].unreadable_images == 0
    assert any("frames/SN003/00002.png" in p for p in report.problems)
