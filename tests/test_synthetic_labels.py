"""Label statistics of the du2014 control world match the prior they were drawn from (scipy tolerances)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fbn_bench.coupling.relatedness import du2014
from fbn_bench.tasks import AUS, EXPRESSIONS
from fbn_plugins.datasets.synthetic.databases import DATABASES
from fbn_plugins.datasets.synthetic.generate import public_table, split_labels
from fbn_plugins.datasets.synthetic.labels import VA_CENTRES, LabelPrior, sample_still, sample_video
from fbn_plugins.datasets.synthetic.store import generation_options

ALPHA = 1e-3  # per family of checks; Bonferroni-corrected over the cells inside a family


def test_class_prior_is_reproduced_chi_square():
    prior = LabelPrior(DATABASES["synth-affectnet"].prior.class_prior)
    draw = sample_still(np.random.default_rng(1), 20000, prior)
    observed = np.bincount(draw["cls"], minlength=7)
    expected = np.array(prior.class_prior) / sum(prior.class_prior) * len(draw["cls"])
    assert stats.chisquare(observed, expected).pvalue > ALPHA
    # And the test can fail: a uniform prior is rejected.
    assert stats.chisquare(observed, np.full(7, len(draw["cls"]) / 7)).pvalue < 1e-10


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_au_given_expression_matches_binomial_tolerance(noise):
    prior = LabelPrior((1 / 7,) * 7, noise=noise)
    draw = sample_still(np.random.default_rng(2), 14000, prior)
    present = draw["intensity"] >= 2
    expected = (1 - noise) * du2014().to_numpy() + noise * du2014().to_numpy().mean(0)
    cells = 7 * len(AUS)
    for e in range(7):
        rows = present[draw["cls"] == e]
        for j in range(len(AUS)):
            k, n, p = int(rows[:, j].sum()), len(rows), expected[e, j]
            if p in (0.0, 1.0):
                assert k == round(p * n), (EXPRESSIONS[e], AUS[j])
            else:
                assert stats.binomtest(k, n, p).pvalue > ALPHA / cells, (EXPRESSIONS[e], AUS[j], k / n, p)


def test_intensity_scale_and_occurrence_threshold():
    draw = sample_still(np.random.default_rng(3), 5000, LabelPrior((1 / 7,) * 7))
    assert draw["intensity"].min() == 0 and draw["intensity"].max() == 5
    # Traces (intensity 1) exist but never count as occurrences.
    assert (draw["intensity"] == 1).any()


def test_va_centres_follow_the_circumplex():
    prior = LabelPrior((1 / 7,) * 7, noise=0.0)
    draw = sample_still(np.random.default_rng(4), 14000, prior)
    va = draw["va"]
    assert va.min() >= -1 and va.max() <= 1
    happy = va[draw["cls"] == EXPRESSIONS.index("happiness")].mean(0)
    sad = va[draw["cls"] == EXPRESSIONS.index("sadness")].mean(0)
    assert happy[0] > VA_CENTRES["happiness"][0] - 0.05 and sad[0] < VA_CENTRES["sadness"][0] + 0.05
    assert happy[0] - sad[0] > 1.0 and sad[1] < 0 < happy[1]


def test_video_trajectories_are_smooth():
    draw = sample_video(np.random.default_rng(5), 400, LabelPrior((1 / 7,) * 7))
    steps = np.abs(np.diff(draw["va"], axis=0))
    jumps = np.abs(np.diff(sample_still(np.random.default_rng(5), 400, LabelPrior((1 / 7,) * 7))["va"], axis=0))
    assert steps.mean() < jumps.mean() / 3
    # Expression and AUs are constant within a segment.
    for s in np.unique(draw["segment"]):
        rows = draw["segment"] == s
        assert len(np.unique(draw["cls"][rows])) == 1 and (draw["intensity"][rows] == draw["intensity"][rows][0]).all()


def test_du2014_world_affwild2_labels_recover_the_relatedness_table():
    db = DATABASES["synth-affwild2"]
    table = public_table(db, split_labels(db, "train", generation_options(scale=8.0, world="du2014")))
    both = table.dropna(subset=["expression", "AU1"])
    assert 0 < len(both) < len(table)  # partial annotation: some frames lack one of the labels
    # Frames within a segment share their labels: count segments, not frames.
    segments = both.groupby(["video", "segment"]).first()
    expected = db.prior.au_probability()
    checked = 0
    for e, name in enumerate(EXPRESSIONS):
        rows = segments[segments["expression"] == name]
        if len(rows) < 15:
            continue
        for au in db.aus:
            j = AUS.index(au)
            k = int(rows[f"AU{au}"].sum())
            assert stats.binomtest(k, len(rows), expected[e, j]).pvalue > ALPHA / (7 * len(db.aus)), (
                name,
                au,
                k / len(rows),
                expected[e, j],
            )
            checked += 1
    assert checked >= 5 * len(db.aus)
    estimated = segments.groupby("expression")[[f"AU{a}" for a in db.aus]].mean()
    truth = du2014().loc[estimated.index, [f"AU{a}" for a in db.aus]]
    assert np.corrcoef(estimated.to_numpy().ravel(), truth.to_numpy().ravel())[0, 1] > 0.9


def test_affwild2_has_every_annotation_pattern():
    db = DATABASES["synth-affwild2"]
    table = public_table(db, split_labels(db, "train", generation_options()))
    va, ex, au = table["valence"].notna(), table["expression"].notna(), table["AU1"].notna()
    assert (va & ~ex & ~au).any() and (ex & ~va & ~au).any() and (au & ~va & ~ex).any() and (va & ex & au).any()
