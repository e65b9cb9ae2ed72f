"""The renderer's fast steps give exactly the bytes of the straightforward versions they replaced.

Generated images feed content-addressed data keys, so a faster step must round every value as before:
each test runs the old formula (kept here) beside the library's step on random inputs, np.array_equal.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fbn_plugins.datasets.synthetic import frame, render, sdf
from fbn_plugins.datasets.synthetic.style import LAB, WILD, sample_nuisance

HALF_VIEW = render.HALF_VIEW


def _col(v):
    v = np.asarray(v, dtype=np.float32)
    return v[:, None, None] if v.ndim == 1 else np.ascontiguousarray(v.T)[:, :, None, None]


def _reference_coverage(d, pixel):
    return np.clip(0.5 - d / pixel, 0.0, 1.0)


def _reference_paint(canvas, cov, color, opacity=1.0):
    canvas += (color - canvas) * (cov * opacity)


def _reference_shade(canvas, cov, amount):
    canvas *= 1.0 - cov * amount


def _reference_segment(x, y, x0, y0, x1, y1, half_width):
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy + 1e-9), 0.0, 1.0)
    return np.hypot(x - x0 - t * dx, y - y0 - t * dy) - half_width


def _reference_grids(n, size, nuis):
    lin = ((np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1) * HALF_VIEW
    gx, gy = np.meshgrid(lin, lin)
    gx, gy = gx[None], gy[None]
    ang, sc = _col(nuis["angle"]), _col(nuis["scale"])
    cx, cy = gx - _col(nuis["dx"]), gy - _col(nuis["dy"])
    c, s = np.cos(ang), np.sin(ang)
    return (c * cx + s * cy) / sc, (-s * cx + c * cy) / sc


def _reference_background(gx, gy, nuis):
    theta, freq, phase = nuis["bg_dir"][:, None, None], nuis["bg_freq"][:, None, None], nuis["bg_phase"][:, None, None]
    a = freq * gx[:, :1, :] * np.cos(theta)
    b = freq * gy[:, :, :1] * np.sin(theta) + phase
    wave = 0.5 + 0.5 * (np.sin(a) * np.cos(b) + np.cos(a) * np.sin(b))
    wave = np.where(freq > 0, wave, np.float32(0.5)) + 0.15 * gy / HALF_VIEW
    return (_col(nuis["bg_a"]) + (_col(nuis["bg_b"]) - _col(nuis["bg_a"])) * wave).astype(np.float32)


def _reference_finish(img, gx, gy, nuis, rng):
    light = _col(nuis["brightness"]) * (
        1 + _col(nuis["light_x"]) * gx / HALF_VIEW + _col(nuis["light_y"]) * gy / HALF_VIEW
    )
    img *= light * _col(nuis["cast"])
    blurred = np.flatnonzero(nuis["blur"] > 0)
    if len(blurred):
        part = img[:, blurred]
        pad = np.pad(part, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        soft = (pad[:, :, :-2] + 2 * pad[:, :, 1:-1] + pad[:, :, 2:]) / 4
        soft = (soft[..., :-2] + 2 * soft[..., 1:-1] + soft[..., 2:]) / 4
        img[:, blurred] = part + (soft - part) * nuis["blur"][blurred][:, None, None]
    img += (rng.random(img.shape, dtype=np.float32) - 0.5) * (np.sqrt(12) * _col(nuis["noise"]))
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 3, 0)


def _shape_distance(rng, b, h, w, dtype):
    """A random blob per image: negative inside, mostly far outside, so coverage has zero regions."""
    yy, xx = np.mgrid[0:h, 0:w].astype(dtype)
    cy, cx = rng.uniform(0, h, (b, 1, 1)), rng.uniform(0, w, (b, 1, 1))
    r = rng.uniform(0, 0.3 * min(h, w), (b, 1, 1))
    return (np.hypot(yy - cy, xx - cx) - r).astype(dtype) * dtype(0.05)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_coverage_paint_and_shade_match_the_plain_formulas(seed, dtype):
    rng = np.random.default_rng(seed)
    b, h, w = 5, int(rng.integers(3, 40)), int(rng.integers(3, 40))
    d = _shape_distance(rng, b, h, w, dtype)
    if seed == 0:
        d[:] = 1.0  # nothing covered
    pixel = rng.uniform(0.01, 0.1, (b, 1, 1)).astype(np.float32)
    cov = sdf.coverage(d, pixel)
    assert np.array_equal(cov, _reference_coverage(d, pixel)) and cov.dtype == _reference_coverage(d, pixel).dtype
    canvas = rng.random((3, b, h + 4, w + 2), dtype=np.float32)
    color = rng.random((3, b, 1, 1), dtype=np.float32)
    opacities = (1.0, 0.9, rng.random((b, 1, 1), dtype=np.float32))
    for opacity in opacities:
        mine, theirs = canvas.copy(), canvas.copy()
        sdf.paint(mine[:, :, 2:-2, 1:-1], cov, color, opacity)  # on a window view, as the parts paint
        _reference_paint(theirs[:, :, 2:-2, 1:-1], cov, color, opacity)
        assert np.array_equal(mine, theirs)
    for amount in (0.18, -0.12 * rng.random((b, 1, 1), dtype=np.float32), rng.random((b, 1, 1), dtype=np.float32)):
        mine, theirs = canvas.copy(), canvas.copy()
        sdf.shade(mine[:, :, 2:-2, 1:-1], cov, amount)
        _reference_shade(theirs[:, :, 2:-2, 1:-1], cov, amount)
        assert np.array_equal(mine, theirs)


@pytest.mark.parametrize("style", [WILD, LAB])
@pytest.mark.parametrize("size", [17, 64, 96])
def test_grids_background_and_finish_match_the_plain_formulas(style, size):
    rng = np.random.default_rng(size)
    n = 9
    nuis = sample_nuisance(rng, n, style)
    nuis["blur"][::3] = 0.6  # some blurred images whatever the style
    gx, gy, x, y, px = render._grids(n, size, nuis)
    fx, fy = _reference_grids(n, size, nuis)
    assert np.array_equal(x, fx) and np.array_equal(y, fy) and x.dtype == fx.dtype
    img = render._background(gx, gy, nuis).astype(np.float32, copy=False)
    assert np.array_equal(img, _reference_background(gx, gy, nuis))
    mine = render._finish(img.copy(), gx, gy, nuis, np.random.default_rng(3))
    theirs = _reference_finish(img.copy(), gx, gy, nuis, np.random.default_rng(3))
    assert mine.dtype == np.uint8 and np.array_equal(mine, theirs)


@pytest.mark.parametrize("seed", range(4))
def test_segment_matches_the_plain_formula(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(2, 6, 40, 33)).astype(np.float32)
    ends = [rng.normal(size=(6, 1, 1)).astype(np.float32) for _ in range(4)]
    ends[2] = ends[0] if seed == 0 else ends[2]  # a vertical segment
    window = (slice(None), slice(3, 30), slice(2, 25))  # a view, as a part's window passes it
    for half_width in (0.012, rng.random((6, 1, 1), dtype=np.float32)):
        mine = sdf.segment(np.abs(x)[window], y[window], *ends, half_width)
        theirs = _reference_segment(np.abs(x)[window], y[window], *ends, half_width)
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)
        assert np.array_equal(
            sdf.segment(x, y, 0.3, ends[1], 0.58, ends[3], half_width),
            _reference_segment(x, y, 0.3, ends[1], 0.58, ends[3], half_width),
        )


def _batch(seed: int, n: int, style, size: int):
    from fbn_plugins.datasets.synthetic.identity import sample_identities

    rng = np.random.default_rng(seed)
    ident = sample_identities(rng, n, glasses_rate=0.5)
    intensity = rng.uniform(0, 5, (n, 17)).astype(np.float32)
    intensity[rng.uniform(size=intensity.shape) < 0.6] = 0  # AUs off in most faces, as in the data
    nuis = sample_nuisance(rng, n, style)
    return ident, intensity, nuis, size


TILTED = dataclasses.replace(WILD, rotation_deg=25.0, shift=0.2, scale=(0.7, 1.3), occlusion_rate=0.5)


@pytest.mark.parametrize(
    ("seed", "n", "style", "size"),
    [
        (0, 64, WILD, 64),
        (1, 64, LAB, 64),
        (2, 64, TILTED, 64),
        (3, 5, TILTED, 112),
        (4, 1, WILD, 48),
        (5, 64, WILD, 112),
    ],
)
def test_shape_windows_give_the_bytes_of_drawing_on_the_whole_frame(monkeypatch, seed, n, style, size):
    """Every shape drawn only in its window (and on the images that show it) equals every shape drawn on
    every pixel of every image: a window that missed a covered pixel, a pixel painted twice by a mirrored
    pair's two windows, or a skipped image that should have changed would each change some byte."""
    ident, intensity, nuis, size = _batch(seed, n, style, size)
    windowed = render.render_faces(ident, intensity, nuis, size, np.random.default_rng(seed))
    monkeypatch.setattr(frame, "FULL_FRAME", True)
    whole = render.render_faces(ident, intensity, nuis, size, np.random.default_rng(seed))
    assert windowed.shape == (n, size, size, 3) and np.array_equal(windowed, whole)


def test_a_mirrored_pair_gets_one_window_per_side_only_when_they_do_not_overlap():
    rows = slice(10, 20)
    left, right = (rows, slice(5, 15)), (rows, slice(30, 40))
    assert frame._disjoint(left, right) == [left, right]
    touching = (rows, slice(14, 40))  # shares column 14 with `left`
    assert frame._disjoint(left, touching) == [(rows, slice(5, 40))]
    assert frame._disjoint((slice(0, 5), slice(5, 15)), (slice(5, 9), slice(10, 40))) == [
        (slice(0, 5), slice(5, 15)),
        (slice(5, 9), slice(10, 40)),
    ]
