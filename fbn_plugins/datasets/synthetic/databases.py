"""The synthetic databases: which tasks and AUs each labels, its class prior and its domain style.

Each mirrors a real database FaceBehaviorNet trains or tests on, so the heterogeneity is the paper's:
different label sets, different class balance, lab versus in-the-wild images, stills versus video.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._compound import COMPOUND_EXPRESSIONS
from .labels import LabelPrior, compound_relatedness
from .style import LAB, WILD, WILD_VIDEO, DomainStyle

# Published AU base rates (share of frames or images with the AU present) of the mirrored databases; sources
# and how approximate each is: docs/synthetic-data.md. Rates below MIN_RATE are raised to it in the synthetic
# copy, so that every annotated AU has enough positives to score in a 500-image test split.
BP4D_RATES = {
    1: 0.21,
    2: 0.17,
    4: 0.20,
    6: 0.46,
    7: 0.55,
    10: 0.59,
    12: 0.56,
    14: 0.47,
    15: 0.17,
    17: 0.34,
    23: 0.17,
    24: 0.15,
}
DISFA_RATES = {
    1: 0.05,
    2: 0.04,
    4: 0.15,
    5: 0.01,
    6: 0.08,
    9: 0.04,
    12: 0.13,
    15: 0.04,
    17: 0.08,
    20: 0.03,
    25: 0.25,
    26: 0.11,
}
EMOTIONET_RATES = {
    1: 0.05,
    2: 0.03,
    4: 0.06,
    5: 0.03,
    6: 0.22,
    9: 0.03,
    12: 0.35,
    17: 0.05,
    20: 0.02,
    25: 0.38,
    26: 0.10,
}
AFFWILD2_RATES = {
    1: 0.12,
    2: 0.05,
    4: 0.15,
    6: 0.25,
    7: 0.38,
    10: 0.33,
    12: 0.23,
    15: 0.03,
    23: 0.03,
    24: 0.03,
    25: 0.62,
    26: 0.09,
}
MIN_RATE = 0.08
VAL_SHARE = 0.15  # the validation split: about this share of the training split's images and subjects

ABAW_AUS = (1, 2, 4, 6, 7, 10, 12, 15, 23, 24, 25, 26)
UNIFORM = (1 / 7,) * 7
#            neutral anger disgust fear happiness sadness surprise
AFFECTNET = (0.2526, 0.0842, 0.0128, 0.0216, 0.4519, 0.0858, 0.0477)  # manual train set counts, normalised
RAFDB = (0.2088, 0.0565, 0.0572, 0.0231, 0.3884, 0.1604, 0.1056)  # RAF-DB basic, 15,339 images
AFFWILD2 = (0.35, 0.06, 0.04, 0.04, 0.25, 0.15, 0.11)
SPONTANEOUS_LAB = (0.40, 0.05, 0.10, 0.05, 0.25, 0.05, 0.10)  # DISFA: reactions to video clips
BP4D_TASKS = (0.15, 0.12, 0.14, 0.14, 0.17, 0.14, 0.14)  # BP4D: eight elicitation tasks
WILD_AU = (0.30, 0.08, 0.07, 0.05, 0.30, 0.10, 0.10)  # EmotioNet: web images


@dataclass(frozen=True)
class SyntheticDatabase:
    name: str
    mirrors: str
    tasks: frozenset[str]
    aus: tuple[int, ...]
    prior: LabelPrior
    style: DomainStyle
    train_subjects: int
    test_subjects: int
    train_images: int = 1500
    test_images: int = 500
    val_images: int | None = None  # default: VAL_SHARE of train_images
    video: bool = False
    frames_per_video: int = 25
    test_prior: tuple[float, ...] | None = None  # a different class balance at test time (AffectNet)
    partial_annotation: bool = False  # Aff-Wild2: each video labels some of the tasks
    compound: bool = False
    published_rates: dict[int, float] | None = None  # AU base rates of the mirrored database
    au_noise: float = 0.1  # share of AU labels an annotator gets from the base rate instead of the face
    expr_noise: float = 0.1  # share of expression labels an annotator confuses

    @property
    def target_rates(self) -> dict[int, float]:
        """The AU base rates the synthetic copy is calibrated to: the published ones, floored at MIN_RATE."""
        return {au: max(rate, MIN_RATE) for au, rate in (self.published_rates or {}).items()}

    @property
    def description(self) -> str:
        kind = "video" if self.video else "stills"
        return f"synthetic {self.mirrors}-like database ({kind}, {'lab' if not self.style.textured_background else 'in-the-wild'} style)"


DATABASES: dict[str, SyntheticDatabase] = {
    db.name: db
    for db in (
        SyntheticDatabase(
            "synth-affwild",
            "Aff-Wild",
            frozenset({"va"}),
            (),
            LabelPrior(AFFWILD2),
            WILD_VIDEO,
            30,
            10,
            video=True,
        ),
        SyntheticDatabase(
            "synth-affwild2",
            "Aff-Wild2",
            frozenset({"va", "expr", "au"}),
            ABAW_AUS,
            LabelPrior(AFFWILD2),
            WILD_VIDEO,
            30,
            10,
            test_images=1000,
            val_images=400,  # frames come in segments and videos: fewer would leave rare AUs without positives
            video=True,
            partial_annotation=True,
            published_rates=AFFWILD2_RATES,
            au_noise=0.12,
            expr_noise=0.15,
        ),
        SyntheticDatabase(
            "synth-affectnet",
            "AffectNet",
            frozenset({"expr", "va"}),
            (),
            LabelPrior(AFFECTNET),
            WILD,
            300,
            100,
            test_prior=UNIFORM,
            expr_noise=0.15,
        ),
        SyntheticDatabase(
            "synth-rafdb",
            "RAF-DB",
            frozenset({"expr"}),
            (),
            LabelPrior(RAFDB),
            DomainStyle(rotation_deg=6.0, blur_rate=0.1, jpeg_quality=92),
            300,
            100,
            expr_noise=0.1,
        ),
        SyntheticDatabase(
            "synth-emotionet",
            "EmotioNet",
            frozenset({"au"}),
            (1, 2, 4, 5, 6, 9, 12, 17, 20, 25, 26),
            LabelPrior(WILD_AU),
            DomainStyle(noise=0.05, occlusion_rate=0.12, jpeg_quality=80),
            300,
            100,
            published_rates=EMOTIONET_RATES,
            au_noise=0.15,  # most EmotioNet labels come from an automatic annotator
        ),
        SyntheticDatabase(
            "synth-disfa",
            "DISFA",
            frozenset({"au", "au_int"}),  # DISFA codes intensity 0-5; the world's annotators write it down
            (1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26),
            LabelPrior(SPONTANEOUS_LAB),
            LAB,
            20,
            10,
            published_rates=DISFA_RATES,
            au_noise=0.04,
        ),
        SyntheticDatabase(
            "synth-bp4d",
            "BP4D",
            frozenset({"au"}),
            (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24),
            LabelPrior(BP4D_TASKS),
            DomainStyle(
                rotation_deg=4.0,
                shift=0.03,
                light=0.15,
                noise=0.015,
                blur_rate=0.05,
                occlusion_rate=0.0,
                textured_background=False,
                background=(0.1, 0.3),
                background_tint=0.05,
                jpeg_quality=95,
            ),
            30,
            11,
            published_rates=BP4D_RATES,
            au_noise=0.04,
        ),
        SyntheticDatabase(
            "synth-rafdb-compound",
            "RAF-DB compound",
            frozenset(),
            (),
            LabelPrior((1 / 11,) * 11, classes=tuple(COMPOUND_EXPRESSIONS), relatedness=compound_relatedness()),
            DomainStyle(rotation_deg=6.0, blur_rate=0.1, jpeg_quality=92),
            300,
            100,
            compound=True,
        ),
    )
}
