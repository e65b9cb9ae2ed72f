"""fbn_bench.testing.check_dataset_plugin: each check fires on a plugin that breaks it, and only then."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from real_fixtures_common import write_image

from fbn_bench import DatasetSpec, FbnError
from fbn_bench.data.table import LoadedTable
from fbn_bench.testing import check_dataset_plugin

META = {"description": "tiny", "citation": "Someone 2024", "homepage": "https://example.org", "license": "CC-BY"}


def _table(split, n=4, **columns):
    base = {
        "image": [f"{split}/{i}.png" for i in range(n)],
        "subject": [f"{split}-s{i % 2}" for i in range(n)],
        "expression": ["happiness", "neutral", "anger", "sadness"][:n],
    }
    base.update(columns)
    return pd.DataFrame(base)


def _spec(load, **kwargs):
    return DatasetSpec(**{"name": "fake", "tasks": {"expr"}, "load": load, **META, **kwargs})


@pytest.fixture()
def images(tmp_path):
    for split in ("train", "test"):
        for i in range(4):
            write_image(tmp_path / split / f"{i}.png", i)
    return tmp_path


def test_good_plugin_passes_with_counts(images):
    report = check_dataset_plugin(_spec(lambda root, split: _table(split)), images)
    assert report.ok and report.splits["train"].stats["n_samples"] == 4
    assert report.splits["test"].stats["n_subjects"] == 2 and report.splits["train"].unreadable_images == 0
    assert "OK: no problems found." in report.to_text()


def test_every_problem_is_listed_together(tmp_path):
    def load(root, split):
        return _table(split, valence=[0.1] * 4, AU43=[1.0] * 4, subject=["same"] * 4)

    spec = DatasetSpec(name="fake", tasks={"expr"}, load=load, description="x", options={"size": "undocumented"})
    with pytest.raises(AssertionError) as info:
        check_dataset_plugin(spec, tmp_path)
    text = str(info.value)
    for needle in (
        "spec.citation is empty",
        "spec.license is empty",
        "option 'size' is declared but load()",
        "column valence holds labels but 'va' is not in spec.tasks",
        "AU43 is not one of fbn-bench's 17",
        "subject(s) appear in both train and test",
        "4 of 4 images are missing",
    ):
        assert needle in text, needle


def test_au_outside_spec_and_undeclared_task_labels(images):
    def load(root, split):
        return _table(split, AU1=[1.0, 0, 1, 0], AU2=[0.0, 1, np.nan, 0])

    report = check_dataset_plugin(_spec(load, tasks={"expr", "au"}, aus=(1,)), images, strict=False)
    assert report.problems == [
        "train: column AU2 holds labels but AU2 is not in spec.aus (1,)",
        "test: column AU2 holds labels but AU2 is not in spec.aus (1,)",
    ]


def test_declared_task_never_labelled(images):
    report = check_dataset_plugin(_spec(lambda root, split: _table(split), tasks={"expr", "va"}), images, strict=False)
    assert report.problems == ["spec.tasks has 'va' but no loaded split labels it"]


def test_contract_break_empty_table_and_missing_subject(images):
    def load(root, split):
        if split == "train":
            return _table(split, expression=["happy"] * 4)  # not a canonical name
        return _table(split).iloc[:0]

    report = check_dataset_plugin(_spec(load), images, strict=False)
    assert any(p.startswith("train: the table breaks the contract") and "'happy'" in p for p in report.problems)
    assert any(p.startswith("test: no rows") for p in report.problems)

    no_subject = check_dataset_plugin(
        _spec(lambda root, split: _table(split).drop(columns="subject")), images, strict=False
    )
    assert any("group_column is 'subject'" in p for p in no_subject.problems)
    ok = check_dataset_plugin(
        _spec(lambda root, split: _table(split).drop(columns="subject"), group_column=None), images
    )
    assert ok.ok


def test_loader_bug_is_a_problem_and_fbn_error_propagates(images):
    def buggy(root, split):
        return {"a": 1}["b"]

    report = check_dataset_plugin(_spec(buggy), images, strict=False)
    assert len(report.problems) == 2
    for problem in report.problems:  # advice for the user who ran the check, not for a plugin's author
        assert "reading the files failed (KeyError: 'b')" in problem and f"check that {images} holds" in problem
        assert "bug in the plugin test_testing_checker" in problem and "loaders must" not in problem

    def layout(root, split):
        raise FbnError(f"labels not found: expected {root}/labels.txt")

    with pytest.raises(FbnError, match="labels.txt"):
        check_dataset_plugin(_spec(layout), images, strict=False)
    with pytest.raises(FbnError, match="does not exist"):
        check_dataset_plugin(_spec(buggy), images / "nowhere", strict=False)


def test_images_unreadable_and_skip_images(images):
    (images / "test" / "1.png").write_bytes(b"\x89PNG broken")
    report = check_dataset_plugin(_spec(lambda root, split: _table(split)), images, strict=False)
    assert report.splits["test"].unreadable_images == 1
    # the full path, as for missing images: one a user can open
    assert report.problems == [
        f"test: 1 images cannot be decoded (the run skips those rows), e.g. {images / 'test' / '1.png'}; "
        "replace or re-extract those files"
    ]
    unchecked = check_dataset_plugin(_spec(lambda root, split: _table(split)), images, check_images=False)
    assert unchecked.ok and "test: 4 rows, 2 subjects; images not checked" in unchecked.to_text()


def test_options_splits_and_skipped_attr(images):
    def load(root, split, scale: int = 1):
        return LoadedTable(_table(split), skipped={"rows without a face": scale})

    spec = _spec(load, options={"scale": "a number"})
    report = check_dataset_plugin(spec, images, splits=["test"], options={"scale": 3})
    assert list(report.splits) == ["test"] and report.splits["test"].skipped == {"rows without a face": 3}
    assert "skipped 3: rows without a face" in report.to_text()
    with pytest.raises(FbnError, match="has no option 'colour'"):
        check_dataset_plugin(spec, images, options={"colour": 1})
    with pytest.raises(FbnError, match="has no split 'val'"):
        check_dataset_plugin(spec, images, splits=["val"])


def test_extra_categorical_column_counted(images):
    report = check_dataset_plugin(_spec(lambda root, split: _table(split, compound=["a", "b", "a", None])), images)
    assert report.splits["train"].extra == {"compound": {"a": 2, "b": 1}}
    assert report.to_dict()["splits"]["train"]["extra"]["compound"]["a"] == 2


def test_face_boxes_the_run_cannot_crop_are_problems(images):
    # 8x8 images: a box inside, one past the right edge, one with no width, one with no box at all.
    nan = float("nan")
    boxes = {"bbox_x": [1, 20, 1, nan], "bbox_y": [1, 1, 1, nan], "bbox_w": [4, 4, 0, nan], "bbox_h": [4, 4, 4, nan]}
    report = check_dataset_plugin(_spec(lambda root, split: _table(split, **boxes)), images, strict=False)
    assert report.splits["train"].bad_bboxes == 2 and "2 bad face boxes" in report.to_text()
    problem = next(p for p in report.problems if p.startswith("train:"))
    assert "2 face boxes cannot be cropped" in problem and "bbox (20, 1, 4, 4) lies outside the 8x8 image" in problem
    # A frame without a face box is normal in video databases: a note, since the run skips it.
    assert "train: 1 of 4 rows have no face box" in " ".join(report.notes)
    plain = check_dataset_plugin(_spec(lambda root, split: _table(split)), images)
    assert plain.ok and plain.splits["train"].bad_bboxes is None  # no bbox columns: nothing to check
