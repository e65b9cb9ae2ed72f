"""Draw batches of faces: identity + AU intensities + nuisance -> RGB uint8 images.

Vectorised over the batch: every shape is a signed-distance field evaluated on (B, H, W) grids and
composited with analytic anti-aliasing (see sdf.py). Features left and right of the midline share
one evaluation through |x|.
"""

from __future__ import annotations

import numpy as np

from .deform import face_geometry
from .frame import HALF_VIEW, Box, Ellipse, Frame, HLine, Segment, View
from .sdf import band, box, coverage, ellipse, paint, shade


def _rgb(r, g, b):
    return np.float32([r, g, b])[:, None, None, None]


WHITE, PUPIL, LASH = _rgb(0.95, 0.94, 0.92), _rgb(0.03, 0.03, 0.03), _rgb(0.08, 0.06, 0.05)
MOUTH, TEETH = _rgb(0.22, 0.05, 0.05), _rgb(0.93, 0.92, 0.86)


def _col(v: np.ndarray) -> np.ndarray:
    """(B,) -> (B, 1, 1); colours (B, 3) -> (3, B, 1, 1)."""
    v = np.asarray(v, dtype=np.float32)
    return v[:, None, None] if v.ndim == 1 else np.ascontiguousarray(v.T)[:, :, None, None]


def _grids(n: int, size: int, nuis: dict) -> tuple[np.ndarray, ...]:
    """Image coordinates and the face coordinates seen through each image's pose."""
    lin = ((np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1) * HALF_VIEW
    gx, gy = np.meshgrid(lin, lin)
    gx, gy = gx[None], gy[None]
    ang, sc = _col(nuis["angle"]), _col(nuis["scale"])
    # cx varies along columns only and cy along rows only: work on (B, 1, W) and (B, H, 1) until they meet.
    cx, cy = lin[None, None, :] - _col(nuis["dx"]), lin[None, :, None] - _col(nuis["dy"])
    c, s = np.cos(ang), np.sin(ang)
    fx = c * cx + s * cy
    fx /= sc
    fy = -s * cx + c * cy
    fy /= sc
    pixel = (2 * HALF_VIEW / size) / sc
    return np.broadcast_to(gx, (n, size, size)), np.broadcast_to(gy, (n, size, size)), fx, fy, pixel


def _background(gx, gy, nuis) -> np.ndarray:
    """Two colours mixed by a sine grating (a plain backdrop when the style has no texture)."""
    theta, freq, phase = nuis["bg_dir"][:, None, None], nuis["bg_freq"][:, None, None], nuis["bg_phase"][:, None, None]
    # sin(a + b) from row and column terms: no full-frame sine.
    a = freq * gx[:, :1, :] * np.cos(theta)
    b = freq * gy[:, :, :1] * np.sin(theta) + phase
    wave = 0.5 + 0.5 * (np.sin(a) * np.cos(b) + np.cos(a) * np.sin(b))
    wave = np.where(freq > 0, wave, np.float32(0.5))
    wave += 0.15 * gy[:1, :, :1] / HALF_VIEW  # a row term: one value per row
    img = (_col(nuis["bg_b"]) - _col(nuis["bg_a"])) * wave
    img += _col(nuis["bg_a"])
    return img


def _head(f: Frame, g, nuis):
    px = f.px
    skin = _col(g["skin"])
    hair = _col(g["hair"])
    style = _col(g["hair_style"])
    rx, top, bot = _col(g["face_rx"]), _col(g["face_top"]), _col(g["face_bottom"])
    vol = _col(g["hair_volume"])
    long_hair = (style == 1).astype(np.float32)
    f.paint(Ellipse(0, 0.25 + 0.3 * _col(g["hair_len"]), rx + vol + 0.12, top + 0.35), hair, long_hair)
    f.paint(Box(0, 1.45, 0.38, 0.45), skin * 0.82)
    shirt = 1.0 - _col(nuis["bg_a"]) * 0.8
    f.paint(Ellipse(0, 2.15, 1.5, 0.7), shirt)
    eye_y = _col(g["eye_y"])
    f.paint(Ellipse(rx * 0.97, eye_y + 0.12, 0.11, 0.19, mirrored=True), skin * 0.9)
    # An egg: the half-width narrows towards the chin (taper <= 1 only widens |x / taper|, so the
    # ellipse's window holds it).
    stretch = 1 + px / np.minimum(rx, np.minimum(top, bot))
    img, x, y, ax = f.at(-rx * stretch, rx * stretch, -top * stretch, bot * stretch)
    ry = np.where(y < 0, top, bot)
    taper = 1 - _col(g["jaw_taper"]) * np.clip(y / bot, 0, 1) ** 2
    face = ellipse(x / taper, y, 0, 0, rx, ry)
    paint(img, coverage(face, px), skin)
    # Soft shadow towards the face's edge, so the head reads as round.
    shade(img, coverage(face, px) * (1 - coverage(face + 0.12, px * 6)), np.float32(0.12))
    img, x, y, ax = f.around(Ellipse(0, -0.2, rx + vol, top + vol - 0.05))
    hairline = np.where(style == 2, -0.98, -0.8) + 0.35 * (ax / rx) ** 2
    hair_cap = np.maximum(ellipse(x, y, 0, -0.2, rx + vol, top + vol - 0.05), y - hairline)
    paint(img, coverage(hair_cap, px), hair)


def _brows_and_forehead(f: Frame, part: View, g):
    px = f.px
    # Forehead lines: central ones for AU1, lateral ones for AU2.
    base = _col(g["brow_in_y"])
    for k in (0.09, 0.17):
        yy = _col(g["eye_y"]) - _col(g["eye_up"]) - _col(g["brow_gap"]) - k - 0.05
        f.shade(HLine(0, yy, 0.22, 0.012), 0.35 * _col(g["forehead_centre"]))
        f.shade(Segment(0.3, yy + 0.02, 0.58, yy + 0.04, 0.012), 0.35 * _col(g["forehead_side"]))
    f.shade(Segment(0.045, base + 0.03, 0.06, base + 0.16, 0.013), 0.45 * _col(g["glabella"]))
    # Brow: a thick stroke from its inner to its outer end, arched upwards.
    img, x, y, ax = part
    xin, xout = _col(g["brow_in_x"]), _col(g["brow_out"])
    t = np.clip((ax - xin) / (xout - xin), 0, 1)
    centre = base + (_col(g["brow_out_y"]) - base) * t - _col(g["brow_arch"]) * 4 * t * (1 - t)
    th = _col(g["brow_th"]) * (1.15 - 0.5 * t)
    d = np.maximum(np.abs(y - centre) - th, np.maximum(xin - ax, ax - xout))
    paint(img, coverage(d, px), _col(g["brow"]), 0.92)


def _eye_opening(v: View, g):
    """The eye's shape where the lids leave it open, and the lid curves, on a view."""
    ex, ey, erx = _col(g["eye_x"]), _col(g["eye_y"]), _col(g["eye_rx"])
    t = (v.ax - ex) / erx
    s = 1 - t * t
    y_up, y_lo = ey - _col(g["lid_up"]) * s, ey + _col(g["lid_lo"]) * s
    return np.maximum(band(v.y, y_up, y_lo), np.abs(t) - 1), t, s, y_up, y_lo


def _eyes(f: Frame, part: View, g):
    px = f.px
    img, x, y, ax = part
    ex, ey, erx = _col(g["eye_x"]), _col(g["eye_y"]), _col(g["eye_rx"])
    eye, t, s, y_up, y_lo = _eye_opening(part, g)
    # Crease above the upper lid and the cheek (AU6) below the eye.
    shade(
        img,
        coverage(np.abs(y - (ey - (_col(g["eye_up"]) + 0.05) * s)) - 0.012 + 0.5 * np.maximum(np.abs(t) - 1, 0), px),
        0.18,
    )
    lift = _col(g["cheek_lift"])
    f.shade(Segment(ex - 0.14, ey + 0.2 - 0.07 * lift, ex + 0.14, ey + 0.22 - 0.06 * lift, 0.014), 0.1 + 0.35 * lift)
    f.shade(Ellipse(ex + 0.04, ey + 0.13 - 0.06 * lift, 0.17, 0.07, soft=3, mirrored=True), -0.12 * lift)
    paint(img, coverage(eye, px), WHITE)
    # Iris and pupil, each clipped by the lids: the opening again, on their own small windows.
    for radius, colour in ((_col(g["iris_r"]), _col(g["iris"])), (0.45 * _col(g["iris_r"]), PUPIL)):
        cy = ey - 0.15 * _col(g["eye_up"])
        v = f.around(Ellipse(ex, cy, radius, radius, mirrored=True))
        disc = np.maximum(ellipse(v.ax, v.y, ex, cy, radius, radius), _eye_opening(v, g)[0])
        paint(v.img, coverage(disc, px), colour)
    lash = np.maximum(np.abs(y - y_up + 0.006) - 0.017, np.abs(t) - 1.08)
    paint(img, coverage(lash, px), LASH, 0.9)
    lower = np.maximum(np.abs(y - y_lo) - 0.011, np.abs(t) - 1.0)
    shade(img, coverage(lower, px), 0.5 * _col(g["lower_lid_line"]))
    crows = _col(g["crows_feet"])
    ox = ex + erx + 0.03
    for dy in (-0.05, 0.0, 0.05):
        f.shade(Segment(ox, ey + dy * 0.6, ox + 0.1, ey + dy * 1.6, 0.011), 0.45 * crows)


def _nose(f: Frame, part: View, g):
    ey, ny = _col(g["eye_y"]), _col(g["nose_y"])
    nw = _col(g["nose_w"])
    f.shade(Segment(0.07, ey + 0.05, nw * 0.75, ny - 0.06, 0.016, soft=2), 0.14)
    f.shade(Ellipse(0, ny + 0.05, nw * 0.9, 0.05, soft=3), 0.1)
    for k in (0.1, 0.16, 0.22):
        f.shade(HLine(0, ey + k, 0.1, 0.012), 0.5 * _col(g["nose_wrinkle"]))
    nostril = Ellipse(_col(g["nostril_x"]), _col(g["nostril_y"]), 0.045, 0.024, mirrored=True)
    f.paint(nostril, _col(g["skin"]) * 0.35, 0.9)


def _mouth(f: Frame, part: View, g):
    px = f.px
    img, x, y, ax = part
    mh, my, cdy = _col(g["mouth_half"]), _col(g["mouth_y"]), _col(g["corner_dy"])
    t = x / mh
    s = np.clip(1 - t * t, 0, 1)
    outside = np.abs(t) * mh - mh
    line = my + cdy * t * t
    sp = np.sqrt(s)
    o_top = line - _col(g["open_up"]) * s**0.7
    o_bot = line + _col(g["open_lo"]) * s**0.7
    lip_top = o_top - _col(g["lip_up_th"]) * sp - 0.012 * sp
    lip_bot = o_bot + _col(g["lip_lo_th"]) * sp
    nose_x = _col(g["nose_w"]) * 0.95
    fold_end = mh + 0.08
    fold = Segment(nose_x, _col(g["nose_y"]) - 0.02, fold_end, my + cdy + 0.05, 0.014, soft=1.5)
    f.shade(fold, 0.45 * _col(g["fold"]))
    bulge = _col(g["press_bulge"])
    shade(img, coverage(np.maximum(band(y, lip_top - 0.07, lip_top), outside), px * 3), -0.12 * bulge)
    shade(img, coverage(np.maximum(np.abs(y - lip_bot - 0.05) - 0.012, outside), px), 0.35 * bulge)
    lip = _col(g["lip"]) * (1 - _col(g["lip_pale"])) + _col(g["skin"]) * 0.9 * _col(g["lip_pale"])
    paint(img, coverage(np.maximum(band(y, lip_top, lip_bot), outside), px), lip)
    mouth = np.maximum(band(y, o_top - 0.008, o_bot + 0.008), outside + 0.01)
    paint(img, coverage(mouth, px), MOUTH)
    opening = _col(g["open_up"]) + _col(g["open_lo"])
    teeth = np.maximum(band(y, o_top, np.minimum(o_top + 0.06, o_bot - 0.004)), outside + 0.05)
    paint(img, coverage(teeth, px), TEETH, np.clip(opening * 25 - 0.3, 0, 1))
    corner_y = my + cdy
    f.shade(Ellipse(mh + 0.05, corner_y, 0.018, 0.045, mirrored=True), 0.55 * _col(g["dimple"]))
    f.shade(Segment(mh + 0.01, corner_y + 0.05, mh + 0.05, corner_y + 0.2, 0.013), 0.45 * _col(g["marionette"]))
    # The chin's furrow: a curve y = my + 0.16 + 0.05 t^2 over |x| < 0.7 mh, so t^2 < 0.49.
    v = f.at(-mh * 0.7, mh * 0.7, my + 0.16 - 0.014, my + 0.16 + 0.05 * 0.49 + 0.014, pad=f.pixel)
    tv = v.x / mh
    furrow = np.maximum(np.abs(v.y - (my + 0.16 + 0.05 * tv * tv)) - 0.014, np.abs(v.x) - mh * 0.7)
    shade(v.img, coverage(furrow, px), 0.5 * _col(g["chin_furrow"]))
    f.shade(Ellipse(0, my + 0.3, 0.17, 0.09, soft=3), 0.2 * _col(g["chin_furrow"]))


def _glasses(f: Frame, part: View, g):
    px = f.px
    on = _col(g["glasses"])
    ex, ey = _col(g["eye_x"]), _col(g["eye_y"])
    # A ring 0.018 either side of the ellipse's edge: its window is the ellipse grown by that much.
    grow = 1 + (0.018 + px) / 0.17
    v = f.at(ex - 0.23 * grow, ex + 0.23 * grow, ey - 0.17 * grow, ey + 0.17 * grow, mirrored=True)
    ring = np.abs(ellipse(v.ax, v.y, ex, ey, 0.23, 0.17)) - 0.018
    paint(v.img, coverage(ring, px), _col(g["glasses_colour"]), on)
    f.paint(Segment(0, ey - 0.03, ex - 0.22, ey - 0.03, 0.014), _col(g["glasses_colour"]), on)


def _finish(img, gx, gy, nuis, rng) -> np.ndarray:
    # The column and row terms on (B, 1, W) and (B, H, 1): the same sums, added where they meet.
    across = 1 + _col(nuis["light_x"]) * gx[:1, :1, :] / HALF_VIEW
    light = across + _col(nuis["light_y"]) * gy[:1, :, :1] / HALF_VIEW
    light *= _col(nuis["brightness"])
    gain = light * _col(nuis["cast"])
    img *= gain
    del gain
    blurred = np.flatnonzero(nuis["blur"] > 0)
    if len(blurred):  # a separable [1 2 1] / 4 filter, mixed in by each image's blur amount
        part = img[:, blurred]
        pad = np.pad(part, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        soft = (pad[:, :, :-2] + 2 * pad[:, :, 1:-1] + pad[:, :, 2:]) / 4
        soft = (soft[..., :-2] + 2 * soft[..., 1:-1] + soft[..., 2:]) / 4
        img[:, blurred] = part + (soft - part) * nuis["blur"][blurred][:, None, None]
    # Uniform noise with the drawn s.d. (cheaper to draw than Gaussian, and just as much a nuisance).
    noise = rng.random(img.shape, dtype=np.float32)
    noise -= 0.5
    img += noise * (np.sqrt(12) * _col(nuis["noise"]))  # float64 scale: the sum is rounded once, as before
    del noise
    np.clip(img, 0, 1, out=img)
    img *= 255
    img += 0.5
    return img.astype(np.uint8).transpose(1, 2, 3, 0)


# Face-unit boxes (x0, x1, y0, y1) outside which a part's curves never draw, for any identity or AU
# (its simple shapes take windows of their own, frame.py).
PART_BOXES = {
    "brows": (-0.8, 0.8, -1.05, -0.2),
    "eyes": (-0.72, 0.72, -0.42, 0.2),
    "nose": (-0.32, 0.32, -0.2, 0.48),
    "mouth": (-0.72, 0.72, 0.3, 1.12),
    "glasses": (-0.68, 0.68, -0.42, 0.1),
}


def render_faces(ident: dict, intensity: np.ndarray, nuis: dict, size: int, rng: np.random.Generator) -> np.ndarray:
    """(B,) identities, (B, 17) AU intensities 0-5, (B,) nuisance -> (B, size, size, 3) uint8."""
    n = len(intensity)
    g = face_geometry(ident, intensity)
    gx, gy, x, y, px = _grids(n, size, nuis)
    img = _background(gx, gy, nuis).astype(np.float32, copy=False)
    f = Frame(img, x, y, px, nuis, size)
    _head(f, g, nuis)
    parts = [("brows", _brows_and_forehead), ("eyes", _eyes), ("nose", _nose), ("mouth", _mouth)]
    if g["glasses"].any():
        parts.append(("glasses", _glasses))
    for name, draw in parts:
        draw(f, f.at(*PART_BOXES[name]), g)
    if nuis["occ"].any():
        occ = box(gx, gy, _col(nuis["occ_x"]), _col(nuis["occ_y"]), _col(nuis["occ_w"]), _col(nuis["occ_h"]))
        paint(img, coverage(occ, 2 * HALF_VIEW / size), _col(nuis["occ_colour"]), _col(nuis["occ"]))
    return _finish(img, gx, gy, nuis, rng)
