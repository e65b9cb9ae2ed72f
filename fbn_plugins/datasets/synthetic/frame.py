"""The batch's canvas and face coordinates, painted one shape's window at a time.

Where a shape's coverage is zero, painting and shading leave the canvas exactly as it was (sdf.py,
`covered_window`). So a shape needs evaluating only in the pixel rows and columns that hold its
face-unit bounding box in some image of the batch: most features are a few rows of a 64-row face.
The boxes come from each shape's own parameters for this batch (never a fixed guess), widened by
how far its anti-aliased edge reaches, so every pixel it covers is inside its window; a mirrored
pair away from the midline gets one window per side. The images are byte for byte those of
evaluating every shape on the whole frame (tests/test_synthetic_render_fast.py).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import sdf

HALF_VIEW = 1.45  # the image spans [-HALF_VIEW, HALF_VIEW] face units at scale 1
FULL_FRAME = False  # True: every window is the whole image (the tests' reference for the windows)


class View(NamedTuple):
    img: np.ndarray  # (3, B, h, w) view of the canvas
    x: np.ndarray  # (B, h, w) face coordinates
    y: np.ndarray
    ax: np.ndarray  # |x|: features left and right of the midline share one evaluation


# Shapes: their distance (sdf.py) and a face-unit box holding where it is below `reach` (in |x| when
# mirrored). Parameters are numbers or (B, 1, 1) arrays.


class Ellipse(NamedTuple):
    cx: object
    cy: object
    rx: object
    ry: object
    soft: float = 1.0  # the anti-aliased edge's width, pixels
    mirrored: bool = False

    def distance(self, x, y):
        return sdf.ellipse(x, y, self.cx, self.cy, self.rx, self.ry)

    def box(self, reach):
        # The distance is (q - 1) min(rx, ry): its edge reaches max / min times further along the long axis.
        stretch = 1 + reach / np.minimum(self.rx, self.ry)
        hx, hy = self.rx * stretch, self.ry * stretch
        return self.cx - hx, self.cx + hx, self.cy - hy, self.cy + hy


class Segment(NamedTuple):
    """A capsule, by default a pair mirrored across the midline."""

    x0: object
    y0: object
    x1: object
    y1: object
    half_width: object
    soft: float = 1.0
    mirrored: bool = True

    def distance(self, x, y):
        return sdf.segment(x, y, self.x0, self.y0, self.x1, self.y1, self.half_width)

    def box(self, reach):
        r = reach + self.half_width
        xs, ys = (self.x0, self.x1), (self.y0, self.y1)
        return np.minimum(*xs) - r, np.maximum(*xs) + r, np.minimum(*ys) - r, np.maximum(*ys) + r


class HLine(NamedTuple):
    """A horizontal stroke centred on the midline's side `cx`."""

    cx: object
    cy: object
    half_length: object
    half_width: object
    soft: float = 1.0
    mirrored: bool = False

    def distance(self, x, y):
        return sdf.hline(x, y, self.cx, self.cy, self.half_length, self.half_width)

    def box(self, reach):
        hx, hy = self.half_length + reach, self.half_width + reach
        return self.cx - hx, self.cx + hx, self.cy - hy, self.cy + hy


class Box(NamedTuple):
    cx: object
    cy: object
    hx: object
    hy: object
    soft: float = 1.0
    mirrored: bool = False

    def distance(self, x, y):
        return sdf.box(x, y, self.cx, self.cy, self.hx, self.hy)

    def box(self, reach):
        return (
            self.cx - self.hx - reach,
            self.cx + self.hx + reach,
            self.cy - self.hy - reach,
            self.cy + self.hy + reach,
        )


def _lo(v) -> float:
    return float(np.min(v))


def _hi(v) -> float:
    return float(np.max(v))


class Frame:
    def __init__(self, img: np.ndarray, x: np.ndarray, y: np.ndarray, px: np.ndarray, nuis: dict, size: int):
        self.img, self.x, self.y, self.ax = img, x, y, np.abs(x)
        self.px, self.size = px, size
        self.pixel = float(np.max(px))  # the largest pixel in the batch, face units
        # face -> image: image = scale * R(angle) face + shift, one (B, 1) row per image
        ang, scale = nuis["angle"][:, None], nuis["scale"][:, None]
        self._c, self._s = np.cos(ang) * scale, np.sin(ang) * scale
        self._dx, self._dy = nuis["dx"][:, None], nuis["dy"][:, None]

    def paint(self, shape, colour, opacity=1.0) -> None:
        for img, cov, pick in self._cover(shape, opacity):
            sdf.paint(img, cov, pick(colour), pick(opacity))

    def shade(self, shape, amount) -> None:
        for img, cov, pick in self._cover(shape, amount):
            sdf.shade(img, cov, pick(amount))

    def around(self, shape) -> View:
        """Views of one window holding the shape, for distances built on it (both sides if mirrored)."""
        return self.at(*shape.box(shape.soft * self.pixel), mirrored=shape.mirrored)

    def at(self, x0, x1, y0, y1, *, mirrored: bool = False, pad: float = 0.0) -> View:
        """Views of the window holding x0 < x < x1, y0 < y < y1 in every image (numbers or (B, 1, 1)
        arrays), `pad` face units wider; `mirrored`: the box is in |x| and the window holds both sides."""
        x0, x1, y0, y1 = _lo(x0) - pad, _hi(x1) + pad, _lo(y0) - pad, _hi(y1) + pad
        if mirrored:
            x1 = max(abs(x0), abs(x1))
            x0 = -x1
        return self._view(*self._window(x0, x1, y0, y1))

    def _cover(self, shape, gate):
        """(canvas, coverage, pick) per window of the shape, on the images where `gate` (its opacity or
        amount) is not zero: elsewhere painting adds (colour - canvas) * 0 and shading multiplies by 1,
        so those images would come out exactly as they went in. `pick` selects the same images from a
        per-image value; the canvas is written back after each window is drawn."""
        n = len(self.px)
        idx = _showing(gate, n)
        if idx is not None and not len(idx):
            return
        pick = (lambda v: v) if idx is None else (lambda v: _pick(v, idx, n))  # noqa: E731
        shape = shape._make(pick(v) for v in shape)
        # Coverage reaches soft / 2 pixels past the edge: the box takes twice that, to spare.
        x0, x1, y0, y1 = shape.box(shape.soft * self.pixel)
        x0, x1, y0, y1 = _lo(x0), _hi(x1), _lo(y0), _hi(y1)
        if not shape.mirrored:
            windows = [self._window(x0, x1, y0, y1, idx)]
        elif x0 <= 0:  # a box across the midline: one window holds both sides
            windows = [self._window(-max(-x0, x1), max(-x0, x1), y0, y1, idx)]
        else:
            windows = _disjoint(self._window(-x1, -x0, y0, y1, idx), self._window(x0, x1, y0, y1, idx))
        pixel = pick(self.px if shape.soft == 1 else self.px * shape.soft)  # px * 1.0 would be a copy
        for rows, cols in windows:
            if idx is None:
                v = self._view(rows, cols)
            else:
                v = View(self.img[:, idx, rows, cols], *(a[idx, rows, cols] for a in (self.x, self.y, self.ax)))
            yield v.img, sdf.coverage(shape.distance(v.ax if shape.mirrored else v.x, v.y), pixel), pick
            if idx is not None:
                self.img[:, idx, rows, cols] = v.img

    def _view(self, rows: slice, cols: slice) -> View:
        return View(self.img[:, :, rows, cols], self.x[:, rows, cols], self.y[:, rows, cols], self.ax[:, rows, cols])

    def _window(self, x0: float, x1: float, y0: float, y1: float, idx=None) -> tuple[slice, slice]:
        """Pixel rows and columns holding the face-unit box in every image (or images `idx`), 2 pixels to spare."""
        if FULL_FRAME:
            return slice(0, self.size), slice(0, self.size)
        fx = np.array([x0, x1, x0, x1], dtype=np.float32)[None]
        fy = np.array([y0, y0, y1, y1], dtype=np.float32)[None]
        c, s, dx, dy = (self._c, self._s, self._dx, self._dy) if idx is None else (
            self._c[idx], self._s[idx], self._dx[idx], self._dy[idx])  # fmt: skip
        ix = c * fx - s * fy + dx
        iy = s * fx + c * fy + dy
        to_px = lambda v: (v / HALF_VIEW + 1) / 2 * self.size - 0.5  # noqa: E731
        clamp = lambda v: min(max(v, 0), self.size)  # noqa: E731
        c0, c1 = int(np.floor(to_px(ix.min()))) - 2, int(np.ceil(to_px(ix.max()))) + 3
        r0, r1 = int(np.floor(to_px(iy.min()))) - 2, int(np.ceil(to_px(iy.max()))) + 3
        return slice(clamp(r0), clamp(r1)), slice(clamp(c0), clamp(c1))


SUBSET_BELOW = 0.75  # draw on a subset of the images when fewer than this share show the shape


def _showing(gate, n: int):
    """Indices of the images whose opacity or amount is not zero; None: all of them (or nearly)."""
    if not isinstance(gate, np.ndarray) or gate.shape != (n, 1, 1) or FULL_FRAME:
        return None
    idx = np.flatnonzero(gate.reshape(n))
    return None if len(idx) >= SUBSET_BELOW * n else idx


def _pick(v, idx: np.ndarray, n: int):
    """The rows `idx` of a per-image value: (B, 1, 1) parameters, (3, B, 1, 1) colours; others as they are."""
    if isinstance(v, np.ndarray):
        if v.ndim == 3 and v.shape[0] == n:
            return v[idx]
        if v.ndim == 4 and v.shape[1] == n:
            return v[:, idx]
    return v


def _disjoint(a: tuple[slice, slice], b: tuple[slice, slice]) -> list[tuple[slice, slice]]:
    """Both windows if no pixel is in both (a pixel must not be painted twice), else one holding both."""
    (ra, ca), (rb, cb) = a, b
    apart = lambda p, q: p.stop <= q.start or q.stop <= p.start  # noqa: E731
    if apart(ra, rb) or apart(ca, cb):
        return [a, b]
    return [
        (slice(min(ra.start, rb.start), max(ra.stop, rb.stop)), slice(min(ca.start, cb.start), max(ca.stop, cb.stop)))
    ]
