"""Aff-Wild as shipped: annotations, .pts boxes and the videos, no extracted frames. Rows point at video frames;
frames with a shipped box are cropped to it, the others go to the face detector (here the marker detector)."""

from __future__ import annotations

import shutil

import pytest
from face_scenes import background, marker_face, write_video
from real_fixtures_affwild import TOP, VIDEOS, write_affwild

from fbn_bench.data.cache import prepare_split
from fbn_bench.data.roots import load_split
from fbn_bench.faces.frontend import FaceFrontEnd
from fbn_bench.registry import build_registry

pytest.importorskip("av")
pytestmark = pytest.mark.usefixtures("uncarved")


@pytest.fixture(scope="module")
def registry():
    return build_registry(extra_modules=["fake_detector_plugin"])


def shipped(tmp_path):
    fx = write_affwild(tmp_path)
    shutil.rmtree(fx.root / "frames")
    for split, videos in VIDEOS.items():
        for video, n in videos.items():
            frames = [marker_face(background(320, 240), (100, 60, 60, 60)) for _ in range(n)]
            write_video(fx.root / TOP / "videos" / split / f"{video}.mp4", frames)
    return fx


def test_rows_point_at_the_videos_and_boxless_frames_are_detected(tmp_path, registry):
    fx = shipped(tmp_path)
    spec = registry.dataset("affwild")
    table, _ = load_split(spec, "train", {"root": str(fx.root)})
    assert set(table["image"]) == {f"{TOP}/videos/train/105.mp4", f"{TOP}/videos/train/202.mp4"}
    assert (table["frame"] - table["frame_index"] == 1).all()
    front = FaceFrontEnd.from_settings(registry, "markers", "box")
    p = prepare_split(
        spec, "train", {"root": str(fx.root)}, image_size=16, cache_dir=tmp_path / "c", progress=False, front=front
    )
    assert p.n_skipped == 0 and len(p) == sum(VIDEOS["train"].values())  # frames 3, 6 (no .pts): detected
    # with no detector, the frames without a shipped box are skipped and counted, as before
    p = prepare_split(
        spec,
        "train",
        {"root": str(fx.root)},
        image_size=16,
        cache_dir=tmp_path / "c",
        progress=False,
        front=FaceFrontEnd(),
    )
    assert p.skipped == {"bad bbox": 3}  # frames 3 and 6 of 105, 3 of 202


def test_neither_frames_nor_videos_is_one_line(tmp_path):
    from fbn_bench import FbnError

    fx = write_affwild(tmp_path)
    shutil.rmtree(fx.root / "frames")
    with pytest.raises(FbnError, match="neither extracted frames"):
        load_split(build_registry().dataset("affwild"), "test", {"root": str(fx.root)})
