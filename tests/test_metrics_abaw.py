"""The ABAW measures (docs/metrics.md): P_AU over ABAW's 12 AUs, P_MTL over its 8 classes and the sum
with the 7-class expression term, against sklearn and numpy on random data; scored only where they are
defined (all 12 AUs annotated, all three tasks scored)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from fbn_bench import metrics
from fbn_bench.metrics.families import ABAW_AUS
from fbn_bench.scoring import make_scope, record_fields, score_predictions
from fbn_bench.tasks import EXPRESSIONS

AFFWILD2_AUS = (*ABAW_AUS, 20)  # the loader's union: ABAW 2020's AU20 too


def affwild2_frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    out = {"valence": rng.uniform(-1, 1, n), "arousal": rng.uniform(-1, 1, n)}
    out["pred_valence"] = 0.6 * out["valence"] + rng.normal(0, 0.3, n)
    out["pred_arousal"] = 0.4 * out["arousal"] + rng.normal(0.1, 0.3, n)
    out["valence"][rng.random(n) < 0.3] = np.nan  # each task labels other frames, as Aff-Wild2's three sets do
    expr = rng.choice(EXPRESSIONS, n)
    out["expression"] = np.where(rng.random(n) < 0.4, None, expr)
    out["pred_expression"] = np.where(rng.random(n) < 0.5, expr, rng.choice(EXPRESSIONS, n))
    for au in AFFWILD2_AUS:
        truth = (rng.random(n) < 0.3).astype(float)
        truth[rng.random(n) < 0.2] = np.nan
        out[f"AU{au}"] = truth
        out[f"prob_AU{au}"] = np.clip(0.35 * np.nan_to_num(truth) + rng.random(n) * 0.7, 0, 1)
    return pd.DataFrame(out)


def abaw_scores(df, tasks=("va", "expr", "au"), aus=AFFWILD2_AUS, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {m: v for (_, m), v in score_predictions(df, tasks, aus, **kw).items()}


def _ccc(t, p):  # Lin's CCC with numpy's population moments, independent of fbn_bench.metrics
    t, p = np.asarray(t), np.asarray(p)
    return 2 * np.cov(t, p, bias=True)[0, 1] / (t.var() + p.var() + (t.mean() - p.mean()) ** 2)


def _p_au(df, thresholds=None):
    f1 = []
    for au in ABAW_AUS:
        rows = df[df[f"AU{au}"].notna()]
        f1.append(f1_score(rows[f"AU{au}"], rows[f"prob_AU{au}"] >= (thresholds or {}).get(au, 0.5)))
    return np.mean(f1)


@pytest.mark.parametrize("seed", range(3))
def test_abaw_measures_match_sklearn_and_numpy(seed):
    df = affwild2_frame(seed=seed)
    got = abaw_scores(df)
    p_au = _p_au(df)
    assert got["abaw_au"][0] == pytest.approx(p_au, abs=1e-12)
    assert got["abaw_au"][0] != pytest.approx(got["f1_mean"][0], abs=1e-6)  # f1_mean also averages AU20
    va = df.dropna(subset=["valence", "arousal"])
    p_va = (_ccc(va["valence"], va["pred_valence"]) + _ccc(va["arousal"], va["pred_arousal"])) / 2
    ex = df[df["expression"].notna()]
    p_expr7 = f1_score(ex["expression"], ex["pred_expression"], labels=list(EXPRESSIONS), average="macro")
    assert got["abaw_mtl7"][0] == pytest.approx(p_va + p_expr7 + p_au, abs=1e-12)
    au_rows = df.index[df[[f"AU{a}" for a in ABAW_AUS]].notna().any(axis=1)]
    assert got["abaw_au"][1] == len(au_rows)  # n: frames labelled for any of the 12 AUs
    assert got["abaw_mtl7"][1] == len(va.index.union(ex.index).union(au_rows))  # ... or for VA or an expression


def test_abaw_au_takes_the_validated_thresholds_and_records_say_which():
    df = affwild2_frame(seed=4)
    chosen = {au: 0.35 + 0.05 * (i % 4) for i, au in enumerate(AFFWILD2_AUS)}
    got = abaw_scores(df, thresholds=chosen)
    assert got["abaw_au"][0] == pytest.approx(_p_au(df, chosen), abs=1e-12)
    fields = record_fields("abaw_mtl7", make_scope(("va", "expr", "au"), AFFWILD2_AUS, chosen))
    assert fields["threshold_source"] == "val" and fields["thresholds"]["12"] == chosen[12]


def test_functional_forms_agree_with_scoring():
    df = affwild2_frame(seed=5).dropna(subset=["valence", "arousal", "expression"])
    got = abaw_scores(df)
    au_true = df[[f"AU{a}" for a in ABAW_AUS]].to_numpy()
    au_pred = (df[[f"prob_AU{a}" for a in ABAW_AUS]].to_numpy() >= 0.5).astype(float)
    assert metrics.abaw_au(au_true, au_pred) == pytest.approx(got["abaw_au"][0], abs=1e-12)
    codes = {name: i for i, name in enumerate(EXPRESSIONS)}
    value = metrics.abaw_mtl(
        df[["valence", "arousal"]].to_numpy(),
        df[["pred_valence", "pred_arousal"]].to_numpy(),
        df["expression"].map(codes).to_numpy(),
        df["pred_expression"].map(codes).to_numpy(),
        au_true,
        au_pred,
    )
    assert value == pytest.approx(got["abaw_mtl7"][0], abs=1e-12)


def test_only_where_defined_all_twelve_aus_and_for_the_sum_all_three_tasks():
    df = affwild2_frame(seed=6)
    bp4d_like = tuple(a for a in AFFWILD2_AUS if a != 26) + (14,)  # one of ABAW's 12 missing
    assert not {"abaw_au", "abaw_mtl7"} & set(abaw_scores(df, aus=bp4d_like))
    au_only = abaw_scores(df, tasks=("au",))
    assert "abaw_au" in au_only and "abaw_mtl7" not in au_only  # a single-task run has no multi-task sum


ABAW8 = (*EXPRESSIONS, "other")


def affwild2_frame_8(n=400, seed=0):
    """affwild2_frame with ABAW's eighth class: a quarter of the expression labels and some predictions Other."""
    df = affwild2_frame(n, seed)
    rng = np.random.default_rng(seed + 100)
    labelled = df["expression"].notna().to_numpy()
    df.loc[labelled & (rng.random(n) < 0.25), "expression"] = "other"
    df.loc[rng.random(n) < 0.15, "pred_expression"] = "other"
    return df


@pytest.mark.parametrize("seed", range(2))
def test_abaw_p_mtl_takes_macro_f1_over_the_eight_classes(seed):
    """`abaw_mtl` (the challenge's P_MTL) on an 8-class split: sklearn's macro F1 over the 8 labels, and only
    there; `abaw_mtl7` only on a 7-class split, so neither name ever means the other."""
    df = affwild2_frame_8(seed=seed)
    got = abaw_scores(df, classes=ABAW8)
    va = df.dropna(subset=["valence", "arousal"])
    p_va = (_ccc(va["valence"], va["pred_valence"]) + _ccc(va["arousal"], va["pred_arousal"])) / 2
    ex = df[df["expression"].notna()]
    p_expr8 = f1_score(ex["expression"], ex["pred_expression"], labels=list(ABAW8), average="macro")
    assert got["abaw_mtl"][0] == pytest.approx(p_va + p_expr8 + _p_au(df), abs=1e-12)
    assert got["macro_f1"][0] == pytest.approx(p_expr8, abs=1e-12)
    assert got["f1_other"][0] == pytest.approx(f1_score(ex["expression"] == "other", ex["pred_expression"] == "other"))
    assert "abaw_mtl7" not in got
    assert "abaw_mtl" not in abaw_scores(affwild2_frame(seed=seed))  # 7 classes: the 7-class sum only
    codes = {name: i for i, name in enumerate(ABAW8)}
    from fbn_plugins.metrics.builtin import _FUNCTIONS

    rows = df.dropna(subset=["valence", "arousal", "expression"])
    au_true = rows[[f"AU{a}" for a in ABAW_AUS]].to_numpy()
    au_pred = (rows[[f"prob_AU{a}" for a in ABAW_AUS]].to_numpy() >= 0.5).astype(float)
    args = (rows[["valence", "arousal"]].to_numpy(), rows[["pred_valence", "pred_arousal"]].to_numpy())
    args += (rows["expression"].map(codes).to_numpy(), rows["pred_expression"].map(codes).to_numpy(), au_true, au_pred)
    assert _FUNCTIONS["abaw_mtl"](*args) == pytest.approx(
        abaw_scores(rows, classes=ABAW8)["abaw_mtl"][0], abs=1e-12
    )  # the registered functional form agrees with scoring
