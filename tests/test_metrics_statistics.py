"""The one metric implementation (fbn_bench.metrics) against independent references (sklearn, scipy,
hand-computed cases), its statistics adding up, thresholds chosen on validation, undefined AUs, and the
built-in VA loss sharing the CCC formula."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    roc_auc_score,
)

from fbn_bench import metrics
from fbn_bench.losses import va_loss
from fbn_bench.metrics import BUILTIN, Scope, choose_thresholds
from fbn_bench.metrics.families import ABAW_AUS, ABAW_SUMS
from fbn_bench.scoring import record_fields, score_predictions
from fbn_bench.tasks import EXPRESSIONS

AUS = (1, 2, 12)


def frame(n=120, seed=0, aus=AUS, positives=0.3):
    """A predictions frame with every task, some labels missing, probabilities on a coarse grid (ties)."""
    rng = np.random.default_rng(seed)
    out = {"image": [f"i{i}" for i in range(n)], "subject": [f"s{i % 9}" for i in range(n)]}
    v, a = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    out |= {"valence": v, "arousal": a, "pred_valence": 0.7 * v + rng.normal(0, 0.3, n)}
    out["pred_arousal"] = 0.5 * a + rng.normal(0.1, 0.3, n)
    out["valence"][:7] = np.nan
    expr = rng.choice(EXPRESSIONS[:6], n)  # no "surprise": macro F1 must still count it
    out["expression"] = np.where(rng.random(n) < 0.1, None, expr)
    out["pred_expression"] = np.where(rng.random(n) < 0.6, expr, rng.choice(EXPRESSIONS, n))
    for au in aus:
        truth = (rng.random(n) < positives).astype(float)
        truth[rng.random(n) < 0.15] = np.nan
        out[f"AU{au}"] = truth
        out[f"prob_AU{au}"] = np.round(np.clip(0.3 * np.nan_to_num(truth) + rng.random(n) * 0.6, 0, 1), 2)
    for au in aus:  # AU intensity (au_int), drawn after the rest so the other columns stay as they were
        level = rng.integers(0, 6, n).astype(float)
        level[rng.random(n) < 0.15] = np.nan
        out[f"AU{au}_int"] = level
        out[f"pred_int_AU{au}"] = np.clip(0.6 * np.nan_to_num(level) + rng.normal(0.5, 1.0, n), 0, 5)
    return pd.DataFrame(out)


def scores(df, aus=AUS, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {m: v for (_, m), (v, _) in score_predictions(df, ("va", "expr", "au", "au_int"), aus, **kw).items()}


# --- each metric against an independent reference ---------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_va_measures_match_scipy_and_numpy(seed):
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, 300)
    p = 0.5 * t + rng.normal(0.05, 0.4, 300)
    assert metrics.pearson(t, p) == pytest.approx(stats.pearsonr(t, p).statistic, abs=1e-9)
    assert metrics.rmse(t, p) == pytest.approx(np.sqrt(np.mean((p - t) ** 2)), abs=1e-9)
    assert metrics.sagr(t, p) == pytest.approx(np.mean(np.sign(t) == np.sign(p)), abs=1e-12)


def test_va_measures_hand_computed_and_edge_cases():
    # t = (0, 1), p = (1, 2): r = 1, errors 1 and 1 -> RMSE 1, CCC = 1/3 (see test_metrics)
    assert metrics.pearson([0, 1], [1, 2]) == pytest.approx(1.0)
    assert metrics.rmse([0, 1], [1, 2]) == pytest.approx(1.0)
    assert metrics.sagr([-0.5, 0.2, 0.3, -0.1], [-0.1, -0.2, 0.9, 0.4]) == 0.5  # signs agree on 2 of 4
    assert np.isnan(metrics.pearson([0.1, 0.5, 0.2], [0.3, 0.3, 0.3]))  # constant: undefined (scipy warns, nan)


@pytest.mark.parametrize("seed", range(4))
def test_ap_and_auc_match_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    t = (rng.random(250) < 0.3).astype(int)
    s = np.round(0.3 * t + rng.random(250) * 0.7, 1)  # few distinct scores: many ties
    assert metrics.average_precision(t, s) == pytest.approx(average_precision_score(t, s), abs=1e-12)
    assert metrics.roc_auc(t, s) == pytest.approx(roc_auc_score(t, s), abs=1e-12)


def test_ap_and_auc_edge_cases():
    assert metrics.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert metrics.roc_auc([0, 1], [0.5, 0.5]) == 0.5  # a tie counts half
    assert metrics.average_precision([1, 0, 1], [0.9, 0.8, 0.1]) == pytest.approx((1 + 2 / 3) / 2)
    assert np.isnan(metrics.average_precision([0, 0], [0.2, 0.9]))  # no positive: undefined
    assert np.isnan(metrics.roc_auc([1, 1], [0.2, 0.9]))  # no negative: undefined


def test_scoring_matches_sklearn_per_metric():
    df = frame(seed=3)
    got = scores(df)
    expr = df[df["expression"].notna()]
    t, p = expr["expression"], expr["pred_expression"]
    assert got["macro_f1"] == pytest.approx(f1_score(t, p, labels=list(EXPRESSIONS), average="macro"), abs=1e-12)
    assert got["mean_class_accuracy"] == pytest.approx(balanced_accuracy_score(t, p), abs=1e-12)
    va = df.dropna(subset=["valence", "arousal"])
    assert got["pearson_arousal"] == pytest.approx(stats.pearsonr(va["arousal"], va["pred_arousal"]).statistic)
    for au in AUS:
        rows = df[df[f"AU{au}"].notna()]
        y, s = rows[f"AU{au}"], rows[f"prob_AU{au}"]
        assert got[f"f1_AU{au}@0.5"] == pytest.approx(f1_score(y, s >= 0.5), abs=1e-12)
        assert got[f"ap_AU{au}"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
        assert got[f"auc_AU{au}"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert got["ap_mean"] == pytest.approx(np.mean([got[f"ap_AU{a}"] for a in AUS]), abs=1e-12)
    assert got["auc_mean"] == pytest.approx(np.mean([got[f"auc_AU{a}"] for a in AUS]), abs=1e-12)


def test_macro_f1_counts_a_declared_class_that_is_absent():
    # Only two of the seven classes occur, both predicted right: over the present classes this would be 1.
    df = pd.DataFrame({"expression": ["anger", "fear"] * 5, "pred_expression": ["anger", "fear"] * 5})
    got = scores(df)["macro_f1"]
    assert got == pytest.approx(2 / 7)
    assert got == pytest.approx(
        f1_score(df["expression"], df["pred_expression"], labels=list(EXPRESSIONS), average="macro")
    )


# --- statistics add up -------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", BUILTIN, ids=lambda f: f.name)
def test_score_of_a_concatenation_is_the_formula_on_summed_statistics(family):
    aus = ABAW_AUS if family.name.startswith("abaw") else AUS  # the ABAW measures need its 12 AUs
    whole = frame(n=150, seed=5, aus=aus)
    parts = [whole.iloc[:40], whole.iloc[40:95], whole.iloc[95:]]
    classes = ABAW_SUMS.get(family.name, EXPRESSIONS)  # abaw_mtl is bound only over ABAW's 8 classes
    scope = Scope(("va", "expr", "au", "au_int"), aus, classes)
    bound = family.bind(whole, scope)
    if family.name in ("ap", "auc"):
        # Rank statistics are counts per distinct score of the frame they are bound to (like a
        # torchmetrics binned metric's thresholds): the parts' rows summed on those bins.
        summed = sum(bound.features[i : i + len(p)].sum(axis=0) for i, p in zip((0, 40, 95), parts))
    else:  # moments and counts need no shared state: bind each part on its own
        summed = sum(family.bind(p, scope).features.sum(axis=0) for p in parts)
    assert bound.compute(summed) == pytest.approx(bound.score(), abs=1e-12, nan_ok=True)
    for name, value in bound.compute(summed).items():
        if np.isnan(value):  # undefined on this frame (f1_surprise: surprise is never labelled), so not scored
            assert name not in scores(whole, aus, classes=classes)
            continue
        assert value == pytest.approx(scores(whole, aus, classes=classes)[name], abs=1e-12), name


# --- AU thresholds, undefined AUs --------------------------------------------------------------------------


def under_confident(n, seed):
    """Positives score 0.3-0.45 and negatives 0.05-0.35: 0.5 calls every AU off, 0.35 separates well."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.4).astype(float)
    prob = np.where(truth == 1, rng.uniform(0.3, 0.45, n), rng.uniform(0.05, 0.35, n))
    return pd.DataFrame({"AU12": truth, "prob_AU12": prob, "AU1": truth[::-1], "prob_AU1": (truth[::-1] * 0.8 + 0.1)})


def test_thresholds_chosen_on_val_differ_from_half_and_improve_test_f1():
    val, test = under_confident(400, seed=0), under_confident(400, seed=1)
    chosen = choose_thresholds(val, (1, 12))
    assert chosen[12] != 0.5 and 0.25 <= chosen[12] <= 0.35
    # AU1 is separated by every threshold in (0.1, 0.9]: F1 ties, so the one nearest 0.5 wins
    assert chosen[1] == 0.5
    with_val = dict(score_predictions(test, ("au",), (1, 12), thresholds=chosen))
    rows = test["AU12"]
    assert with_val[("au", "f1_AU12")][0] == pytest.approx(f1_score(rows, test["prob_AU12"] >= chosen[12]))
    assert with_val[("au", "f1_AU12")][0] > with_val[("au", "f1_AU12@0.5")][0] + 0.5
    assert with_val[("au", "f1_AU12@0.5")][0] == pytest.approx(f1_score(rows, test["prob_AU12"] >= 0.5))


def test_threshold_grid_is_searched_exhaustively_against_a_brute_force():
    val = frame(n=300, seed=8)
    chosen = choose_thresholds(val, AUS)
    for au in AUS:
        rows = val[val[f"AU{au}"].notna()]
        grid = np.round(np.arange(1, 20) * 0.05, 2)
        f1s = np.array([f1_score(rows[f"AU{au}"], rows[f"prob_AU{au}"] >= g) for g in grid])
        best = grid[np.isclose(f1s, f1s.max())]
        assert chosen[au] == best[np.argmin(np.abs(best - 0.5))]


def test_records_say_which_thresholds_were_used():
    fixed = record_fields("f1_mean", Scope(("au",), (1, 12)))
    assert fixed == {"thresholds": {"1": 0.5, "12": 0.5}, "threshold_source": "fixed-0.5"}
    val = Scope(("au",), (1, 12), thresholds={1: 0.5, 12: 0.3})
    assert record_fields("f1_AU12", val) == {"threshold": 0.3, "threshold_source": "val"}
    assert record_fields("f1_AU12@0.5", val) == {"threshold": 0.5, "threshold_source": "fixed-0.5"}
    assert record_fields("ap_AU12", val) == {}


def test_an_au_without_positive_labels_is_undefined_and_left_out_of_every_mean():
    df = frame(n=200, seed=2, aus=(1, 2, 12, 14))
    df["AU14"] = np.where(df["AU14"].notna(), 0.0, np.nan)  # labelled, never positive (synth-bp4d's AU14)
    with pytest.warns(UserWarning, match="AU14: no positive label"):
        got = {m: v for (_, m), (v, _) in score_predictions(df, ("au",), (1, 2, 12, 14)).items()}
    assert not {"f1_AU14", "f1_AU14@0.5", "ap_AU14", "auc_AU14"} & set(got)
    for prefix, suffix in (("f1", ""), ("f1", "@0.5"), ("ap", ""), ("auc", "")):
        others = [got[f"{prefix}_AU{a}{suffix}"] for a in (1, 2, 12)]
        assert got[f"{prefix}_mean{suffix}"] == pytest.approx(np.mean(others), abs=1e-12)


def test_va_loss_uses_the_scoring_ccc_formula():
    rng = np.random.default_rng(0)
    pred, target = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
    loss = va_loss(torch.tensor(pred), torch.tensor(target), torch.ones(50, dtype=torch.bool)).item()
    by_scoring = 1 - (metrics.ccc(target[:, 0], pred[:, 0]) + metrics.ccc(target[:, 1], pred[:, 1])) / 2
    assert loss == pytest.approx(by_scoring, abs=1e-7)


def test_the_headline_metric_is_the_databases(tmp_path):
    from leaderboard_helpers import predictions, write_run

    from fbn_bench import DatasetSpec
    from fbn_bench.leaderboard.records import load_entries
    from fbn_bench.leaderboard.tables import Settings, build_table

    for seed in (0, 1):
        write_run(tmp_path, f"r{seed}", {"db": predictions(tasks=("au",), seed=seed)}, tasks=("au",), lr=seed)
    entries = load_entries([tmp_path])
    by_default = DatasetSpec("db", {"au"}, load=None, aus=(1, 2, 12))
    by_auc = DatasetSpec("db", {"au"}, load=None, aus=(1, 2, 12), headline={"au": "auc_mean"})
    assert build_table("db", entries, Settings(resamples=10), spec=by_default).headline == "f1_mean"
    table = build_table("db", entries, Settings(resamples=10), spec=by_auc)
    assert table.headline == "auc_mean"
    means = [row.cells["auc_mean"].mean for row in table.rows]
    assert means == sorted(means, reverse=True)  # rows ranked by the database's headline


def test_leaderboard_resamples_with_the_thresholds_the_records_name(tmp_path):
    import json

    from leaderboard_helpers import predictions, write_run

    from fbn_bench.leaderboard.records import load_entries
    from fbn_bench.leaderboard.samples import load_predictions
    from fbn_bench.leaderboard.sums import layout_for, metrics_from_sums, row_features

    df = predictions(tasks=("au",), seed=4)
    run_dir = write_run(tmp_path, "r0", {"db": df}, tasks=("au",))
    chosen = {1: 0.3, 2: 0.7, 12: 0.45}
    scope = Scope(("au",), AUS, thresholds=chosen)
    lines = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    rescored = {m: v for (_, m), (v, _) in score_predictions(df, ("au",), AUS, thresholds=chosen).items()}
    lines = [{**r, "value": rescored[r["metric"]], **record_fields(r["metric"], scope)} for r in lines]
    (run_dir / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))

    (entry,) = load_entries([tmp_path])
    assert entry.runs[0].thresholds == chosen
    (frame,) = load_predictions(entry).values()
    whole = metrics_from_sums(row_features(frame, layout := layout_for(frame, ("au",), AUS)).sum(axis=0), layout)
    assert whole["f1_mean"] == pytest.approx(entry.runs[0].values["f1_mean"], abs=1e-12)
    assert whole["f1_mean"] != pytest.approx(entry.runs[0].values["f1_mean@0.5"], abs=1e-6)  # the thresholds matter
