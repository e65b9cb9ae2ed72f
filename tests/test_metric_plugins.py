"""Registered metric plugins are scored on every database that labels their task: in the records, from
the same inputs the core uses, checked here against sklearn/numpy on the stored predictions."""

import numpy as np
import pytest
from engine_toy_plugin import write_toy
from sklearn.metrics import cohen_kappa_score

from fbn_bench.config import resolve_config
from fbn_bench.experiment import run_experiment
from fbn_bench.leaderboard.build import render_all
from fbn_bench.registry import build_registry, get_registry
from fbn_bench.results import read_predictions


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = write_toy(tmp_path_factory.mktemp("toy"))
    registry = build_registry(extra_modules=["engine_toy_plugin", "metric_plugins_fixture"])
    config = resolve_config(
        "quick",
        datasets=(f"toy:root={root}",),
        image_size=16,
        steps=6,
        batch_size=24,
        seed=0,
        out=str(tmp_path_factory.mktemp("runs") / "run"),
        hidden=32,
        eval_batch_size=16,
    )
    with pytest.warns(UserWarning) as caught:
        outcome = run_experiment(config, registry, progress=False)
    messages = [str(w.message) for w in caught]
    assert "metric 'broken' failed and was left out: ZeroDivisionError: oops" in messages
    assert "metric 'undefined' returned nan and was left out" in messages
    return outcome


def value(outcome, metric):
    (found,) = [r for r in outcome.records if r["metric"] == metric]
    return found


def test_each_plugin_metric_is_scored_on_its_task(run):
    frame = read_predictions(run.run_dir, "toy")
    va = frame.dropna(subset=["valence", "arousal"])
    mae = np.abs(va[["valence", "arousal"]].to_numpy() - va[["pred_valence", "pred_arousal"]].to_numpy()).mean()
    assert value(run, "va_mae")["value"] == pytest.approx(mae, abs=1e-6) and value(run, "va_mae")["task"] == "va"

    expr = frame.dropna(subset=["expression"])
    kappa = cohen_kappa_score(expr["expression"], expr["pred_expression"])
    assert value(run, "kappa")["value"] == pytest.approx(kappa, abs=1e-9)
    assert value(run, "kappa")["n_samples"] == len(expr)

    aus = [c for c in frame.columns if c.startswith("AU") and f"prob_{c}" in frame]
    truth, pred = frame[aus].to_numpy(float), (frame[[f"prob_{c}" for c in aus]].to_numpy(float) >= 0.5)
    labelled = ~np.isnan(truth)
    assert value(run, "au_acc")["value"] == pytest.approx((truth[labelled] == pred[labelled]).mean(), abs=1e-9)


def test_a_broken_metric_costs_only_its_own_column(run):
    assert not [r for r in run.records if r["metric"] in ("broken", "undefined")]
    assert value(run, "macro_f1")["value"] >= 0  # the core scores are all there


def test_plugin_metrics_get_leaderboard_columns_without_bootstrap(run, tmp_path):
    files = render_all(tmp_path / "boards", [run.run_dir.parent], registry=get_registry())
    lines = files["toy.md"].splitlines()
    header = next(line for line in lines if line.startswith("| # | backbone"))
    row = next(line for line in lines if line.startswith("| 1 | small"))
    assert "kappa" in header and "va_mae" in header
    assert row.rstrip(" |").endswith("± – [–]")  # the last column is a plugin metric: no bootstrap interval
