"""Who a subject is: face shape, colouring and feature geometry, fixed across all of their images.

Units are face units: the image spans [-1.35, 1.35] in x and y (y points down), the face's half-width
is about 0.9. Values are drawn once per subject from its own seed, so a subject looks the same in every
database split and every rerun, and identities never leak between subject-disjoint splits.
"""

from __future__ import annotations

import numpy as np

SKIN_TONES = np.array(
    [
        [0.97, 0.82, 0.71],
        [0.90, 0.70, 0.55],
        [0.78, 0.57, 0.40],
        [0.58, 0.40, 0.27],
        [0.38, 0.26, 0.18],
    ],
    dtype=np.float32,
)
HAIR_COLOURS = np.array(
    [
        [0.07, 0.06, 0.05],
        [0.22, 0.14, 0.08],
        [0.42, 0.28, 0.15],
        [0.82, 0.67, 0.40],
        [0.55, 0.22, 0.09],
        [0.62, 0.62, 0.62],
    ],
    dtype=np.float32,
)
IRIS_COLOURS = np.array(
    [
        [0.30, 0.17, 0.08],
        [0.12, 0.08, 0.05],
        [0.28, 0.45, 0.68],
        [0.30, 0.46, 0.30],
    ],
    dtype=np.float32,
)

# (low, high) of the uniform draws, in face units.
GEOMETRY_RANGES: dict[str, tuple[float, float]] = {
    "face_rx": (0.80, 0.95),
    "face_top": (1.00, 1.15),
    "face_bottom": (1.05, 1.22),
    "jaw_taper": (0.15, 0.40),
    "eye_x": (0.33, 0.41),
    "eye_y": (-0.20, -0.10),
    "eye_rx": (0.15, 0.20),
    "eye_up": (0.065, 0.085),
    "eye_lo": (0.045, 0.06),
    "brow_gap": (0.17, 0.24),
    "brow_th": (0.035, 0.055),
    "brow_arch": (0.02, 0.07),
    "brow_in": (0.10, 0.16),
    "brow_out": (0.52, 0.62),
    "nose_y": (0.28, 0.38),
    "nose_w": (0.12, 0.17),
    "mouth_y": (0.64, 0.74),
    "mouth_w": (0.26, 0.34),
    "lip_up": (0.045, 0.07),
    "lip_lo": (0.06, 0.09),
    "hair_len": (0.0, 1.0),
    "hair_volume": (0.05, 0.18),
}


def _mix(palette: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Blend along an ordered palette; t in [0, 1]."""
    pos = t * (len(palette) - 1)
    i = np.minimum(pos.astype(int), len(palette) - 2)
    w = (pos - i)[:, None]
    return (palette[i] * (1 - w) + palette[i + 1] * w).astype(np.float32)


def sample_identities(rng: np.random.Generator, n: int, glasses_rate: float = 0.15) -> dict[str, np.ndarray]:
    """`n` subjects' identity parameters: name -> (n,) or (n, 3) float32 arrays."""
    ident = {k: rng.uniform(lo, hi, n).astype(np.float32) for k, (lo, hi) in GEOMETRY_RANGES.items()}
    ident["skin"] = _mix(SKIN_TONES, rng.uniform(0, 1, n))
    hair = HAIR_COLOURS[rng.integers(0, len(HAIR_COLOURS), n)]
    ident["hair"] = (hair * rng.uniform(0.85, 1.15, (n, 1))).clip(0, 1).astype(np.float32)
    ident["hair_style"] = rng.integers(0, 3, n).astype(np.float32)  # 0 short, 1 long, 2 receding
    ident["iris"] = IRIS_COLOURS[rng.integers(0, len(IRIS_COLOURS), n)]
    # Lips: the skin tone pulled towards red, darker for darker skin.
    red = np.array([0.75, 0.30, 0.30], dtype=np.float32)
    ident["lip"] = (ident["skin"] * 0.55 + red * 0.45 * ident["skin"].mean(1, keepdims=True) / 0.7).clip(0, 1)
    # Brows darker than both hair and skin, so they read on any colouring.
    ident["brow"] = np.minimum(ident["hair"] * 0.6, ident["skin"] * 0.4).astype(np.float32)
    ident["glasses"] = (rng.uniform(0, 1, n) < glasses_rate).astype(np.float32)
    ident["glasses_colour"] = (rng.uniform(0.0, 0.35, (n, 1)) * np.ones((1, 3))).astype(np.float32)
    return ident


def subject_identities(
    seed: int, namespace: str, subjects: list[int], glasses_rate: float = 0.15
) -> dict[str, np.ndarray]:
    """Identities for the given subject numbers, each drawn from its own stream (order-independent)."""
    rows = []
    for s in subjects:
        key = np.frombuffer(namespace.encode(), dtype=np.uint8).astype(np.uint64).tolist()
        rows.append(sample_identities(np.random.default_rng([seed, s, *key]), 1, glasses_rate))
    return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
