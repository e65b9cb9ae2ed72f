"""Action units as deformations: identity geometry + AU intensities -> the geometry that gets drawn.

Each AU moves the features it moves on a real face (after the FACS manual's appearance changes), scaled
by intensity / 5, so intensity 0 leaves the identity's neutral face and 5 is the strongest version:

AU1 inner brow up (+ central forehead lines)    AU2 outer brow up (+ lateral forehead lines)
AU4 brows down and together (+ vertical furrows) AU5 upper lid up (white above the iris)
AU6 cheeks up, lower lid pushed up, crow's feet  AU7 lids tightened (lower lid up, narrower eye)
AU9 nose wrinkles, nostrils up, deep folds       AU10 upper lip up (upper teeth), deep folds
AU12 lip corners up and out                      AU14 dimples, corners tightened inward
AU15 lip corners down (+ lines below them)       AU17 chin up: lower lip pushed up, chin furrow
AU20 lips stretched sideways and thinned         AU23 lips tightened: narrower, thinner
AU24 lips pressed: thin, with bulges around      AU25 lips part
AU26 jaw drops: wide opening, longer face
"""

from __future__ import annotations

import numpy as np

from fbn_bench.tasks import AUS


def au_amounts(intensity: np.ndarray) -> dict[int, np.ndarray]:
    """(B, 17) intensities 0-5 in canonical AU order -> AU number -> amount in [0, 1]."""
    amount = np.clip(intensity.astype(np.float32) / 5.0, 0.0, 1.0)
    return {au: amount[:, i] for i, au in enumerate(AUS)}


def face_geometry(ident: dict[str, np.ndarray], intensity: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image geometry (name -> (B,) arrays) of the face to draw."""
    a = au_amounts(intensity)
    g = dict(ident)
    g["face_bottom"] = ident["face_bottom"] + 0.17 * a[26] - 0.03 * a[17]

    # Brows and forehead.
    base = ident["eye_y"] - ident["eye_up"] - ident["brow_gap"]
    g["brow_in_y"] = base - 0.15 * a[1] + 0.11 * a[4] + 0.02 * a[9]
    g["brow_out_y"] = base + 0.02 - 0.15 * a[2] + 0.05 * a[4] - 0.03 * a[1]
    g["brow_in_x"] = ident["brow_in"] - 0.055 * a[4] + 0.01 * a[1]
    g["brow_arch"] = ident["brow_arch"] + 0.03 * a[2] - 0.025 * a[4]
    g["forehead_centre"] = 0.75 * a[1]
    g["forehead_side"] = 0.75 * a[2]
    g["glabella"] = 0.85 * a[4] + 0.3 * a[9]

    # Eyes: lid openings above and below the eye line.
    g["lid_up"] = np.maximum(
        ident["eye_up"] * (1 + 1.0 * a[5] - 0.5 * a[7] - 0.3 * a[6] - 0.2 * a[4] - 0.2 * a[9]), 0.012
    )
    g["lid_lo"] = np.maximum(ident["eye_lo"] * (1 + 0.25 * a[5] - 0.75 * a[7] - 0.6 * a[6] - 0.25 * a[9]), 0.006)
    g["lower_lid_line"] = 0.25 + 0.6 * a[7]
    g["iris_r"] = 0.85 * ident["eye_up"]
    g["cheek_lift"] = a[6] + 0.35 * a[12]
    g["crows_feet"] = 0.8 * a[6] + 0.25 * a[7]

    # Nose.
    g["nostril_y"] = ident["nose_y"] - 0.06 * a[9] - 0.035 * a[10]
    g["nostril_x"] = ident["nose_w"] * (0.55 + 0.15 * a[9] + 0.06 * a[10])
    g["nose_wrinkle"] = 0.95 * a[9]

    # Mouth.
    g["mouth_half"] = ident["mouth_w"] * (
        1 + 0.32 * a[20] + 0.14 * a[12] - 0.2 * a[23] - 0.08 * a[24] - 0.1 * a[14] - 0.06 * a[26]
    )
    g["corner_dy"] = -0.15 * a[12] + 0.13 * a[15] + 0.03 * a[20] + 0.07 * a[17] - 0.025 * a[14]
    g["mouth_y"] = ident["mouth_y"] - 0.05 * a[17] + 0.02 * a[26] - 0.01 * a[10]
    closed = (1 - 0.85 * a[24]) * (1 - 0.5 * a[23])
    g["open_up"] = (0.018 * a[25] + 0.05 * a[26]) * closed + 0.075 * a[10]
    g["open_lo"] = (0.04 * a[25] + 0.2 * a[26]) * closed
    thin = np.clip(1 - 0.6 * a[24] - 0.5 * a[23] - 0.3 * a[20] - 0.15 * a[12], 0.25, 1)
    g["lip_up_th"] = ident["lip_up"] * thin
    g["lip_lo_th"] = ident["lip_lo"] * np.clip(thin + 0.3 * a[17], 0.25, 1.3)
    g["lip_pale"] = 0.45 * a[23] + 0.35 * a[24]
    g["press_bulge"] = 0.6 * a[24]
    g["dimple"] = 0.9 * a[14]
    g["marionette"] = 0.7 * a[15]
    g["chin_furrow"] = 0.8 * a[17]
    g["fold"] = 0.12 + 0.6 * np.maximum.reduce([a[12], a[10], 0.9 * a[9], 0.4 * a[6], 0.4 * a[14]])
    return g
