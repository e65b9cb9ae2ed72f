"""`fbn-bench datasets check`: plain-words report, JSON counts, exit codes, one-line layout errors."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner
from real_fixtures_disfa import write_disfa
from real_fixtures_rafdb import write_rafdb

from fbn_bench.cli import cli


def _run(*args):
    return CliRunner().invoke(cli, ["datasets", "check", *map(str, args)])


def test_report_in_plain_words(tmp_path):
    expected = write_rafdb(tmp_path)
    result = _run("rafdb", "--root", tmp_path)
    assert result.exit_code == 0, result.output
    # train and val share the fixture's training images (val: a hash-chosen 15%, at least one).
    n_side = expected["rafdb"]["train"]["n_samples"]
    rows = {
        line.split(":")[0].strip(): int(line.split(":")[1].split()[0])
        for line in result.output.splitlines()
        if line.strip().startswith(("train:", "val:"))
    }
    assert rows["val"] >= 1 and rows["train"] + rows["val"] == n_side
    n_train = rows["train"]
    assert f"train: {n_train} rows, {n_train} subjects; 0 missing images, 0 unreadable" in result.output
    assert "OK: no problems found." in result.output


def test_json_counts_and_options(tmp_path):
    expected = write_disfa(tmp_path / "disfa")
    result = _run("disfa:fold=2,threshold=1", "--data-root", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and report["options"] == {
        "fold": 2,
        "threshold": 1,
        "naming": "frames/{subject}/{frame:05d}.png",
        "source": "auto",
    }
    want, got = expected["fold2"]["threshold1"], report["splits"]
    assert (
        got["test"]["stats"]["n_samples"] == want["test"]["n_samples"]
        and got["test"]["stats"]["au"] == want["test"]["au"]
    )
    # train and val: the fixture's training side, carved by subject.
    side = got["train"]["stats"]["n_samples"] + got["val"]["stats"]["n_samples"]
    assert side == want["train"]["n_samples"] and got["val"]["stats"]["n_samples"] > 0


def test_only_one_split(tmp_path):
    write_rafdb(tmp_path)
    report = json.loads(_run("rafdb-compound", "--root", tmp_path, "--split", "test", "--json").output)
    assert list(report["splits"]) == ["test"]


def test_wrong_root_is_one_line_error(tmp_path):
    result = _run("rafdb", "--root", tmp_path / "nowhere")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: rafdb root") and "does not exist" in lines[0]
    assert "Traceback" not in result.output


def test_wrong_layout_names_expected_path(tmp_path):
    (tmp_path / "ActionUnits").mkdir()
    result = _run("disfa", "--root", tmp_path)
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Error: DISFA label folder not found: expected {tmp_path}/ActionUnit_Labels or "
        f"{tmp_path}/ActionUnit_Labels/ActionUnit_Labels; check --root (or "
        "NAME:root=PATH) points at the database folder"
    )


def test_malformed_line_names_file_and_line(tmp_path):
    write_rafdb(tmp_path, compound=False)
    label = tmp_path / "basic" / "EmoLabel" / "list_patition_label.txt"
    label.write_text(label.read_text().replace("train_00002.jpg 5", "train_00002.jpg"))
    result = _run("rafdb", "--root", tmp_path)
    assert result.exit_code == 2
    assert f"Error: {label}:2: expected '<image name> <label code>'" in result.output


def test_problems_exit_1_naming_the_image(tmp_path):
    write_rafdb(tmp_path, compound=False)
    missing = tmp_path / "basic" / "Image" / "aligned" / "test_0002_aligned.jpg"
    missing.unlink()
    result = _run("rafdb", "--root", tmp_path)
    assert result.exit_code == 1
    assert f"test: 1 of 4 images are missing, e.g. {missing}" in result.output
    assert _run("rafdb", "--root", tmp_path, "--no-images").exit_code == 0


def test_unknown_option_and_dataset(tmp_path):
    result = _run("disfa:folds=2", "--root", tmp_path)
    assert result.exit_code == 2 and "has no option 'folds'" in result.output
    result = _run("rafbd", "--root", tmp_path)
    assert result.exit_code == 2 and "did you mean 'rafdb'" in result.output


def test_a_truncated_jpeg_that_pillow_verifies_is_unreadable_as_in_the_run(tmp_path):
    from PIL import Image

    from fbn_bench.data.cache import prepare_split
    from fbn_bench.registry import get_registry

    write_rafdb(tmp_path)
    victim = sorted((tmp_path / "basic" / "Image" / "aligned").glob("train_*_aligned.jpg"))[0]
    noise = np.random.default_rng(0).integers(0, 256, (160, 200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(victim, quality=90)  # a large scan, then cut in half: a truncated JPEG
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    with Image.open(victim) as handle:
        handle.verify()  # what the check used to rely on: it does not notice
    result = _run("rafdb", "--root", tmp_path, "--split", "train", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    prepared = prepare_split(
        get_registry().dataset("rafdb"), "train", {"root": str(tmp_path)}, image_size=64,
        cache_dir=tmp_path / "cache", progress=False, report=False,
    )  # fmt: skip
    assert prepared.skipped == {"unreadable": 1}  # the run drops it ...
    assert report["splits"]["train"]["unreadable_images"] == 1  # ... and the check now says so
    assert any(str(victim) in p and "cannot be decoded" in p for p in report["problems"])
