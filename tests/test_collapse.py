"""The collapse check: a run whose every head ignores the image is stopped at a validation, with one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from test_engine import toy_config

from fbn_bench import FbnError, collapse
from fbn_bench.experiment import run_experiment
from fbn_bench.scoring import score_predictions
from fbn_bench.tasks import AUS, EXPRESSIONS


def _constant_frame(n=60, seed=0):
    """Labels drawn at random, every prediction the same constant: an image-blind predictor."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "valence": rng.uniform(-1, 1, n),
            "arousal": rng.uniform(-1, 1, n),
            "expression": rng.choice(EXPRESSIONS[:5], n),  # five of the seven classes occur
            "pred_valence": 0.3,
            "pred_arousal": -0.1,
            "pred_expression": "happiness",
        }
    )
    for au in AUS:
        frame[f"AU{au}"] = (rng.random(n) < 0.3).astype(float)
        frame[f"prob_AU{au}"] = 0.42
    for name in EXPRESSIONS:
        frame[f"logit_{name}"] = 0.0
    return frame


def _records(frame, dataset="db"):
    scores = score_predictions(frame, ("va", "expr", "au"), AUS)
    return [{"dataset": dataset, "task": t, "metric": m, "value": v} for (t, m), (v, _) in scores.items()]


def test_image_blind_values_are_what_a_constant_scores_by_sklearn():
    frame = _constant_frame()
    labels = frame["expression"]
    assert balanced_accuracy_score(labels, frame["pred_expression"]) == pytest.approx(
        collapse.image_blind_value("expr", frame)
    )
    assert collapse.image_blind_value("expr", frame) == pytest.approx(1 / 5)
    assert roc_auc_score(frame["AU1"], frame["prob_AU1"]) == collapse.image_blind_value("au", frame) == 0.5


def test_a_constant_predictor_is_a_collapse_and_one_learned_task_is_not():
    frame = _constant_frame()
    with pytest.warns(UserWarning):  # Pearson of a constant prediction is undefined (and announced)
        records = _records(frame)
    problem = collapse.collapse_problem(records, {"db": frame}, step=300)
    assert problem and "at step 300" in problem and "db/au" in problem and "db/expr" in problem
    learned = frame.copy()
    learned["prob_AU1"] = learned["AU1"] * 0.5 + 0.25  # one AU predicted from its label: AUC 1 on it
    with pytest.warns(UserWarning):
        records = _records(learned)
    assert collapse.learned_pairs(records, {"db": learned})[0] == ["db/au"]
    assert collapse.collapse_problem(records, {"db": learned}, step=300) is None


def test_short_runs_are_not_checked():
    assert collapse.check_step(collapse.MIN_STEPS - 1) is None
    assert collapse.check_step(800) == 400


def test_a_run_that_predicts_constants_on_val_is_stopped(toy_root, registry, tmp_path, monkeypatch):
    import fbn_bench.evaluate as evaluate

    real_predict = evaluate.predict

    def image_blind(*args, **kwargs):  # what a collapsed network outputs: the same row for every image
        return {task: np.repeat(value[:1], len(value), axis=0) for task, value in real_predict(*args, **kwargs).items()}

    monkeypatch.setattr(evaluate, "predict", image_blind)
    monkeypatch.setattr(collapse, "MIN_STEPS", 1)
    config = toy_config(toy_root, tmp_path / "collapsed", steps=12, val_every=4)
    with pytest.raises(FbnError, match=r"training collapsed: at step 8 no task on val beats"):
        run_experiment(config, registry, progress=False)
