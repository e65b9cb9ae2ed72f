"""bp4d and bp4dplus on tiny trees in the real AU_OCC format."""

from __future__ import annotations

import numpy as np
import pytest
from real_fixtures_bp4d import write_bp4d, write_bp4dplus
from real_fixtures_common import assert_matches, split_stats

from fbn_bench import FbnError
from fbn_bench.data.cache import prepare_split
from fbn_bench.data.roots import load_split, read_split
from fbn_bench.metrics.labelled import intensity_aus
from fbn_bench.registry import get_registry
from fbn_bench.testing import check_dataset_plugin

# These tests check parsing: the fixtures' expected counts are the whole training side (conftest.uncarved).
pytestmark = pytest.mark.usefixtures("uncarved")
TRAIN_TEST = ("train", "test")  # val: tests/test_data_splits.py


@pytest.mark.parametrize("name, writer", [("bp4d", write_bp4d), ("bp4dplus", write_bp4dplus)])
@pytest.mark.parametrize("fold", [1, 2, 3])
def test_counts_match_construction(tmp_path, name, writer, fold):
    expected = writer(tmp_path)
    for split in ("train", "test"):
        assert_matches(split_stats(name, tmp_path, split, fold=fold), expected[f"fold{fold}"][split])


@pytest.mark.parametrize("name, writer", [("bp4d", write_bp4d), ("bp4dplus", write_bp4dplus)])
def test_conformance(tmp_path, name, writer):
    writer(tmp_path)
    for fold in (1, 2, 3):
        check_dataset_plugin(name, tmp_path, options={"fold": fold}, splits=TRAIN_TEST)


def test_rows_padding_and_skip_count(tmp_path):
    write_bp4d(tmp_path)
    spec = get_registry().dataset("bp4d")
    df, _ = load_split(spec, "train", {"root": str(tmp_path)})
    assert "Sequences(2D+3D)/F001/T2/0098.jpg" in set(df["image"])
    first = df[df["video"] == "F001_T1"]
    assert list(first["frame"]) == [2440, 2441, 2443, 2444]  # 2442 was all 9
    assert set(df["subject"]) == {"F001", "M011"}
    report = check_dataset_plugin("bp4d", tmp_path, splits=TRAIN_TEST)
    assert report.splits["train"].skipped == {"frames with all 12 AUs not codable (9)": 1}


def test_header_is_read_by_name_not_position(tmp_path):
    expected = write_bp4d(tmp_path)
    # Reverse the AU columns of every file: same labels, different positions.
    for path in (tmp_path / "AUCoding" / "AU_OCC").glob("*.csv"):
        rows = [line.split(",") for line in path.read_text().splitlines()]
        path.write_text("\n".join(",".join([r[0], *reversed(r[1:])]) for r in rows) + "\n")
    assert_matches(split_stats("bp4d", tmp_path, "test"), expected["fold1"]["test"])


def _csv(root, name="F001_T1.csv"):
    return root / "AUCoding" / "AU_OCC" / name


def _replace_line(path, index, text):
    lines = path.read_text().splitlines()
    lines[index] = text
    path.write_text("\n".join(lines) + "\n")


def test_malformed_inputs(tmp_path):
    write_bp4d(tmp_path, images=False)
    spec = get_registry().dataset("bp4d")
    good = _csv(tmp_path).read_text()
    line = good.splitlines()[2].split(",")

    _replace_line(_csv(tmp_path), 2, ",".join(line[:5]))  # truncated
    with pytest.raises(FbnError, match=r"F001_T1.csv:3: 5 fields where the header has 29"):
        load_split(spec, "train", {"root": str(tmp_path)})

    _replace_line(_csv(tmp_path), 2, ",".join([line[0], "5", *line[2:]]))  # AU1 = 5
    with pytest.raises(FbnError, match=r"F001_T1.csv:3: AU1 code 5 is not 0, 1 or 9"):
        load_split(spec, "train", {"root": str(tmp_path)})

    _csv(tmp_path).write_text(good.replace("0,1,2,3,4,5,6,7,8,9,10,11,12,", "0,1,2,3,4,5,6,7,8,9,10,11,13,", 1))
    with pytest.raises(FbnError, match=r"F001_T1.csv:1: the header lacks AU column\(s\) 12"):
        load_split(spec, "train", {"root": str(tmp_path)})


def test_missing_annotation_folder(tmp_path):
    write_bp4d(tmp_path, images=False)
    (tmp_path / "AUCoding").rename(tmp_path / "Coding")
    with pytest.raises(FbnError, match=r"AU occurrence folder not found: expected .*AUCoding/AU_OCC or .*AU_OCC"):
        check_dataset_plugin("bp4d", tmp_path, splits=TRAIN_TEST)


def test_stray_files_and_unknown_subjects_are_notes_not_skipped_frames(tmp_path, capsys):
    write_bp4d(tmp_path)
    occ = tmp_path / "AUCoding" / "AU_OCC"
    (_csv(tmp_path, "notes.txt")).write_text("hello")
    _csv(tmp_path, "M099_T1.csv").write_text(_csv(tmp_path).read_text())
    stray = f"1 file in {occ} not named <subject>_<task>.csv, not read (notes.txt)"
    outside = "1 subject outside the standard folds, in no split (M099)"
    spec = get_registry().dataset("bp4d")
    assert read_split(spec, "test", {"root": str(tmp_path)})[0].notes == [stray, outside]
    train = prepare_split(
        spec, "train", {"root": str(tmp_path)}, image_size=8, cache_dir=tmp_path / "cache", progress=False
    )
    # n_skipped counts the one all-9 frame, not the stray file or the extra subject.
    assert train.skipped == {"frames with all 12 AUs not codable (9)": 1} and train.n_skipped == 1
    err = capsys.readouterr().err.splitlines()
    assert err[1:] == [f"warning: bp4d/train: {stray}", f"warning: bp4d/train: {outside}"]
    assert check_dataset_plugin("bp4d", tmp_path, splits=TRAIN_TEST).splits["test"].skipped == {}


def _plus_with_intensity(root):
    written: dict = {}
    write_bp4dplus(root, intensity=written)
    return written


def test_bp4dplus_intensities_are_joined_to_the_occurrence_rows_by_frame(tmp_path):
    written = _plus_with_intensity(tmp_path)
    spec = get_registry().dataset("bp4dplus")
    assert "au_int" in spec.tasks
    for split in TRAIN_TEST:
        loaded, _ = read_split(spec, split, {"root": str(tmp_path)})
        df = loaded.frame
        for row in df.itertuples():
            subject, task = row.video.split("_")
            for au in (6, 10, 12, 14, 17):
                value = written[subject, task, row.frame, au]
                got = getattr(row, f"AU{au}_int")
                assert np.isnan(got) if value is None else got == value, (row.video, row.frame, au)
        assert df["AU1_int"].isna().all() and df["AU24_int"].isna().all()  # intensity is coded for 5 AUs only
        n_sequences = len(set(df["video"]))
        lines = 5 * n_sequences  # one line per AU file names the frame before the coded segment
        assert f"{lines} AU_INT lines of frames without an AU_OCC row (or with all 12 AUs 9), not read" in loaded.notes


def test_intensity_is_scored_only_for_the_coded_aus(tmp_path):
    _plus_with_intensity(tmp_path)
    df, _ = load_split(get_registry().dataset("bp4dplus"), "train", {"root": str(tmp_path)})
    rng = np.random.default_rng(0)
    for au in (1, 6, 10, 12, 14, 17):
        df[f"pred_int_AU{au}"] = rng.uniform(0, 5, len(df))
    assert intensity_aus(df, (1, 2, 6, 10, 12, 14, 17, 24)) == (6, 10, 12, 14, 17)  # AU1: a prediction, no target


def test_without_au_int_the_tables_carry_no_intensity_and_the_check_says_so(tmp_path):
    write_bp4dplus(tmp_path)
    df, _ = load_split(get_registry().dataset("bp4dplus"), "train", {"root": str(tmp_path)})
    assert df["AU6_int"].isna().all()
    report = check_dataset_plugin("bp4dplus", tmp_path, splits=TRAIN_TEST)  # not a failed check: a note
    assert any("no loaded split labels AU intensity" in note for note in report.notes)


def test_bad_intensity_files_are_one_line_naming_file_and_line(tmp_path):
    _plus_with_intensity(tmp_path)
    spec = get_registry().dataset("bp4dplus")
    path = tmp_path / "AUCoding" / "AU_INT" / "AU12" / "F001_T1_AU12.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "1236,7", *lines[2:]]) + "\n")
    with pytest.raises(FbnError, match=r"F001_T1_AU12.csv:2: intensity 7 is outside 0-5 and is not 9"):
        load_split(spec, "train", {"root": str(tmp_path)})  # F001 is in part 1: fold 1 trains on it
    path.unlink()
    with pytest.raises(FbnError, match=r"no AU12 intensity file for F001_T1: expected AU12/F001_T1_AU12.csv"):
        load_split(spec, "train", {"root": str(tmp_path)})  # F001 is in part 1: fold 1 trains on it
