"""Registered metric plugins are scored on every database that labels their task: in the records, from
the same inputs the core uses, checked here against sklearn/numpy on the stored predictions; and they
get a leaderboard bootstrap interval by recomputation on resampled rows."""

import numpy as np
import pytest
from engine_toy_plugin import write_toy
from sklearn.metrics import cohen_kappa_score

from fbn_bench.config import resolve_config
from fbn_bench.experiment import run_experiment
from fbn_bench.leaderboard import bootstrap
from fbn_bench.leaderboard.build import build_tables, render_all
from fbn_bench.leaderboard.samples import Clusters
from fbn_bench.leaderboard.tables import Settings
from fbn_bench.registry import build_registry
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
    # each names the split it is about (the val split's come first, then test's)
    assert "toy/test: metric 'broken' failed and was left out: ZeroDivisionError: oops" in messages
    assert "toy/test: metric 'undefined' returned nan and was left out" in messages
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


def test_a_plugin_metric_gets_a_bootstrap_interval_by_recomputation(run, tmp_path):
    """A plugin that gives only fn(y_true, y_pred) is recomputed on each resample's rows: its interval is
    the percentile interval of sklearn's kappa on the same resampled clusters."""
    registry = build_registry(extra_modules=["engine_toy_plugin", "metric_plugins_fixture"])
    settings = Settings(resamples=60)
    (table,) = build_tables([run.run_dir.parent], settings, [], only="toy", registry=registry)
    cell = table.rows[0].cells["kappa"]
    assert cell.boot_ci is not None

    frame = read_predictions(run.run_dir, "toy")
    clusters = Clusters.of(table.unit, [frame])
    weights = bootstrap.resample_weights(len(clusters), 60, bootstrap.database_rng(settings.seed, "toy"))
    codes = clusters.codes(frame)
    labelled = frame["expression"].notna().to_numpy()
    kappas = []
    for w in weights:
        take = np.repeat(np.flatnonzero(labelled), w[codes[labelled]].astype(int))
        kappas.append(
            cohen_kappa_score(frame["expression"].to_numpy()[take], frame["pred_expression"].to_numpy()[take])
        )
    assert cell.boot_ci == pytest.approx(bootstrap.percentile_interval(np.array(kappas)), abs=1e-9)
    files = render_all(tmp_path / "boards", [run.run_dir.parent], registry=registry)
    assert "kappa" in next(line for line in files["toy.md"].splitlines() if line.startswith("| # | backbone"))
