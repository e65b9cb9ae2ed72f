"""The synthetic world: what drives each AU, and how a database's people and annotators differ.

The couplings' default prior is Du et al. 2014's table (fbn_bench.coupling.relatedness). A world whose
labels were drawn from that very table would hand the answer to any method that uses it, so the
`realistic` world has its own truth:

  R_true = clip(Du + mismatch * DEVIATIONS, 0, 1)   P(AU driven by the expression | expression)

and, per database (`DatabaseWorld`), AU activity unrelated to expression (speech, concentration, AU14
habits) plus a per-AU calibration so the database's base rates are those of the real database it
mirrors. AUs are drawn jointly through a latent Gaussian copula: anatomical factors tie 1-2, 6-7-12,
9-10, 15-17, 23-24 and 25-26 together, and per-subject random effects (expressivity, resting activity)
tie a person's images together. The marginal P(AU | expression) of each database is exact:
`DatabaseWorld.table` (what `relatedness estimate` recovers from clean labels) and `.observed`
(with the annotators' label noise).

`null` keeps everything but makes the expression-driven part the same for every expression (AUs carry
no information about it: a coupling must not help). `shuffled` keeps the realistic world's AU patterns
whole but lets each face's AUs come from an expression drawn independently of its label (from the same
class prior): the AUs have the realistic world's base rates and co-activation, and say nothing of the
labelled expression, so a coupling, which ties the two, must not help. `du2014` is the old circular world
(independent Bernoulli draws from Du's table, no people, no annotators, no cues), kept as an upper-bound
control.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr, ndtri

from fbn_bench.tasks import AUS, EXPRESSIONS

from .labels import COMPOUND_PARTS, PRESENT_INTENSITY, du2014_array

if TYPE_CHECKING:
    from .databases import SyntheticDatabase

WORLDS = ("realistic", "null", "shuffled", "du2014")

# How the world departs from Du et al. (added to Du's P(AU | expression), times `mismatch`). Du's table
# records posed, prototypical expressions; spontaneous ones differ, and these are the documented
# differences of the synthetic world (docs/synthetic-data.md): mass on cells Du leaves empty (Duchenne
# smiles narrow the eyes and lift the upper lip; anger and disgust squint), and prototypical AUs that are
# often missing when the expression is felt rather than posed (open-mouthed smiles, lip stretch in fear,
# jaw drop in surprise, nose wrinkle in disgust).
DEVIATIONS: dict[str, dict[int, float]] = {
    "anger": {4: -0.15, 6: +0.20, 7: -0.25, 10: +0.20, 17: -0.15, 23: +0.25, 24: -0.45},
    "disgust": {4: +0.20, 6: +0.25, 7: +0.35, 9: -0.45, 15: +0.20, 17: -0.40},
    "fear": {4: -0.35, 5: -0.20, 7: +0.20, 20: -0.55, 25: -0.20},
    "happiness": {6: +0.35, 7: +0.35, 10: +0.40, 14: +0.30, 12: -0.05, 25: -0.45, 26: +0.10},
    "sadness": {1: -0.10, 4: -0.25, 6: -0.30, 14: +0.15, 15: -0.35, 17: -0.20, 24: +0.20},
    "surprise": {2: -0.15, 5: -0.25, 25: -0.20, 26: -0.45},
}
# Anatomical co-activation: loadings of each AU on shared latent factors (a factor model, so the copula's
# correlation matrix is positive definite by construction; the latent correlation of two AUs on one factor
# is the product of their loadings).
FACTORS: dict[str, dict[int, float]] = {
    "brow raise": {1: 0.8, 2: 0.8},
    "smile": {6: 0.75, 7: 0.6, 12: 0.7, 10: 0.35},
    "nose": {9: 0.6, 10: 0.5},
    "chin": {15: 0.5, 17: 0.6},
    "lip press": {23: 0.75, 24: 0.75},
    "jaw": {25: 0.75, 26: 0.75},
}
EXPRESSIVITY = 0.4  # s.d. share of a subject's expressivity in the expression-driven latent (squared: variance)
RESTING = 0.55  # the same for a subject's resting (expression-unrelated) activity, per AU
# AU activity unrelated to expression, before calibration: AU14 (habitual dimpling, contempt), AU4 (frowning
# in concentration); video adds speech (lips part, jaw drops; per segment, not per syllable).
UNRELATED = {14: 0.10, 4: 0.05}
SPEECH = {25: 0.30, 26: 0.20}
UNRELATED_INTENSITY = (0.65, 0.3, 0.05, 0.0)  # P(intensity 2-5) of expression-unrelated activity: mostly weak
# Annotator confusion: which class a mislabelled expression becomes (rows: true class, EXPRESSIONS order).
CONFUSION = {
    "neutral": {"sadness": 0.5, "happiness": 0.2, "anger": 0.3},
    "anger": {"disgust": 0.6, "neutral": 0.2, "sadness": 0.2},
    "disgust": {"anger": 0.6, "sadness": 0.25, "neutral": 0.15},
    "fear": {"surprise": 0.7, "sadness": 0.2, "disgust": 0.1},
    "happiness": {"neutral": 0.7, "surprise": 0.3},
    "sadness": {"neutral": 0.6, "fear": 0.2, "disgust": 0.2},
    "surprise": {"fear": 0.5, "happiness": 0.3, "neutral": 0.2},
}
# Appearance of expression beyond its AUs (head pose, facial colour), applied to the per-image nuisance:
# expression -> {nuisance key: shift}; `cast` shifts are per channel (R, G, B). Each image shows its
# expression's cue with probability CUE_RATE, at a random strength, so the AUs alone do not decide the
# expression and the pixels alone do not either.
CUES: dict[str, dict[str, object]] = {
    "anger": {"cast": (0.10, -0.03, -0.03)},  # flushed
    "disgust": {"angle": -0.10, "scale": -0.03},  # turning away
    "fear": {"cast": (-0.05, 0.0, 0.06), "scale": -0.04},  # pale, drawing back
    "happiness": {"cast": (0.04, 0.03, -0.02), "dy": -0.03},  # warm, chin up
    "sadness": {"dy": 0.07, "angle": 0.06},  # head down and tilted
    "surprise": {"scale": 0.05, "dy": -0.04},  # head back and forward
}
CUE_RATE = 0.75


def true_relatedness(mismatch: float = 1.0) -> np.ndarray:
    """(7, 17) R_true: Du et al. plus `mismatch` times DEVIATIONS, clipped to [0, 1]."""
    table = du2014_array().copy()
    for expression, shifts in DEVIATIONS.items():
        for au, shift in shifts.items():
            table[EXPRESSIONS.index(expression), AUS.index(au)] += mismatch * shift
    return np.clip(table, 0.0, 1.0)


def compound_relatedness_from(table: np.ndarray, components: list[tuple[str, str]], weight=0.8) -> np.ndarray:
    """(C, 17): a compound face shows each component's AUs, each at `weight` of its usual rate."""
    rows = [
        1 - (1 - weight * table[EXPRESSIONS.index(a)]) * (1 - weight * table[EXPRESSIONS.index(b)])
        for a, b in components
    ]
    return np.array(rows)


def factor_loadings() -> np.ndarray:
    """(17, F): each AU's loading on each anatomical factor."""
    loadings = np.zeros((len(AUS), len(FACTORS)))
    for f, aus in enumerate(FACTORS.values()):
        for au, weight in aus.items():
            loadings[AUS.index(au), f] = weight
    return loadings


def latent_correlation() -> np.ndarray:
    """(17, 17) correlation of the expression-driven latents within one image (before subject effects)."""
    lam = factor_loadings()
    corr = lam @ lam.T
    np.fill_diagonal(corr, 1.0)
    return corr


@dataclass(frozen=True)
class DatabaseWorld:
    """The world as one database sees it: exact per-class AU rates, label noise and people.

    `driven` (K, 17) P(expression-driven activity | class) and `unrelated` (17,) P(other activity): an AU
    is active when either fires, independently, so `table` = 1 - (1 - driven) (1 - unrelated).
    `base_rate` (17,): the AU's rate in this database's population (the calibration target where the
    real database annotates it); `au_noise`: share of AU labels an annotator gets from the base rate
    instead of the face; `expr_noise`: share of expression labels confused (CONFUSION).
    """

    kind: str
    driven: np.ndarray
    unrelated: np.ndarray
    base_rate: np.ndarray
    au_noise: float
    expr_noise: float
    classes: tuple[str, ...]
    cue_weights: np.ndarray  # (K, 7): how much of each basic expression's appearance a class shows
    prior: np.ndarray | None = None  # (K,) the class prior, normalised

    @property
    def table(self) -> np.ndarray:
        """(K, 17) P(AU present | the labelled class)."""
        shown = 1 - (1 - self.driven) * (1 - self.unrelated[None])  # given the class the face's AUs come from
        if self.kind != "shuffled":
            return shown
        # that class is drawn from the prior whatever the label is: every label sees the prior's average
        return np.broadcast_to(self.prior @ shown, shown.shape).copy()

    @property
    def observed(self) -> np.ndarray:
        """(K, 17) P(AU labelled present | class): the annotators replace `au_noise` of labels with
        base-rate draws."""
        return (1 - self.au_noise) * self.table + self.au_noise * self.base_rate[None]

    def sample(
        self, rng: np.random.Generator, cls: np.ndarray, subject: np.ndarray, people: dict[str, np.ndarray]
    ) -> np.ndarray:
        """(n, 17) int intensities 0-5 of units (images or segments) of class `cls` shown by `subject`
        (indices into `people`'s rows)."""
        n = len(cls)
        # Both sources move muscles together: the same anatomical factors tie their latents (speech opens
        # lips and jaw at once; a habitual squint raises the cheeks too).
        z = (
            np.sqrt(1 - EXPRESSIVITY**2) * _factor_draw(rng, n)
            + EXPRESSIVITY * people["expressivity"][subject][:, None]
        )
        w = np.sqrt(1 - RESTING**2) * _factor_draw(rng, n) + RESTING * people["resting"][subject]
        # Upper tail: P(z > ndtri(1 - p)) = p for a standard-normal latent, whoever the subject is on average.
        with np.errstate(divide="ignore"):
            driven_at = ndtri(1 - self.driven[cls])
            other_at = ndtri(1 - self.unrelated)[None]
        driven = z > driven_at
        other = w > other_at
        # Intensity from how far the latent lies into its tail: expressive people and strong episodes score higher.
        strong = _tail_intensity(ndtr(-z) / np.maximum(self.driven[cls], 1e-12), PRESENT_INTENSITY)
        weak = _tail_intensity(ndtr(-w) / np.maximum(self.unrelated[None], 1e-12), UNRELATED_INTENSITY)
        trace = (rng.random((n, len(AUS))) < 0.25).astype(np.int64)
        return np.where(driven, np.maximum(strong, np.where(other, weak, 0)), np.where(other, weak, trace))

    def annotate_aus(self, rng: np.random.Generator, intensity: np.ndarray) -> np.ndarray:
        """The intensities an annotator writes down: `au_noise` of occurrence labels replaced by base-rate
        draws (a label turned on reads 2, one turned off 1); the others as they are."""
        n = len(intensity)
        redrawn = rng.random((n, len(AUS))) < self.au_noise
        guess = rng.random((n, len(AUS))) < self.base_rate[None]
        present = intensity >= 2
        labelled = np.where(redrawn, guess, present)
        return np.where(labelled == present, intensity, np.where(labelled, 2, 1))

    def annotate_expressions(self, rng: np.random.Generator, cls: np.ndarray) -> np.ndarray:
        """Class indices an annotator gives: `expr_noise` of them confused (only for the 7 basic classes)."""
        if self.classes != EXPRESSIONS or self.expr_noise == 0:
            return cls
        confusion = np.zeros((len(EXPRESSIONS), len(EXPRESSIONS)))
        for e, row in CONFUSION.items():
            for other, p in row.items():
                confusion[EXPRESSIONS.index(e), EXPRESSIONS.index(other)] = p
        cumulative = np.cumsum(confusion[cls], axis=1)
        other = np.minimum((rng.random((len(cls), 1)) > cumulative).sum(1), len(EXPRESSIONS) - 1)
        return np.where(rng.random(len(cls)) < self.expr_noise, other, cls)

    def apply_cues(self, rng: np.random.Generator, cls: np.ndarray, nuis: dict[str, np.ndarray]) -> None:
        """Shift each image's nuisance by its class's appearance cues (in place)."""
        strength = (rng.random(len(cls)) < CUE_RATE) * rng.uniform(0.5, 1.5, len(cls))
        weights = self.cue_weights[cls] * strength[:, None]  # (n, 7)
        for e, cue in CUES.items():
            w = weights[:, EXPRESSIONS.index(e)].astype(np.float32)
            for key, shift in cue.items():
                if key == "cast":
                    nuis["cast"] += w[:, None] * np.float32(shift)
                elif key == "scale":
                    nuis["scale"] *= 1 + w * np.float32(shift)
                else:
                    nuis[key] += w * np.float32(shift)


def _factor_draw(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 17) standard-normal latents with the anatomical factors' correlation (latent_correlation)."""
    lam = factor_loadings()
    unique = np.sqrt(np.clip(1 - (lam**2).sum(1), 0, 1))
    return rng.standard_normal((n, lam.shape[1])) @ lam.T + unique * rng.standard_normal((n, len(AUS)))


def _tail_intensity(u: np.ndarray, probabilities: tuple[float, ...]) -> np.ndarray:
    """Intensity 2-5 from u in (0, 1], the latent's upper-tail position among active draws (small u =
    far into the tail): the lowest `probabilities[-1]` share gets 5, ..., so P(intensity) = probabilities."""
    edges = np.cumsum(probabilities[::-1])[:-1]  # shares getting 5, 5-4, 5-4-3
    return 5 - np.searchsorted(edges, np.clip(u, 0, 1), side="right")


def people(rng: np.random.Generator, n_subjects: int) -> dict[str, np.ndarray]:
    """Per-subject random effects: expressivity (n,) and resting activity per AU (n, 17), standard normal."""
    return {"expressivity": rng.standard_normal(n_subjects), "resting": rng.standard_normal((n_subjects, len(AUS)))}


def calibrate(
    driven: np.ndarray, unrelated: np.ndarray, class_prior: np.ndarray, targets: dict[int, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Scale the expression-driven rates down or the unrelated rates up, per AU, so that the AU's rate
    under `class_prior` is `targets[au]` exactly (AUs without a target are left as they are)."""
    driven, unrelated = driven.copy(), unrelated.copy()
    p = class_prior / class_prior.sum()
    for au, target in targets.items():
        j = AUS.index(au)
        expressed = float(p @ driven[:, j])
        if target >= expressed:  # more activity than the expressions give: the rest is unrelated to them
            unrelated[j] = 1 - (1 - target) / (1 - expressed)
        else:  # less: this population's expressions are weaker in this AU, and nothing else drives it
            unrelated[j] = 0.0
            driven[:, j] *= target / expressed
    return driven, unrelated


def database_world(db: SyntheticDatabase, kind: str = "realistic", mismatch: float = 1.0, noise=None) -> DatabaseWorld:
    """The `realistic`, `null` or `shuffled` world as `db` sees it (see the module docstring); `noise`, when
    given, replaces both of the database's annotator noise rates."""
    truth = true_relatedness(mismatch)
    classes = db.prior.classes
    if db.compound:
        components = [tuple(COMPOUND_PARTS[w] for w in name.split()) for name in classes]
        driven = compound_relatedness_from(truth, components)
        cue_weights = np.array([[0.5 * (e in parts) for e in EXPRESSIONS] for parts in components])
    else:
        driven, cue_weights = truth, np.eye(len(EXPRESSIONS))
    unrelated = np.zeros(len(AUS))
    for au, rate in {**UNRELATED, **(SPEECH if db.video else {})}.items():
        unrelated[AUS.index(au)] = rate
    prior = np.asarray(db.prior.class_prior, dtype=np.float64)
    if kind == "null":  # every class drives each AU at the population's average rate: AUs say nothing of it
        driven = np.broadcast_to(prior / prior.sum() @ driven, driven.shape).copy()
    driven, unrelated = calibrate(driven, unrelated, prior, db.target_rates)
    base_rate = prior / prior.sum() @ (1 - (1 - driven) * (1 - unrelated[None]))
    au_noise, expr_noise = (db.au_noise, db.expr_noise) if noise is None else (float(noise), float(noise))
    return DatabaseWorld(
        kind, driven, unrelated, base_rate, au_noise, expr_noise, classes, cue_weights, prior / prior.sum()
    )
