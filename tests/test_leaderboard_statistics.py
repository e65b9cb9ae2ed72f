"""Seed-aware statistics: the hierarchical bootstrap p against an exact enumeration, Holm against the
step-down procedure, and the smallest resolvable difference against its formula, all computed here
independently of fbn_bench.leaderboard."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from leaderboard_helpers import predictions, write_run

from fbn_bench.leaderboard import bootstrap
from fbn_bench.leaderboard.build import build_tables
from fbn_bench.leaderboard.long_form import to_json
from fbn_bench.leaderboard.paired import compare
from fbn_bench.leaderboard.render import to_markdown
from fbn_bench.leaderboard.samples import Clusters
from fbn_bench.leaderboard.tables import Settings
from fbn_bench.registry import get_registry
from fbn_bench.tasks import EXPRESSIONS

DB = "lbtest_stats"


def _seed(correct, seed):
    """3 subjects x 2 images; `correct` says which of the 6 predictions are right."""
    frame = predictions(n_subjects=3, per_subject=2, tasks=("expr",), quality=1.0, seed=seed)
    wrong = [EXPRESSIONS[(EXPRESSIONS.index(e) + 1) % 7] for e in frame["expression"]]
    frame["pred_expression"] = np.where(np.asarray(correct, bool), frame["expression"], wrong)
    return frame


# One arm with a lucky and an unlucky seed (accuracies 6/6, 1/6), one with two middling ones (2/6, 2/6):
# the test set alone says A is better (p 0.074), the seeds say it could as well be luck (p 0.53).
A = [[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1]]
B = [[0, 1, 0, 0, 0, 1], [0, 1, 1, 0, 0, 0]]


def _exact_p(a, b, seeds=True):
    """Every equally likely outcome: 2 seeds drawn with replacement per arm (4 x 4 ordered draws; with
    seeds=False both seeds kept), then the 3 subjects drawn with replacement once for both arms (27);
    accuracy counted on the drawn rows; p = 2 min(P(d <= 0), P(d >= 0))."""
    a, b = np.asarray(a, float).reshape(2, 3, 2), np.asarray(b, float).reshape(2, 3, 2)  # seed, subject, image
    draws = list(itertools.product(range(2), repeat=2)) if seeds else [(0, 1)]
    below = above = total = 0
    for da, db, subjects in itertools.product(draws, draws, itertools.product(range(3), repeat=3)):
        drawn_a, drawn_b = a[:, list(subjects)].reshape(2, -1), b[:, list(subjects)].reshape(2, -1)
        d = np.mean([drawn_a[s].mean() for s in da]) - np.mean([drawn_b[s].mean() for s in db])
        below += d <= 1e-12
        above += d >= -1e-12
        total += 1
    return min(1.0, 2 * min(below, above) / total)


def test_hierarchical_p_matches_an_exact_enumeration_and_differs_from_the_test_only_p():
    frames_a = [_seed(c, i) for i, c in enumerate(A)]
    frames_b = [_seed(c, 10 + i) for i, c in enumerate(B)]
    n = 40000
    clusters = Clusters.of("subject", frames_a + frames_b)
    weights = bootstrap.resample_weights(len(clusters), n, np.random.default_rng(1))
    shares = (
        bootstrap.seed_weights(2, n, np.random.default_rng(2)),
        bootstrap.seed_weights(2, n, np.random.default_rng(3)),
    )
    found = compare(frames_a, frames_b, clusters, weights, ("expr",), (), "accuracy", shares=shares)
    exact, exact_test = _exact_p(A, B), _exact_p(A, B, seeds=False)
    assert exact == pytest.approx(115 / 216) and exact_test == pytest.approx(2 / 27)
    assert found.difference == pytest.approx(7 / 12 - 4 / 12)
    assert found.p_hierarchical == pytest.approx(exact, abs=0.015)
    assert found.p_test == pytest.approx(exact_test, abs=0.01)  # the test-noise-only p, under its own name
    # Without seed draws (or with one seed) there is no hierarchical p, never a test-only p under its name.
    alone = compare(frames_a[:1], frames_b, clusters, weights, ("expr",), (), "accuracy", shares=shares)
    assert math.isnan(alone.p_hierarchical) and not math.isnan(alone.p_test)


def _holm_decisions(p, alpha):
    """Holm's step-down procedure as usually stated: reject the smallest p while p_(k) <= alpha / (m - k + 1)."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    rejected = set()
    for k, i in enumerate(order):
        if p[i] <= alpha / (len(p) - k):
            rejected.add(i)
        else:
            break
    return rejected


@pytest.mark.parametrize("p", [[0.01, 0.04, 0.03, 0.005], [0.2, 0.001, 0.0125, 0.0126, 0.6], [0.5]])
def test_holm_adjusted_p_rejects_exactly_what_the_step_down_procedure_rejects(p):
    adjusted = bootstrap.holm(p)
    for alpha in (0.005, 0.01, 0.025, 0.05, 0.1, 0.5):
        assert {i for i, q in enumerate(adjusted) if q <= alpha} == _holm_decisions(p, alpha), alpha
    assert (adjusted >= np.asarray(p)).all() and (adjusted <= 1).all()
    with_nan = bootstrap.holm([p[0], float("nan")])
    assert with_nan[0] == pytest.approx(p[0]) and math.isnan(with_nan[1])  # NaN is not in the family


def test_resolvable_difference_by_hand():
    # z_0.975 = 1.959964, z_0.80 = 0.841621: 2.801585 * sd * sqrt(2 / n)
    assert bootstrap.resolvable_difference(0.041, 3) == pytest.approx(2.801585 * 0.041 * math.sqrt(2 / 3), rel=1e-6)
    assert bootstrap.resolvable_difference(0.041, 3) == pytest.approx(0.0938, abs=5e-5)
    sd, rows, fewest = bootstrap.pooled_seed_sd([[0.5, 0.7], [0.1, 0.2, 0.6], [0.9]])
    # pooled variance: (1 * 0.02 + 2 * 0.07) / 3, the single seed left out
    assert (sd, rows, fewest) == (pytest.approx(math.sqrt((0.02 + 2 * 0.07) / 3)), 2, 2)
    assert bootstrap.pooled_seed_sd([[0.5], [0.7]]) is None


@pytest.fixture
def runs(tmp_path):
    for name, qualities, offset in (("base", (0.5, 0.55, 0.6), 10), ("good", (0.8, 0.9, 0.85), 20)):
        for seed, q in enumerate(qualities):
            frame = predictions(n_subjects=12, per_subject=4, tasks=("expr",), quality=q, seed=seed + offset)
            write_run(tmp_path, f"{name}-{seed}", {DB: frame}, seed=seed, coupling=name)
    frame = predictions(n_subjects=12, per_subject=4, tasks=("expr",), quality=0.7, seed=99)
    write_run(tmp_path, "single-0", {DB: frame}, seed=0, coupling="single")
    return tmp_path


def _recorded(root, metric):
    """{coupling: [value per seed]} read straight from the run folders' results.jsonl."""
    found = {}
    for path in sorted(root.glob("*/results.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["metric"] == metric:
                found.setdefault(record["coupling"], []).append(record["value"])
    return found


def test_tables_holm_adjust_their_family_and_show_the_resolvable_difference(runs):
    root = runs
    (table,) = build_tables([root], Settings(resamples=300, baseline="coupling=base"), [], registry=get_registry())
    compared = {r.key.coupling: r.comparisons["macro_f1"] for r in table.rows if r.comparisons}
    assert set(compared) == {"good", "single"}
    assert math.isnan(compared["single"].p_value)  # one seed: no hierarchical p, shown as a dash
    assert table.family_size == 1  # so Holm over a family of one leaves the good row's p as it is
    assert compared["good"].p_value == compared["good"].p_hierarchical
    text = to_markdown(table)
    assert "p test" in text and "Holm-adjusted over the 1 comparison(s)" in text
    # The smallest difference: the seed s.d. of macro_f1 pooled by hand over the two 3-seed rows.
    (resolvable,) = table.resolvable
    assert resolvable.metric == "macro_f1" and resolvable.rows == 2 and resolvable.n_seeds == 3
    recorded = _recorded(root, "macro_f1")
    variances = [np.var(recorded[k], ddof=1) for k in ("base", "good")]
    assert resolvable.seed_sd == pytest.approx(math.sqrt(sum(variances) / 2), rel=1e-9)
    assert resolvable.difference == pytest.approx(2.801585 * resolvable.seed_sd * math.sqrt(2 / 3), rel=1e-6)
    assert f"macro_f1, two va+expr+au rows: {resolvable.difference:.3f}" in text
    assert '"resolvable"' in to_json(table)


def test_seed_noise_is_pooled_per_task_set_and_a_single_task_row_is_resolved_against_the_baseline(tmp_path):
    # A holistic baseline and coupling row (steady seeds) beside an expression-only row whose seeds spread far.
    rows = {
        ("base", ("va", "expr", "au")): (0.60, 0.62, 0.64),
        ("soft", ("va", "expr", "au")): (0.66, 0.65, 0.70),
        ("none", ("expr",)): (0.35, 0.75, 0.55),
    }
    for (coupling, tasks), qualities in rows.items():
        for seed, q in enumerate(qualities):
            # one noise draw for every run, so each run's score follows its quality
            frame = predictions(n_subjects=12, per_subject=4, tasks=("expr",), quality=q, seed=5)
            write_run(
                tmp_path, f"{coupling}-{len(tasks)}-{seed}", {DB: frame}, seed=seed, coupling=coupling, tasks=tasks
            )
    settings = Settings(resamples=100, baseline="coupling=base")
    (table,) = build_tables([tmp_path], settings, [], registry=get_registry())
    recorded = {}
    for path in sorted(tmp_path.glob("*/results.jsonl")):
        for record in map(json.loads, path.read_text().splitlines()):
            if record["metric"] == "macro_f1":
                recorded.setdefault(record["coupling"], []).append(record["value"])
    var = {k: np.var(v, ddof=1) for k, v in recorded.items()}
    holistic_sd, single_sd = math.sqrt((var["base"] + var["soft"]) / 2), math.sqrt(var["none"])
    within, against = table.resolvable
    assert (within.tasks, within.against, within.rows, within.n_seeds) == ("va+expr+au", None, 2, 3)
    assert within.seed_sd == pytest.approx(holistic_sd, rel=1e-9)
    assert within.difference == pytest.approx(2.801585 * holistic_sd * math.sqrt(2 / 3), rel=1e-6)
    assert (against.tasks, against.against, against.rows) == ("expr", "va+expr+au", 1)
    assert (against.seed_sd, against.against_sd) == (pytest.approx(single_sd), pytest.approx(holistic_sd))
    assert against.difference == pytest.approx(2.801585 * math.sqrt((single_sd**2 + holistic_sd**2) / 3), rel=1e-6)
    assert single_sd > 3 * holistic_sd  # the case this is for: one pooled s.d. would misstate both
    text = to_markdown(table)
    assert f"macro_f1, expr against the va+expr+au baseline: {against.difference:.3f}" in text
    assert json.loads(to_json(table))["resolvable"][1]["against"] == "va+expr+au"


def test_holm_family_is_every_comparison_of_the_table(tmp_path):
    for name, qualities in (("base", (0.5, 0.6)), ("x", (0.9, 0.8)), ("y", (0.55, 0.65)), ("z", (0.6, 0.5))):
        for seed, q in enumerate(qualities):
            frame = predictions(n_subjects=10, per_subject=3, tasks=("expr",), quality=q, seed=seed + 7 * len(name))
            write_run(tmp_path, f"{name}-{seed}", {DB: frame}, seed=seed, coupling=name)
    (table,) = build_tables([tmp_path], Settings(resamples=200, baseline="coupling=base"), [], registry=get_registry())
    found = [c for r in table.rows for c in r.comparisons.values()]
    assert len(found) == 3 and table.family_size == 3
    raw = [c.p_hierarchical for c in found]
    for c in found:  # Holm: the i-th smallest raw p times (m - i + 1), made monotone, capped at 1
        rank = sorted(raw).index(c.p_hierarchical)
        floor = max(min(1.0, (3 - k) * sorted(raw)[k]) for k in range(rank + 1))
        assert c.p_value == pytest.approx(floor)
