"""Decoding one face image: the only place the core reads image files.

Every database goes through `decode_face`, so they all get the same crop, resize and bad-file handling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import FbnError

# Why an image was skipped. The cache counts skips under these names, so keep them short and stable.
MISSING = "missing"
UNREADABLE = "unreadable"
BAD_BBOX = "bad bbox"
NO_FACE = "no face"  # the face detector found none in the picture or frame (and no track bridged it)
PAST_END = "past video end"  # a label line for a frame the video does not have (docs/faces.md)
REASONS = (MISSING, UNREADABLE, BAD_BBOX, NO_FACE, PAST_END)


class BadImageError(FbnError):
    """An image that cannot become a face crop. `reason` is one of REASONS; `path` the file."""

    def __init__(self, path: str | Path, reason: str, detail: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{self.path}: {reason}{f' ({detail})' if detail else ''}")


def check_bbox(bbox: Sequence[float] | None, width: int, height: int) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) in pixels -> a PIL box (left, top, right, bottom) clamped to the image.

    Raises ValueError for a bbox that is not four finite numbers, has w or h <= 0, or lies outside.
    """
    if bbox is None:
        return None
    values = [float(v) for v in bbox]
    shown = "(" + ", ".join(f"{v:g}" for v in values) + ")"  # plain numbers, not numpy reprs
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"bbox {shown} is not four finite numbers")
    x, y, w, h = values
    if w <= 0 or h <= 0:
        raise ValueError(f"bbox {shown} has a width or height <= 0")
    left, top = max(0, round(x)), max(0, round(y))
    right, bottom = min(width, round(x + w)), min(height, round(y + h))
    if right <= left or bottom <= top:
        raise ValueError(f"bbox {shown} lies outside the {width}x{height} image")
    return left, top, right, bottom


def decode_face(path: str | Path, image_size: int, bbox: Sequence[float] | None = None) -> np.ndarray:
    """Read an image file as an RGB face crop of shape (image_size, image_size, 3), uint8.

    `bbox` is (x, y, w, h) in pixels of the original image, clamped to it. The crop (or the whole
    image) is stretched to the square, not padded or centre-cropped: face crops are close to square
    and stretching keeps every pixel of the annotated box. Resampling is bilinear with PIL's
    antialiasing; large JPEGs are first decoded at a reduced DCT scale (`Image.draft`) that still
    leaves at least `image_size` pixels across the crop. EXIF orientation is ignored: boxes refer to
    the stored pixels.

    Raises BadImageError with reason "missing", "unreadable" (zero-byte, truncated, not an image,
    unsupported) or "bad bbox".
    """
    path = Path(path)
    if not path.is_file():
        raise BadImageError(path, MISSING)
    try:
        with Image.open(path) as im:
            full_w, full_h = im.size
            try:
                box = check_bbox(bbox, full_w, full_h)
            except ValueError as err:
                raise BadImageError(path, BAD_BBOX, str(err)) from None
            crop_w, crop_h = (box[2] - box[0], box[3] - box[1]) if box else (full_w, full_h)
            # Ask the JPEG decoder for the smallest scale that keeps the crop >= image_size.
            want = (math.ceil(image_size * full_w / crop_w), math.ceil(image_size * full_h / crop_h))
            im.draft("RGB", want)
            if box and im.size != (full_w, full_h):
                sx, sy = im.size[0] / full_w, im.size[1] / full_h
                box = (
                    int(box[0] * sx),
                    int(box[1] * sy),
                    max(int(box[0] * sx) + 1, round(box[2] * sx)),
                    max(int(box[1] * sy) + 1, round(box[3] * sy)),
                )
            face = im.convert("RGB")  # forces the full decode: truncated files fail here
            if box:
                face = face.crop(box)
            face = face.resize((image_size, image_size), Image.Resampling.BILINEAR)
            return np.asarray(face, dtype=np.uint8)
    except BadImageError:
        raise
    except Exception as err:  # PIL raises many types (OSError, SyntaxError, ValueError, ...) on bad bytes
        raise BadImageError(path, UNREADABLE, f"{type(err).__name__}: {err}") from None


def open_picture(path: str | Path) -> Image.Image:
    """A whole picture file as RGB, fully decoded (for the face front end, which needs every pixel to find or align
    a face). Raises BadImageError "missing" or "unreadable", as decode_face does."""
    path = Path(path)
    if not path.is_file():
        raise BadImageError(path, MISSING)
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except Exception as err:  # PIL raises many types on bad bytes
        raise BadImageError(path, UNREADABLE, f"{type(err).__name__}: {err}") from None
