"""A database's domain style (how its images are shot) and the per-image nuisance drawn from it.

Nuisance is everything that changes between two images of the same face with the same behaviour:
head pose, framing, light, sensor noise, blur, occluders and background. Databases differ in it
(a lab's frontal, evenly lit faces versus in-the-wild frames), which makes domain shift a real effect.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class DomainStyle:
    rotation_deg: float = 8.0  # s.d. of in-plane head rotation
    shift: float = 0.06  # s.d. of the face centre's offset, face units
    scale: tuple[float, float] = (0.92, 1.08)
    light: float = 0.35  # largest left-right / top-bottom lighting gradient
    brightness: tuple[float, float] = (0.8, 1.1)
    colour_cast: float = 0.05  # s.d. of a per-channel gain
    noise: float = 0.03  # largest s.d. of pixel noise (0-1 scale)
    blur_rate: float = 0.2  # share of images blurred
    occlusion_rate: float = 0.08  # share of images with an occluding patch
    textured_background: bool = True  # False: a plain studio backdrop
    background: tuple[float, float] = (0.15, 0.9)  # background brightness range
    background_tint: float = 0.25  # how far background channels stray from grey
    glasses_rate: float = 0.15
    jpeg_quality: int = 90

    def as_dict(self) -> dict:
        return asdict(self)


WILD = DomainStyle()
WILD_VIDEO = DomainStyle(rotation_deg=10.0, noise=0.04, blur_rate=0.3, jpeg_quality=85)
LAB = DomainStyle(
    rotation_deg=2.0,
    shift=0.02,
    scale=(0.98, 1.02),
    light=0.08,
    brightness=(0.95, 1.05),
    colour_cast=0.01,
    noise=0.01,
    blur_rate=0.0,
    occlusion_rate=0.0,
    textured_background=False,
    background=(0.55, 0.65),
    background_tint=0.03,
    glasses_rate=0.05,
    jpeg_quality=95,
)


def sample_nuisance(rng: np.random.Generator, n: int, style: DomainStyle) -> dict[str, np.ndarray]:
    """Per-image nuisance parameters: name -> (n,) or (n, k) float32 arrays."""
    u = lambda lo, hi, shape=n: rng.uniform(lo, hi, shape).astype(np.float32)  # noqa: E731
    bg_level = u(*style.background)
    nuis = {
        "angle": np.deg2rad(rng.normal(0, style.rotation_deg, n)).astype(np.float32),
        "dx": rng.normal(0, style.shift, n).astype(np.float32),
        "dy": rng.normal(0, style.shift, n).astype(np.float32),
        "scale": u(*style.scale),
        "light_x": u(-style.light, style.light),
        "light_y": u(-style.light, style.light) * 0.5,
        "brightness": u(*style.brightness),
        "cast": (1 + rng.normal(0, style.colour_cast, (n, 3))).astype(np.float32),
        "noise": u(0, style.noise),
        "blur": (rng.uniform(0, 1, n) < style.blur_rate).astype(np.float32) * u(0.4, 1.0),
        "bg_a": (bg_level[:, None] * u(1 - style.background_tint, 1 + style.background_tint, (n, 3))).clip(0, 1),
        "bg_b": (u(*style.background)[:, None] * u(1 - style.background_tint, 1 + style.background_tint, (n, 3))).clip(
            0, 1
        ),
        "bg_freq": u(1.5, 6.0) * float(style.textured_background),
        "bg_phase": u(0, 2 * np.pi),
        "bg_dir": u(0, np.pi),
        "occ": (rng.uniform(0, 1, n) < style.occlusion_rate).astype(np.float32),
        "occ_x": u(-1.0, 1.0),
        "occ_y": u(-0.4, 1.2),
        "occ_w": u(0.2, 0.45),
        "occ_h": u(0.15, 0.4),
        "occ_colour": u(0.05, 0.95, (n, 3)),
    }
    return nuis
