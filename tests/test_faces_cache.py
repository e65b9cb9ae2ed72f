"""The image cache with the face front end: rows that are frames of a video, faces found by a detector plugin
(the marker detector of tests/fake_detector_plugin.py), gaps bridged, frames without a face and labels past a
video's end skipped and counted, eye alignment, and a cache key that covers the front end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from face_scenes import background, marker_face, write_video

from fbn_bench.data.cache import cache_key, prepare_split
from fbn_bench.data.images import NO_FACE, PAST_END
from fbn_bench.data.sources import RowSources
from fbn_bench.faces.frontend import FaceFrontEnd
from fbn_bench.registry import build_registry
from fbn_bench.specs import DatasetSpec

pytest.importorskip("av")
N_FRAMES, N_LABELS = 22, 25
GAP_BRIDGED = (3, 4)  # no face drawn: bridged (gap 2 <= 5)
GAP_LOST = tuple(range(10, 17))  # no face drawn for 7 frames: too long to bridge, skipped as "no face"


def face_box(k: int) -> tuple[int, int, int, int]:
    return (40 + 2 * k, 30, 48, 48)  # moving right, 2 px a frame


def write_clip(root):
    frames = []
    for k in range(N_FRAMES):
        scene = background(192, 128)
        if k not in GAP_BRIDGED + GAP_LOST:
            marker_face(scene, face_box(k))
        frames.append(scene)
    write_video(root / "videos" / "clip.avi", frames)


def load(root, split):
    return pd.DataFrame(
        {
            "image": ["videos/clip.avi"] * N_LABELS,
            "subject": "s1",
            "video": "clip",
            "frame": np.arange(1, N_LABELS + 1),
            "frame_index": np.arange(N_LABELS),
            "AU1": np.tile([0.0, 1.0], N_LABELS)[:N_LABELS],
        }
    )


SPEC = DatasetSpec(name="clips", tasks={"au"}, aus=(1,), load=load, splits=("train", "val", "test"), full_frames=True)


@pytest.fixture(scope="module")
def registry():
    return build_registry(extra_modules=["fake_detector_plugin"])


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    write_clip(root)
    return root


def prepare(root, tmp_path, front, size=32):
    return prepare_split(
        SPEC, "train", {"root": str(root)}, image_size=size, cache_dir=tmp_path / "cache", progress=False, front=front
    )


def test_video_rows_with_a_detector_bridge_short_gaps_and_count_the_rest(root, tmp_path, registry, capsys):
    front = FaceFrontEnd.from_settings(registry, "markers", "box")
    p = prepare(root, tmp_path, front)
    lost, past = len(GAP_LOST), N_LABELS - N_FRAMES
    assert p.skipped == {NO_FACE: lost, PAST_END: past}
    kept = [k for k in range(N_LABELS) if k not in GAP_LOST and k < N_FRAMES]
    assert p.rows.tolist() == kept  # row k is label frame k + 1: each crop is its own frame's
    # every detected crop is the red marker face (its widened box is mostly red); the bridged frames, where
    # the fixture drew no face, are crops of the background at the interpolated box
    red = ((p.images[..., 0] > 150) & (p.images[..., 2] < 90)).mean(axis=(1, 2))
    bridged = np.isin(p.rows, GAP_BRIDGED)
    assert red[~bridged].min() > 0.35 and red[bridged].max() == 0
    err = capsys.readouterr().err
    assert f"{lost} no face" in err and f"{past} past video end" in err and "clip.avi [frame 10] (no face)" in err
    assert (
        "1 of 1 videos have fewer frames than their labels" in err and "22 frames decoded, labels up to frame 25" in err
    )


def test_alignment_uses_the_detected_eyes_and_changes_the_key(root, tmp_path, registry):
    boxed = FaceFrontEnd.from_settings(registry, "markers", "box")
    aligned = FaceFrontEnd.from_settings(registry, "markers", "align")
    no_eyes = FaceFrontEnd.from_settings(registry, "markers:eyes=false", "align")
    table = SPEC.load(root, "train")
    sources = RowSources.from_table(table, root, SPEC)
    keys = {cache_key(table, SPEC, root, 32, sources, f) for f in (boxed, aligned, no_eyes, FaceFrontEnd())}
    assert len(keys) == 4  # detector, its options and the crop are all in the key
    p = prepare(root, tmp_path, aligned, size=50)
    # aligned crops put the blue eye dots at the template: 36% and 64% across, 41% down
    blue = (p.images[0][..., 2] > 150) & (p.images[0][..., 0] < 90)
    ys, xs = np.nonzero(blue)
    assert abs(ys.mean() - 0.41 * 50) < 2 and abs(np.sort(xs)[: len(xs) // 2].mean() - 0.36 * 50) < 2


def test_picture_files_of_a_full_frame_database_go_to_the_detector(tmp_path, registry):
    from PIL import Image

    (tmp_path / "pics").mkdir()
    Image.fromarray(marker_face(background(160, 120), (60, 30, 40, 40))).save(tmp_path / "pics" / "a.png")
    Image.fromarray(background(160, 120)).save(tmp_path / "pics" / "b.png")  # no face in it
    spec = DatasetSpec(
        name="pics",
        tasks={"au"},
        aus=(1,),
        splits=("train", "val", "test"),
        full_frames=True,
        load=lambda root, split: pd.DataFrame({"image": ["pics/a.png", "pics/b.png"], "AU1": [1.0, 0.0]}),
    )
    front = FaceFrontEnd.from_settings(registry, "markers", "box")
    p = prepare_split(
        spec, "train", {"root": str(tmp_path)}, image_size=20, cache_dir=tmp_path / "c", progress=False, front=front
    )
    assert p.rows.tolist() == [0] and p.skipped == {NO_FACE: 1}
    # with --face-detector none the same pictures are used whole (and cached under another key)
    whole = prepare_split(
        spec,
        "train",
        {"root": str(tmp_path)},
        image_size=20,
        cache_dir=tmp_path / "c",
        progress=False,
        front=FaceFrontEnd(),
    )
    assert whole.rows.tolist() == [0, 1] and whole.cache_path != p.cache_path


def test_a_missing_video_skips_its_rows_as_missing(tmp_path, registry):
    front = FaceFrontEnd.from_settings(registry, "markers", "box")
    p = prepare(tmp_path, tmp_path, front)  # no videos/clip.avi under this root
    assert p.skipped == {"missing": N_LABELS} and len(p) == 0


def test_each_row_gets_its_own_frame_in_any_row_order(tmp_path):
    # Frame k's background level is 10 + 12 k, so a crop tells which frame it came from; rows ask for the frames
    # out of order and one frame twice, and a second video is interleaved with the first.
    from face_scenes import brightness

    levels = [10 + 12 * k for k in range(15)]
    write_video(tmp_path / "a.avi", [brightness(v) for v in levels])
    write_video(tmp_path / "b.avi", [brightness(250 - v) for v in levels])
    asks = [("a.avi", 7), ("b.avi", 2), ("a.avi", 0), ("a.avi", 7), ("b.avi", 14), ("a.avi", 3)]
    table = pd.DataFrame({"image": [a for a, _ in asks], "frame_index": [k for _, k in asks], "AU1": 1.0})
    spec = DatasetSpec(name="order", tasks={"au"}, aus=(1,), splits=("train", "val", "test"), load=lambda r, s: table)
    p = prepare_split(spec, "train", {"root": str(tmp_path)}, image_size=8, cache_dir=tmp_path / "c", progress=False)
    want = [levels[k] if video == "a.avi" else 250 - levels[k] for video, k in asks]
    np.testing.assert_allclose(p.images.reshape(len(asks), -1).mean(axis=1), want, atol=4)


def test_the_detector_is_in_the_key_only_where_faces_must_be_found(tmp_path, registry):
    # Rows that all ship a box and eye centres: the crop decides their pixels, the detector never does.
    table = pd.DataFrame(
        {
            "image": ["a.png"],
            "bbox_x": [1],
            "bbox_y": [1],
            "bbox_w": [5],
            "bbox_h": [5],
            "eye_l_x": [2],
            "eye_l_y": [2],
            "eye_r_x": [4],
            "eye_r_y": [2],
            "AU1": [1.0],
        }
    )
    spec = DatasetSpec(name="shipped", tasks={"au"}, aus=(1,), splits=("train", "val", "test"), load=lambda r, s: table)
    key = lambda detector, crop: cache_key(
        table, spec, tmp_path, 32, front=FaceFrontEnd.from_settings(registry, detector, crop)
    )
    assert key("markers", "box") == key("none", "box") == key("markers:eyes=false", "box")
    assert key("markers", "align") != key("markers", "box")
