"""Per-class views: per-expression F1 and recall (scoring, functional form), the confusion matrix and its
picture in a run folder, all against sklearn; undefined classes left out, not scored 0."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, f1_score, recall_score

from fbn_bench import metrics
from fbn_bench.confusion import CONFUSION_DIR, expression_confusion, read_description, write_run_picture
from fbn_bench.scoring import class_of, metric_names, per_item, score_predictions
from fbn_bench.tasks import EXPRESSIONS


def expr_frame(n=300, seed=0, classes=EXPRESSIONS):
    rng = np.random.default_rng(seed)
    truth = rng.choice(classes, n)
    pred = np.where(rng.random(n) < 0.5, truth, rng.choice(EXPRESSIONS, n))
    truth = np.where(rng.random(n) < 0.1, None, truth)  # unlabelled rows: never counted
    return pd.DataFrame({"expression": truth, "pred_expression": pred})


def expr_scores(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {m: (v, n) for (_, m), (v, n) in score_predictions(df, ("expr",), ()).items()}


@pytest.mark.parametrize("seed", range(3))
def test_per_class_f1_and_recall_match_sklearn(seed):
    df = expr_frame(seed=seed)
    got = expr_scores(df)
    rows = df[df["expression"].notna()]
    t, p = rows["expression"], rows["pred_expression"]
    f1 = f1_score(t, p, labels=list(EXPRESSIONS), average=None)
    recall = recall_score(t, p, labels=list(EXPRESSIONS), average=None)
    for i, name in enumerate(EXPRESSIONS):
        assert got[f"f1_{name}"][0] == pytest.approx(f1[i], abs=1e-12)
        assert got[f"recall_{name}"][0] == pytest.approx(recall[i], abs=1e-12)
        assert got[f"f1_{name}"][1] == got[f"recall_{name}"][1] == len(rows)
    # macro-F1 is the mean of the per-class F1 when every declared class is labelled
    assert got["macro_f1"][0] == pytest.approx(np.mean(f1), abs=1e-12)


def test_functional_forms_match_sklearn_and_leave_an_unlabelled_class_undefined():
    rng = np.random.default_rng(4)
    t, p = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    labels = list(range(5))
    assert metrics.per_class_f1(t, p, labels) == pytest.approx(f1_score(t, p, labels=labels, average=None))
    assert metrics.per_class_recall(t, p, labels) == pytest.approx(recall_score(t, p, labels=labels, average=None))
    assert metrics.confusion_matrix(t, p, 5).tolist() == confusion_matrix(t, p, labels=labels).tolist()
    # class 2 predicted but never labelled: sklearn's F1 is 0 by convention, ours undefined (NaN);
    # class 3 neither: NaN too. Hand-computed: class 0 tp 1, labelled 2, predicted 1 -> F1 2/3, recall 1/2.
    f1 = metrics.per_class_f1([0, 0, 1], [0, 2, 1], labels=[0, 1, 2, 3])
    assert f1[:2] == pytest.approx([2 / 3, 1.0]) and np.isnan(f1[2]) and np.isnan(f1[3])
    assert metrics.per_class_recall([0, 0, 1], [0, 2, 1], labels=[0, 1, 2])[:2] == pytest.approx([0.5, 1.0])


def test_a_class_without_labels_is_left_out_with_a_warning():
    df = expr_frame(seed=1, classes=EXPRESSIONS[:6])  # no surprise label
    with pytest.warns(UserWarning, match="surprise: no labelled sample in this split"):
        got = dict(score_predictions(df, ("expr",), ()))
    names = {m for _, m in got}
    assert "f1_surprise" not in names and "recall_surprise" not in names and "f1_sadness" in names


def test_per_class_names_are_detail_views_of_the_expression_task():
    names = [m for _, m in metric_names(("expr",), ())]
    assert names[:3] == ["macro_f1", "accuracy", "mean_class_accuracy"]  # summaries first
    assert {f"f1_{c}" for c in EXPRESSIONS} | {f"recall_{c}" for c in EXPRESSIONS} == set(names[3:])
    assert class_of("recall_fear") == "fear" and class_of("f1_mean") is None and class_of("f1_AU12") is None
    assert per_item("f1_AU12") and per_item("f1_anger") and not per_item("macro_f1")


def test_confusion_of_a_frame_matches_sklearn_and_ignores_unlabelled_rows():
    df = expr_frame(seed=2)
    rows = df[df["expression"].notna()]
    expected = confusion_matrix(rows["expression"], rows["pred_expression"], labels=list(EXPRESSIONS))
    assert expression_confusion(df).tolist() == expected.tolist()
    assert expression_confusion(df.assign(expression=None)) is None


def test_run_picture_is_a_png_holding_the_counts_and_the_scored_macro_f1(tmp_path):
    df = expr_frame(seed=3)
    path = write_run_picture(tmp_path, "synth-rafdb:scale=0.5", df)
    assert path.parent == tmp_path / CONFUSION_DIR and path.read_bytes()[:4] == b"\x89PNG"
    stored = json.loads(read_description(path))
    rows = df[df["expression"].notna()]
    expected = confusion_matrix(rows["expression"], rows["pred_expression"], labels=list(EXPRESSIONS))
    assert stored["classes"] == list(EXPRESSIONS) and stored["panels"][0]["counts"] == expected.tolist()
    macro = f1_score(rows["expression"], rows["pred_expression"], labels=list(EXPRESSIONS), average="macro")
    assert f"macro-F1 {macro:.3f}, n={len(rows)}" in stored["panels"][0]["title"]
    assert write_run_picture(tmp_path, "au-only", pd.DataFrame({"AU1": [1.0]})) is None
