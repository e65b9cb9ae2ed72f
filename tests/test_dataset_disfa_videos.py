"""DISFA as shipped: label files and left-camera videos, no extracted frames. The loader points each row at its
video frame, the core decodes the videos with PyAV and the default Haar detector finds the faces; a video shorter
than its labels loses the labels past its end, counted. `fbn-bench run --datasets disfa` trains on it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from real_fixtures_disfa import N_FRAMES, write_disfa_videos

from fbn_bench.cli import cli
from fbn_bench.data.cache import prepare_split
from fbn_bench.data.images import PAST_END
from fbn_bench.data.roots import load_split
from fbn_bench.faces.frontend import FaceFrontEnd
from fbn_bench.registry import get_registry

pytest.importorskip("av")
pytest.importorskip("cv2")
pytestmark = pytest.mark.usefixtures("uncarved")


def test_rows_point_at_video_frames_when_no_frames_were_extracted(tmp_path):
    write_disfa_videos(tmp_path)
    table, _ = load_split(get_registry().dataset("disfa"), "test", {"root": str(tmp_path)})
    assert set(table["image"]) == {"Videos_LeftCamera/LeftVideoSN003_comp.avi"}
    assert table["frame_index"].tolist() == list(range(N_FRAMES))  # label line k (1-based) is decoded frame k-1
    assert (table["frame"] - table["frame_index"] == 1).all()


def test_the_default_detector_finds_every_face_and_short_videos_are_counted(tmp_path):
    registry = get_registry()
    write_disfa_videos(tmp_path, short={"SN003": 2})
    front = FaceFrontEnd.from_settings(registry, "haar", "box")
    spec = registry.dataset("disfa")
    test = prepare_split(
        spec, "test", {"root": str(tmp_path)}, image_size=32, cache_dir=tmp_path / "c", progress=False, front=front
    )
    assert test.skipped == {PAST_END: 2} and len(test) == N_FRAMES - 2  # every frame that exists has its face
    assert any("fewer frames than their labels" in note for note in test.notes)
    train = prepare_split(
        spec, "train", {"root": str(tmp_path)}, image_size=32, cache_dir=tmp_path / "c", progress=False, front=front
    )
    loader_drops = {"frames missing from some of their subject's 12 AU files": 1}
    assert train.skipped == loader_drops and len(train) == 2 * N_FRAMES - 1


def test_videos_source_without_videos_is_one_line_and_frames_win_when_both_exist(tmp_path):
    from fbn_bench import FbnError

    write_disfa_videos(tmp_path)
    spec = get_registry().dataset("disfa")
    (tmp_path / "frames" / "SN003").mkdir(parents=True)  # extracted frames beside the videos: auto takes them
    table, _ = load_split(spec, "test", {"root": str(tmp_path)})
    assert table["image"].iloc[0] == "frames/SN003/00001.png" and "frame_index" not in table
    table, _ = load_split(spec, "test", {"root": str(tmp_path), "source": "videos"})
    assert "frame_index" in table
    (tmp_path / "Videos_LeftCamera").rename(tmp_path / "elsewhere")
    with pytest.raises(FbnError, match="disfa: no video folder"):
        load_split(spec, "test", {"root": str(tmp_path), "source": "videos"})


@pytest.mark.slow
def test_run_trains_on_disfa_as_shipped(tmp_path):
    data = tmp_path / "data"
    write_disfa_videos(data / "disfa")
    out = tmp_path / "run"
    args = ["run", "--datasets", "disfa", "--data-root", str(data), "--steps", "4", "--val-every", "2"]
    args += ["--batch-size", "8", "--image-size", "32", "--no-progress", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {(r["dataset"], r["task"]) for r in records} == {("disfa", "au")}
    assert all(r["n_skipped"] == 0 for r in records) and records[0]["n_samples"] == N_FRAMES
    config = json.loads((out / "config.json").read_text())
    assert config["face_detector"] == "haar" and config["face_crop"] == "box"


def test_the_check_reads_the_videos_and_notes_a_short_one(tmp_path):
    from fbn_bench.testing import check_dataset_plugin

    write_disfa_videos(tmp_path, short={"SN003": 1})
    report = check_dataset_plugin("disfa", tmp_path, splits=("test",))
    assert report.splits["test"].unreadable_images == 0
    assert any(
        "1 of 1 videos have fewer frames than their labels" in n and "5 frames decoded, labels up to frame 6" in n
        for n in report.notes
    )
