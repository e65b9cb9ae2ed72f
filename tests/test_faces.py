"""The face front end's pieces, each against a hand-computed case or an independent reading: boxes and IoU,
alignment onto the eye template, tracks (bridging and smoothing), PyAV decoding and counting, and the Haar
detector on a real photograph."""

from __future__ import annotations

import numpy as np
import pytest
from face_scenes import (
    ASTRONAUT_EYES,
    ASTRONAUT_FACE,
    BLUE,
    astronaut,
    background,
    brightness,
    marker_face,
    write_video,
)
from PIL import Image
from scipy import ndimage

from fbn_bench import FbnError
from fbn_bench.faces import Face, largest
from fbn_bench.faces.align import EYE_TEMPLATE, align_crop, box_crop
from fbn_bench.faces.detection import crop_box, iou
from fbn_bench.faces.tracks import follow_faces
from fbn_bench.faces.video import VideoReport, read_frames


def test_face_checks_its_box_and_landmarks():
    with pytest.raises(FbnError, match="w, h > 0"):
        Face((0, 0, 0, 5))
    with pytest.raises(FbnError, match="5"):
        Face((0, 0, 5, 5), landmarks=np.zeros((3, 2)))
    # eyes come image-left first whatever order the detector gave them
    points = np.full((5, 2), np.nan)
    points[:2] = [(30, 10), (10, 12)]
    assert Face((0, 0, 40, 40), landmarks=points).eyes.tolist() == [[10, 12], [30, 10]]
    assert Face((0, 0, 40, 40), landmarks=np.full((5, 2), np.nan)).eyes is None


def test_largest_iou_and_crop_box_by_hand():
    small, big = Face((0, 0, 10, 10), 0.9), Face((5, 5, 20, 10), 0.1)
    assert largest([small, big]) is big and largest([]) is None
    # overlap 5 x 5 = 25; union 100 + 200 - 25
    assert iou(small.box, big.box) == pytest.approx(25 / 275)
    assert iou((0, 0, 1, 1), (5, 5, 1, 1)) == 0.0
    # a 20 x 10 box widened by 20% per side: side 20 * 1.4 = 28, same centre (15, 10)
    assert crop_box((5, 5, 20, 10), 0.2) == pytest.approx((1.0, -4.0, 28.0, 28.0))


def _blue_centres(crop: np.ndarray) -> np.ndarray:
    blue = (crop[..., 2] > 150) & (crop[..., 0] < 100)
    labels, n = ndimage.label(blue)
    assert n == 2, f"expected two eye dots in the crop, found {n}"
    centres = np.array([c[::-1] for c in ndimage.center_of_mass(blue, labels, [1, 2])])  # (x, y)
    return centres[np.argsort(centres[:, 0])]


@pytest.mark.parametrize("angle", [0.0, 25.0, -40.0])
def test_alignment_puts_the_eyes_on_the_template(angle):
    # Two eye dots on a rotated line across a large picture: whatever the rotation and scale, the aligned
    # crop has them at EYE_TEMPLATE (to within a pixel of a 96 px crop).
    scene = background(640, 480)
    centre, half = np.array([300.0, 220.0]), 60.0
    direction = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    eyes = np.stack([centre - half * direction, centre + half * direction])
    for ex, ey in eyes:
        scene[int(ey) - 4 : int(ey) + 5, int(ex) - 4 : int(ex) + 5] = BLUE
    eyes_at = eyes.round() + 0.5  # the dots' centres: pixel ey-4 .. ey+4 (integer) centred on ey + 0.5
    crop = align_crop(Image.fromarray(scene), eyes_at, 96)
    assert crop.shape == (96, 96, 3)
    np.testing.assert_allclose(_blue_centres(crop), np.array(EYE_TEMPLATE) * 96, atol=1.0)


def test_alignment_refuses_coincident_eyes():
    with pytest.raises(ValueError, match="coincide"):
        align_crop(Image.new("RGB", (50, 50)), np.array([[10.0, 10.0], [10.0, 10.0]]), 32)


def test_box_crop_takes_the_box_and_pads_outside_black():
    scene = marker_face(background(200, 100), (50, 20, 40, 40), eyes=[])
    crop = box_crop(Image.fromarray(scene), (50, 20, 40, 40), 20)
    assert (crop[..., 0] > 200).all() and (crop[..., 2] < 40).all()  # all red: exactly the box
    half_out = box_crop(Image.fromarray(scene), (-40, 0, 80, 80), 16)
    assert (half_out[:, :7] == 0).all()  # the left half lies outside the picture


def _track(boxes):
    return [[Face(b)] if b is not None else [] for b in boxes]


def test_short_gaps_are_bridged_by_interpolation_long_ones_are_not():
    boxes = [(0, 0, 40, 40), None, None, (15, 3, 40, 40)] + [None] * 7 + [(15, 3, 40, 40)]
    out = follow_faces(_track(boxes), max_gap=2, window=0)
    assert [f[0].box for f in out[:4]] == [(0, 0, 40, 40), (5, 1, 40, 40), (10, 2, 40, 40), (15, 3, 40, 40)]
    assert all(f == [] for f in out[4:11])  # a gap of 7 > max_gap stays empty: those frames have no face
    assert out[11][0].box == (15, 3, 40, 40)


def test_smoothing_averages_jitter_within_a_track_but_never_across_a_jump():
    jitter = [(10, 10, 20, 20), (12, 10, 20, 20), (8, 10, 20, 20), (10, 10, 20, 20)]
    far = [(200, 200, 20, 20)]
    out = follow_faces(_track(jitter + far), max_gap=2, window=1)
    xs = [f[0].box[0] for f in out]
    # frame 1: mean of 10, 12, 8 = 10; frame 0: mean of 10, 12 = 11; the far box (a new track) untouched
    assert xs[:4] == pytest.approx([11.0, 10.0, 10.0, 9.0])
    assert xs[4] == 200


def test_a_bridge_never_covers_another_detected_face():
    boxes = [(0, 0, 10, 10), (300, 300, 10, 10), (0, 0, 10, 10)]
    out = follow_faces(_track(boxes), max_gap=3, window=0)
    assert [f[0].box[0] for f in out] == [0, 300, 0]


def test_video_frames_are_decoded_in_order_and_counted(tmp_path):
    levels = [20 + 20 * k for k in range(9)]
    path = write_video(tmp_path / "clip.avi", [brightness(v) for v in levels])
    report = VideoReport()
    got = [(i, float(np.asarray(p).mean())) for i, p in read_frames(path, {1, 4, 8}, report)]
    assert report.frames == 9 and report.error is None  # counted to the end, past the last wanted frame
    assert [i for i, _ in got] == [1, 4, 8]
    assert [m for _, m in got] == pytest.approx([levels[1], levels[4], levels[8]], abs=4)


def test_an_unreadable_video_is_reported_not_raised(tmp_path):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video at all" * 100)
    report = VideoReport()
    assert list(read_frames(bad, None, report)) == []
    assert report.error and report.frames == 0


def test_haar_finds_the_astronaut_and_her_eyes():
    from fbn_bench.faces.frontend import FaceFrontEnd
    from fbn_bench.registry import get_registry

    pytest.importorskip("cv2")
    front = FaceFrontEnd.from_settings(get_registry(), "haar", "align")
    faces = front.detect(astronaut())
    assert len(faces) == 1
    assert iou(faces[0].box, ASTRONAUT_FACE) > 0.6
    np.testing.assert_allclose(faces[0].eyes, ASTRONAUT_EYES, atol=8)
    # no face in a plain picture
    assert front.detect(background(320, 240)) == []


def test_detector_options_are_checked_and_a_missing_model_is_one_line():
    from fbn_bench.faces.frontend import FaceFrontEnd
    from fbn_bench.registry import get_registry

    registry = get_registry()
    with pytest.raises(FbnError, match="scale_factor"):
        FaceFrontEnd.from_settings(registry, "haar:scale_factor=0.5", "box")
    with pytest.raises(FbnError, match="face detector 'nope'"):
        FaceFrontEnd.from_settings(registry, "nope", "box")
    pytest.importorskip("cv2")
    front = FaceFrontEnd.from_settings(registry, "yunet:model=/nowhere/yunet.onnx", "box")
    with pytest.raises(FbnError, match="/nowhere/yunet.onnx not found"):
        front.detect(background(64, 64))
    front = FaceFrontEnd.from_settings(registry, "yunet", "box")
    with pytest.raises(FbnError, match="needs its ONNX file"):
        front.detect(background(64, 64))


def test_eyes_from_68_points_by_hand():
    from fbn_bench.faces.detection import eyes_from_68

    points = np.zeros((68, 2))
    points[36:42] = [(10, 20), (12, 20), (14, 20), (10, 22), (12, 22), (14, 22)]  # centre (12, 21)
    points[42:48] = [(30, 20), (32, 20), (34, 20), (30, 24), (32, 24), (34, 24)]  # centre (32, 22)
    assert eyes_from_68(points) == (12.0, 21.0, 32.0, 22.0)
    assert eyes_from_68(points.ravel().tolist()) == (12.0, 21.0, 32.0, 22.0)  # flat x1, y1, x2, ... too
    assert np.isnan(eyes_from_68(points[:60])).all() and np.isnan(eyes_from_68("bad")).all()
