"""Face detectors built on OpenCV (`pip install "fbn-bench[faces]"`), both offline.

`haar`: the Viola-Jones frontal-face cascade that ships inside opencv-python-headless 4.x (its 5.x wheels no longer
include the cascade files, hence the `<5` pin of the extra), with the eye cascade inside each face for the two eye
centres that alignment needs. Fast on a CPU and weights-free; frontal faces only, so it misses profiles and
strong head turns. `yunet`: OpenCV's FaceDetectorYN on a YuNet ONNX file you name (`yunet:model=PATH`): boxes,
scores and five landmarks, far better on faces in the wild. docs/faces.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fbn_bench import DetectorSpec, FbnError, Option, hookimpl
from fbn_bench.faces import Face

INSTALL = "pip install 'fbn-bench[faces]'"


def _cv2():
    try:
        import cv2
    except ImportError:
        raise FbnError(f"the OpenCV face detectors need opencv-python-headless 4.x: {INSTALL}") from None
    return cv2


def _cascade(cv2, name: str):
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    path = Path(folder or "") / name
    cascade = cv2.CascadeClassifier(str(path)) if path.is_file() else None
    if cascade is None or cascade.empty():
        raise FbnError(
            f"OpenCV {cv2.__version__} has no Haar cascade {name} (opencv 5.x wheels ship none); "
            f"pip install 'opencv-python-headless<5' or {INSTALL}"
        )
    return cascade


def _eye_centres(cv2, eyes_cascade, gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """The two eye centres in the upper half of a face box: the largest eye found in each half of it."""
    x, y, w, h = box
    upper = gray[y : y + h // 2, x : x + w]
    if upper.size == 0:
        return None
    found = eyes_cascade.detectMultiScale(upper, scaleFactor=1.1, minNeighbors=3, minSize=(max(4, w // 10),) * 2)
    left = [e for e in found if e[0] + e[2] / 2 < w / 2]
    right = [e for e in found if e[0] + e[2] / 2 >= w / 2]
    if not left or not right:
        return None
    pick = lambda group: max(group, key=lambda e: e[2] * e[3])
    return np.array([[x + ex + ew / 2, y + ey + eh / 2] for ex, ey, ew, eh in (pick(left), pick(right))], float)


def build_haar(*, scale_factor: float, min_neighbors: int, min_size: float, max_side: int, eyes: bool):
    cv2 = _cv2()
    faces_cascade = _cascade(cv2, "haarcascade_frontalface_default.xml")
    eyes_cascade = _cascade(cv2, "haarcascade_eye.xml") if eyes else None

    def detect(image: np.ndarray) -> list[Face]:
        # Detect on a picture whose long side is at most max_side: the cascade's cost grows with the pixels,
        # and a face too small to find there is too small to read an expression from.
        scale = min(1.0, max_side / max(image.shape[:2]))
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        side = max(8, int(min(gray.shape) * min_size))
        boxes, _, weights = faces_cascade.detectMultiScale3(
            gray, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(side, side), outputRejectLevels=True
        )
        found = []
        for box, weight in zip(boxes, np.ravel(weights) if len(boxes) else []):
            box = tuple(int(v) for v in box)
            centres = _eye_centres(cv2, eyes_cascade, gray, box) if eyes_cascade is not None else None
            landmarks = None
            if centres is not None:
                landmarks = np.full((5, 2), np.nan)
                landmarks[:2] = centres / scale
            found.append(Face(tuple(v / scale for v in box), float(weight), landmarks))
        return found

    return detect


def build_yunet(*, model: str | None, score_threshold: float, nms_threshold: float):
    if not model:
        raise FbnError(
            "the yunet detector needs its ONNX file: --face-detector yunet:model=PATH/face_detection_yunet.onnx"
        )
    cv2 = _cv2()
    path = Path(model).expanduser()
    if not path.is_file():
        raise FbnError(
            f"yunet: model file {path} not found; fetch face_detection_yunet_2023mar.onnx from the OpenCV Zoo yourself (fbn-bench never downloads)"
        )
    if not hasattr(cv2, "FaceDetectorYN"):
        raise FbnError(f"OpenCV {cv2.__version__} has no FaceDetectorYN (4.5.4 or later needed): {INSTALL}")
    try:
        net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), score_threshold, nms_threshold)
    except cv2.error as err:
        raise FbnError(
            f"yunet: OpenCV could not load {path} as a YuNet ONNX model ({str(err).strip()[:120]})"
        ) from None

    def detect(image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        net.setInputSize((width, height))
        _, rows = net.detect(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        found = []
        for row in [] if rows is None else rows:  # x, y, w, h, 5 landmarks (x, y), score
            if row[2] > 0 and row[3] > 0:
                found.append(Face(tuple(row[:4]), float(row[14]), np.asarray(row[4:14], float).reshape(5, 2)))
        return found

    return detect


@hookimpl
def register_detectors(register):
    register(
        DetectorSpec(
            name="haar",
            build=build_haar,
            description="OpenCV's Haar cascades (frontal faces, eye centres); offline, no weights to fetch",
            options=(
                Option("scale_factor", float, 1.1, low=1.01, help="step between the cascade's scales"),
                Option("min_neighbors", int, 5, low=1, help="overlapping hits a face needs (higher: fewer false ones)"),
                Option(
                    "min_size", float, 0.1, low=0.0, high=0.9, help="smallest face, as a fraction of the short side"
                ),
                Option("max_side", int, 640, low=64, help="detect on the picture shrunk to this long side"),
                Option("eyes", bool, True, help="find the eye centres inside each face (for --face-crop align)"),
            ),
        )
    )
    register(
        DetectorSpec(
            name="yunet",
            build=build_yunet,
            description="OpenCV's YuNet on an ONNX file you name (model=PATH): boxes, scores, five landmarks",
            options=(
                Option("model", str, None, help="path of the YuNet ONNX file (face_detection_yunet_2023mar.onnx)"),
                Option("score_threshold", float, 0.7, low=0.0, high=1.0, help="smallest score kept"),
                Option("nms_threshold", float, 0.3, low=0.0, high=1.0, help="overlap above which boxes merge"),
            ),
        )
    )
