"""Signed-distance primitives and layer painting on batches of faces.

Every array is (B, H, W) (coordinates, distances, coverage) or (B, 1, 1) (one value per face), float32.
Distances are in face units; `coverage` turns a distance into anti-aliased pixel coverage with the
face's pixel size, so shapes get smooth edges without supersampling (that is where the speed comes from).
"""

from __future__ import annotations

import numpy as np


def ellipse(x, y, cx, cy, rx, ry):
    """Approximate signed distance to an axis-aligned ellipse (exact for circles)."""
    q = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
    return (q - 1.0) * np.minimum(rx, ry)


def segment(x, y, x0, y0, x1, y1, half_width):
    """Distance to a thick line segment (a capsule)."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy + 1e-9), 0.0, 1.0)
    return np.hypot(x - x0 - t * dx, y - y0 - t * dy) - half_width


def hline(x, y, cx, cy, half_length, half_width):
    """A horizontal stroke: cheaper than `segment` for wrinkles and creases."""
    return np.maximum(np.abs(y - cy) - half_width, np.abs(x - cx) - half_length)


def band(y, top, bottom):
    """Vertical-distance approximation of the region top < y < bottom (curves given per pixel)."""
    return np.maximum(top - y, y - bottom)


def box(x, y, cx, cy, hx, hy):
    return np.maximum(np.abs(x - cx) - hx, np.abs(y - cy) - hy)


def coverage(d, pixel):
    """Anti-aliased coverage of the inside (d < 0) for pixels `pixel` face units wide."""
    return np.clip(0.5 - d / pixel, 0.0, 1.0)


def paint(canvas, cov, color, opacity=1.0):
    """Composite a flat colour (3, B, 1, 1) over `canvas` (3, B, H, W) in place.

    Channels come first so that every operation runs over contiguous rows (much faster than a
    trailing axis of length 3)."""
    alpha = cov * opacity
    canvas += (color - canvas) * alpha


def shade(canvas, cov, amount):
    """Darken (amount > 0) or lighten (amount < 0) where covered; amount is (B, 1, 1)."""
    canvas *= 1.0 - cov * amount
