"""From a face in a picture to the square crop the network sees: a box crop, or a similarity alignment that puts
the eye centres where a canonical template has them. The same two functions serve every database and
`fbn-bench predict`, so a model sees the same framing in training and in use."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

# Eye centres in the aligned crop, as fractions of its side. Chosen to frame a face as a box crop of a detected
# face does (crop_box with the default margin puts the eyes of a frontal face near here), so that a model
# trained on one framing is not far from home on the other.
EYE_TEMPLATE = ((0.36, 0.41), (0.64, 0.41))

CROPS = ("box", "align")


def box_crop(image: Image.Image, box: Sequence[float], size: int) -> np.ndarray:
    """`box` (x, y, w, h), any part outside the picture black, stretched to size x size (antialiased)."""
    x, y, w, h = (float(v) for v in box)
    region = image.crop((round(x), round(y), round(x + w), round(y + h)))
    return np.asarray(region.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def align_crop(image: Image.Image, eyes: np.ndarray, size: int) -> np.ndarray:
    """A size x size crop whose eye centres land on EYE_TEMPLATE: the similarity transform (rotation, one scale,
    shift) that maps `eyes` (2, 2), image-left eye first, there. A large reduction first shrinks the picture by
    an integer factor with a box filter, so the bilinear warp does not alias."""
    src = np.asarray(eyes, dtype=np.float64)
    dst = np.asarray(EYE_TEMPLATE, dtype=np.float64) * size
    d_src, d_dst = src[1] - src[0], dst[1] - dst[0]
    span = math.hypot(*d_src)
    if not np.isfinite(src).all() or span < 1e-6:
        raise ValueError(f"eye centres {src.tolist()} do not define a face (they coincide or are not numbers)")
    scale = math.hypot(*d_dst) / span  # output pixels per input pixel
    factor = max(1, int(1 / scale / 2))  # keep the warp's own reduction at most 2x
    if factor > 1:
        image = image.reduce(factor)
        src, scale = src / factor, scale * factor
    angle = math.atan2(d_dst[1], d_dst[0]) - math.atan2(d_src[1], d_src[0])
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    # PIL's AFFINE data maps each output pixel (u, v) to the input point (a u + b v + c, d u + e v + f): the
    # inverse of p' = scale * R (p - src0) + dst0, i.e. p = R^T (p' - dst0) / scale + src0.
    a, b = cos, sin
    d, e = -sin, cos
    c = src[0][0] - a * dst[0][0] - b * dst[0][1]
    f = src[0][1] - d * dst[0][0] - e * dst[0][1]
    warped = image.transform((size, size), Image.Transform.AFFINE, (a, b, c, d, e, f), Image.Resampling.BILINEAR)
    return np.asarray(warped, dtype=np.uint8)
