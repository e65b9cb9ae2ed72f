"""What a face detector returns, and the few geometric facts every user of a detection needs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import FbnError

# Five landmarks, in this order: the eye on the image's left, the eye on the image's right, the nose tip, the
# mouth corner on the image's left, the one on its right. Unknown points are NaN (Haar finds eyes at best).
LANDMARK_NAMES = ("eye_l", "eye_r", "nose", "mouth_l", "mouth_r")


@dataclass(frozen=True)
class Face:
    """One face in an image: `box` (x, y, w, h) in pixels of that image, the detector's `score` (higher is
    surer; its scale is the detector's own), and `landmarks` (5, 2) in pixels or None."""

    box: tuple[float, float, float, float]
    score: float = 1.0
    landmarks: np.ndarray | None = None

    def __post_init__(self) -> None:
        box = tuple(float(v) for v in self.box)
        if len(box) != 4 or not all(math.isfinite(v) for v in box) or box[2] <= 0 or box[3] <= 0:
            raise FbnError(f"a face box must be four finite numbers (x, y, w, h) with w, h > 0, got {self.box!r}")
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "score", float(self.score))
        if self.landmarks is not None:
            points = np.asarray(self.landmarks, dtype=np.float64)
            if points.shape != (5, 2):
                raise FbnError(f"face landmarks must be 5 (x, y) points, got an array of shape {points.shape}")
            object.__setattr__(self, "landmarks", points)

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]

    @property
    def eyes(self) -> np.ndarray | None:
        """(2, 2) eye centres, image-left first, when both are known."""
        if self.landmarks is None or not np.isfinite(self.landmarks[:2]).all():
            return None
        eyes = self.landmarks[:2]
        return eyes[np.argsort(eyes[:, 0], kind="stable")]


def largest(faces: Sequence[Face]) -> Face | None:
    """The face with the largest box (ties: the higher score, then the first found), or None."""
    if not faces:
        return None
    return max(enumerate(faces), key=lambda item: (item[1].area, item[1].score, -item[0]))[1]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def crop_box(box: Sequence[float], margin: float) -> tuple[float, float, float, float]:
    """The square a detected face is cropped to: centred on the box, side max(w, h) * (1 + 2 * margin).
    Detectors box the inner face (brows to chin); expression and AU models need the forehead and jaw too."""
    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    return cx - side / 2, cy - side / 2, side, side


def eyes_from_68(landmarks) -> tuple[float, float, float, float]:
    """Eye centres (image-left x, y, image-right x, y) from the 68 iBUG/Multi-PIE points that AFEW-VA, AffectNet
    and Aff-Wild ship: the means of points 37-42 and 43-48 (1-based), the subject's right and left eye, which
    a frontal image shows left and right. NaN when the points are unusable."""
    try:
        points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        return (math.nan,) * 4
    if len(points) != 68 or not np.isfinite(points[36:48]).all():
        return (math.nan,) * 4
    a, b = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    left, right = (a, b) if a[0] <= b[0] else (b, a)
    return float(left[0]), float(left[1]), float(right[0]), float(right[1])
