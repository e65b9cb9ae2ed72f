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
    rx, ry = x - x0, y - y0  # computed once: the projection and the distance both start from them
    t = rx * dx
    t += ry * dy
    t /= dx * dx + dy * dy + 1e-9
    np.clip(t, 0.0, 1.0, out=t)
    rx -= t * dx
    ry -= t * dy
    dist = np.hypot(rx, ry, out=rx)
    dist -= half_width
    return dist


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
    cov = d / pixel
    np.subtract(0.5, cov, out=cov)  # the same operations as clip(0.5 - d / pixel), without the temporaries
    return np.clip(cov, 0.0, 1.0, out=cov)


def covered_window(cov) -> tuple[slice, slice] | None:
    """The rows and columns outside which `cov` (B, H, W) is zero in every image (None: zero everywhere).

    Where coverage is zero, painting adds (colour - canvas) * 0 and shading multiplies by 1 - 0: the canvas
    stays exactly as it was, so only this window needs the work."""
    seen = cov.max(axis=0) > 0
    rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    if not len(rows):
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def paint(canvas, cov, color, opacity=1.0):
    """Composite a flat colour (3, B, 1, 1) over `canvas` (3, B, H, W) in place.

    Channels come first so that every operation runs over contiguous rows (much faster than a
    trailing axis of length 3)."""
    window = covered_window(cov)
    if window is None:
        return
    canvas, cov = canvas[(slice(None), slice(None), *window)], cov[(slice(None), *window)]
    alpha = cov if isinstance(opacity, float) and opacity == 1.0 else cov * opacity  # x * 1.0 is x exactly
    change = color - canvas
    if np.result_type(change, alpha) == change.dtype:
        change *= alpha  # in place only where it rounds as the product would
    else:
        change = change * alpha
    canvas += change


def shade(canvas, cov, amount):
    """Darken (amount > 0) or lighten (amount < 0) where covered; amount is (B, 1, 1)."""
    window = covered_window(cov)
    if window is None:
        return
    canvas, cov = canvas[(slice(None), slice(None), *window)], cov[(slice(None), *window)]
    factor = cov * amount
    np.subtract(1.0, factor, out=factor)
    canvas *= factor
