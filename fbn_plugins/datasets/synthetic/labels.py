"""Label pieces shared by the worlds (world.py): class draws, valence-arousal, video segments, and the
`du2014` control world's AUs (independent draws from the relatedness prior).

The du2014 world, for one image (or one video segment):
  1. expression e ~ Categorical(class prior)
  2. each AU j present with probability (1 - noise) * R[e, j] + noise * base_rate[j]
     (R = P(AU | expression), Du et al. 2014 by default; base_rate[j] = mean over expressions of R[:, j]);
     a present AU gets intensity 2-5, an absent one 0 or 1 (a trace below DISFA's occurrence threshold)
  3. valence-arousal ~ N(centre[e], spread[e]^2) + sum_j shift[j] * intensity_j / 5, clipped to [-1, 1]
Videos string segments of such draws together; VA glides between segment targets (smooth trajectories).
The other worlds replace step 2 (world.py) and keep steps 1 and 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fbn_bench.coupling.relatedness import du2014
from fbn_bench.tasks import AUS, EXPRESSIONS

from .._compound import COMPOUND_EXPRESSIONS

# Where each expression sits on the circumplex: (valence, arousal) centre and spread.
VA_CENTRES: dict[str, tuple[float, float, float]] = {
    "neutral": (0.0, -0.05, 0.12),
    "anger": (-0.55, 0.6, 0.15),
    "disgust": (-0.65, 0.3, 0.15),
    "fear": (-0.5, 0.7, 0.15),
    "happiness": (0.7, 0.35, 0.15),
    "sadness": (-0.6, -0.35, 0.15),
    "surprise": (0.2, 0.75, 0.15),
}
# How much each AU at full intensity moves valence and arousal (AU number -> (dv, da)).
VA_SHIFTS: dict[int, tuple[float, float]] = {
    12: (0.15, 0.02),
    6: (0.08, 0.02),
    4: (-0.08, 0.03),
    15: (-0.08, -0.03),
    9: (-0.06, 0.02),
    10: (-0.04, 0.02),
    20: (-0.04, 0.05),
    17: (-0.03, -0.02),
    5: (0.0, 0.1),
    26: (0.0, 0.08),
    25: (0.0, 0.04),
    1: (-0.02, 0.04),
    2: (0.0, 0.04),
    7: (-0.02, 0.03),
}
PRESENT_INTENSITY = (0.4, 0.3, 0.2, 0.1)  # P(intensity = 2, 3, 4, 5 | present)
ABSENT_TRACE = 0.25  # P(intensity = 1 | absent)
COMPOUND_PARTS = {
    "happily": "happiness",
    "sadly": "sadness",
    "fearfully": "fear",
    "angrily": "anger",
    "disgustedly": "disgust",
    "surprised": "surprise",
    "fearful": "fear",
    "angry": "anger",
    "disgusted": "disgust",
}


def du2014_array() -> np.ndarray:
    return du2014().to_numpy(np.float64)


def compound_relatedness() -> np.ndarray:
    """(11, 17): 1 for each compound class's prototypical AUs."""
    table = np.zeros((len(COMPOUND_EXPRESSIONS), len(AUS)))
    for i, aus in enumerate(COMPOUND_EXPRESSIONS.values()):
        table[i, [AUS.index(a) for a in aus]] = 1.0
    return table


def _va_table(classes: tuple[str, ...]) -> np.ndarray:
    """(K, 3) centre and spread per class; compound classes average their two parts."""
    rows = []
    for name in classes:
        parts = [COMPOUND_PARTS[w] for w in name.split()] if name not in VA_CENTRES else [name]
        rows.append(np.mean([VA_CENTRES[p] for p in parts], axis=0))
    return np.array(rows)


@dataclass(frozen=True)
class LabelPrior:
    """The generative label model of one database (see the module docstring)."""

    class_prior: tuple[float, ...]
    noise: float = 0.1
    classes: tuple[str, ...] = EXPRESSIONS
    relatedness: np.ndarray = field(default_factory=du2014_array, compare=False)

    @property
    def base_rate(self) -> np.ndarray:
        return self.relatedness.mean(axis=0)

    def au_probability(self) -> np.ndarray:
        """(K, 17) P(AU present | class) under this prior."""
        return (1 - self.noise) * self.relatedness + self.noise * self.base_rate[None]


def sample_classes(rng: np.random.Generator, n: int, class_prior) -> np.ndarray:
    p = np.asarray(class_prior, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


def du2014_intensity(rng: np.random.Generator, cls: np.ndarray, prior: LabelPrior) -> np.ndarray:
    """(n, 17) intensities of the `du2014` world: independent Bernoulli draws from the prior's table."""
    n = len(cls)
    present = rng.random((n, len(AUS))) < prior.au_probability()[cls]
    strong = 2 + rng.choice(4, size=(n, len(AUS)), p=PRESENT_INTENSITY)
    trace = (rng.random((n, len(AUS))) < ABSENT_TRACE).astype(np.int64)
    return np.where(present, strong, trace)


def sample_va(rng: np.random.Generator, cls: np.ndarray, intensity: np.ndarray, classes) -> np.ndarray:
    """(n, 2) valence-arousal around each class's circumplex centre, shifted by the AU intensities."""
    va_table = _va_table(tuple(classes))
    va = va_table[cls, :2] + rng.standard_normal((len(cls), 2)) * va_table[cls, 2:3]
    for au, (dv, da) in VA_SHIFTS.items():
        va += intensity[:, [AUS.index(au)]] / 5 * np.array([dv, da])
    return np.clip(va, -1, 1)


def sample_still(rng: np.random.Generator, n: int, prior: LabelPrior) -> dict[str, np.ndarray]:
    """`n` independent draws of the `du2014` world: `cls` (n,), `intensity` (n, 17) int 0-5, `va` (n, 2)."""
    cls = sample_classes(rng, n, prior.class_prior)
    intensity = du2014_intensity(rng, cls, prior)
    return {"cls": cls, "intensity": intensity, "va": sample_va(rng, cls, intensity, prior.classes)}


def render_intensity(rng: np.random.Generator, intensity: np.ndarray) -> np.ndarray:
    """What gets drawn: the integer intensity give or take 0.3, so faces are not quantised."""
    return np.clip(intensity + rng.uniform(-0.3, 0.3, intensity.shape), 0, 5).astype(np.float32)


def segment_index(rng: np.random.Generator, n_frames: int, mean_segment: float = 10.0) -> np.ndarray:
    """(n_frames,) segment number of each frame: segments of 3+ frames, geometric lengths."""
    lengths = []
    while sum(lengths) < n_frames:
        lengths.append(max(3, int(rng.geometric(1 / mean_segment))))
    return np.repeat(np.arange(len(lengths)), lengths)[:n_frames]


def glide(rng: np.random.Generator, target: np.ndarray) -> np.ndarray:
    """Per-frame VA that glides towards each frame's target (exponential: smooth, settles in a few frames)."""
    va = np.empty_like(target)
    va[0] = target[0]
    jitter = rng.standard_normal(target.shape) * 0.02
    for t in range(1, len(target)):
        va[t] = va[t - 1] + 0.3 * (target[t] - va[t - 1]) + jitter[t]
    return np.clip(va, -1, 1)


def sample_video(
    rng: np.random.Generator, n_frames: int, prior: LabelPrior, mean_segment: float = 10.0
) -> dict[str, np.ndarray]:
    """One video of the `du2014` world: segments of constant expression and AUs; VA glides towards each
    segment's target. Adds `segment` (n_frames,) to the keys of `sample_still`."""
    seg = segment_index(rng, n_frames, mean_segment)
    draws = sample_still(rng, int(seg.max()) + 1, prior)
    va = glide(rng, draws["va"][seg])
    return {"cls": draws["cls"][seg], "intensity": draws["intensity"][seg], "va": va, "segment": seg}
