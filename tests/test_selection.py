"""Selection on validation only: the schedule, the selection rule, early stopping, fair budgets, and a run that
never reads `test` before training has finished (a dataset whose test split cannot be loaded until then)."""

from __future__ import annotations

import math

import pytest
from engine_toy_plugin import write_toy

from fbn_bench import FbnError
from fbn_bench.config import resolve_config
from fbn_bench.data.streams import budget_batch_size
from fbn_bench.registry import build_registry
from fbn_bench.results import read_predictions
from fbn_bench.scoring import headlines, score_predictions
from fbn_bench.selection import Selector
from fbn_bench.train import lr_factor


def test_warmup_then_cosine_and_constant_by_hand():
    # 100 steps, 10% warm-up: steps 0..9 ramp 0.1 .. 1.0, then 0.5 (1 + cos(pi t)) over the remaining 90.
    assert [lr_factor(s, 100, "cosine", 0.1) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert lr_factor(10, 100, "cosine", 0.1) == pytest.approx(1.0)
    assert lr_factor(55, 100, "cosine", 0.1) == pytest.approx(0.5)  # halfway through the decay
    assert lr_factor(40, 100, "cosine", 0.1) == pytest.approx(0.5 * (1 + math.cos(math.pi / 3)))
    assert lr_factor(100, 100, "cosine", 0.1) == pytest.approx(0.0)
    assert [lr_factor(s, 100, "constant", 0.1) for s in (0, 9, 50, 99)] == pytest.approx([0.1, 1.0, 1.0, 1.0])
    assert lr_factor(0, 100, "cosine", 0.0) == pytest.approx(1.0)  # no warm-up


def test_selection_keeps_the_best_and_stops_after_patience():
    config = resolve_config("quick", patience=2)
    selector = Selector([], accelerator=None, config=config)
    decisions = [selector.observe(step, score) for step, score in ((10, 0.5), (20, 0.6), (30, 0.6), (40, 0.55))]
    assert decisions == [True, True, False, False]  # a tie is not better: the earlier checkpoint stays
    assert (selector.best_step, selector.best_score, selector.since_best) == (20, 0.6, 2)
    assert selector.since_best >= config.patience  # what __call__ turns into "stop"
    assert not selector.observe(50, None)  # a validation without any score never wins


def test_equal_sample_budget_gives_a_single_task_net_the_holistic_share():
    assert budget_batch_size(96, ("va", "expr", "au"), "samples") == 96
    assert budget_batch_size(96, ("au",), "samples") == 32
    assert budget_batch_size(96, ("expr", "au"), "samples") == 64
    assert budget_batch_size(97, ("va",), "samples") == 33  # the first task takes the odd sample, as in split_counts
    assert budget_batch_size(96, ("au",), "steps") == 96


def test_protocol_settings_are_checked():
    for bad in ({"lr_schedule": "step"}, {"budget": "epochs"}, {"warmup": 1.0}, {"val_every": 0}, {"patience": 0}):
        with pytest.raises(FbnError):
            resolve_config("quick", **bad)


@pytest.fixture
def guarded(tmp_path, monkeypatch):
    """A registry with toy-guarded, whose test split raises until `fit` has returned."""
    import guarded_toy_plugin

    import fbn_bench.evaluate
    import fbn_bench.train

    guard = guarded_toy_plugin.GUARD
    guard.update(open=False, test_loads=0)
    predicted: list[tuple[str, bool]] = []
    real_fit, real_predict = fbn_bench.train.fit, fbn_bench.evaluate.predict

    def fit(*args, **kwargs):
        history = real_fit(*args, **kwargs)
        guard["open"] = True
        return history

    def predict(model, split, *args, **kwargs):
        predicted.append((split.split, guard["open"]))
        return real_predict(model, split, *args, **kwargs)

    monkeypatch.setattr(fbn_bench.train, "fit", fit)
    monkeypatch.setattr(fbn_bench.evaluate, "predict", predict)
    root = write_toy(tmp_path / "toy", n_train=120, n_test=40)
    return build_registry(extra_modules=["guarded_toy_plugin"]), root, guard, predicted


def guarded_config(root, out, **overrides):
    settings = dict(
        datasets=(f"toy-guarded:root={root}",),
        image_size=16,
        steps=30,
        val_every=10,
        batch_size=24,
        seed=3,
        out=str(out),
        hidden=32,
        eval_batch_size=16,
    )
    return resolve_config("quick", **{**settings, **overrides})


def test_a_run_selects_on_val_and_reads_test_once_after_training(guarded, tmp_path):
    from fbn_bench.evaluate import evaluate_checkpoint
    from fbn_bench.experiment import run_experiment

    registry, root, guard, predicted = guarded
    outcome = run_experiment(guarded_config(root, tmp_path / "run"), registry, progress=False)
    assert guard["test_loads"] == 1
    # Validation at steps 10, 20, 30 predicts val only; test is predicted once, after training.
    assert predicted == [("val", False)] * 3 + [("test", True)]
    records = outcome.records
    assert {r["split"] for r in records} == {"test"}
    selected = records[0]["selected_step"]
    assert selected in (10, 20, 30) and {r["selected_step"] for r in records} == {selected}
    assert records[0]["steps_run"] == 30
    assert records[0]["samples_seen"] == {"va": 8 * 30, "expr": 8 * 30, "au": 8 * 30}
    # The val predictions kept are the selected checkpoint's: they give the records' val values, whose
    # headline mean is the selection score.
    val = read_predictions(outcome.run_dir, "toy-guarded.val")
    rescored = score_predictions(val, ("va", "expr", "au"), (4, 12))
    for r in records:
        if (r["task"], r["metric"]) in rescored:
            assert r["val_value"] == pytest.approx(rescored[(r["task"], r["metric"])][0])
    on_val = [r["val_value"] for r in records if r["metric"] == headlines()[r["task"]]]
    assert records[0]["selection_score"] == pytest.approx(sum(on_val) / len(on_val))
    # val_curve: each record's own (dataset, task) headline on val at every validation; at the selected
    # step that is the headline's val_value.
    for r in records:
        assert [step for step, _ in r["val_curve"]] == [10, 20, 30]
        if r["metric"] == headlines()[r["task"]]:
            assert dict(r["val_curve"])[selected] == pytest.approx(r["val_value"], rel=1e-5)
    # The checkpoint saved is the one tested: re-scoring it gives the run's test values.
    again = evaluate_checkpoint(outcome.run_dir, registry=registry, progress=False, out=tmp_path / "again")
    assert {(r["metric"], round(r["value"], 6)) for r in again.records} == {
        (r["metric"], round(r["value"], 6)) for r in records
    }


def test_early_stopping_ends_the_run_at_the_first_plateau(guarded, tmp_path):
    from fbn_bench.experiment import run_experiment

    registry, root, guard, predicted = guarded
    config = guarded_config(root, tmp_path / "es", steps=24, val_every=3, patience=1, lr=1e-9, lr_schedule="constant")
    outcome = run_experiment(config, registry, progress=False)
    record = outcome.records[0]
    # With a learning rate of 1e-9 nothing learns, so the first validations tie or barely move: patience 1
    # stops at the first that is not better, one validation after the selected one.
    assert record["steps_run"] == record["selected_step"] + 3 < 24
    assert len([p for p in predicted if p[0] == "val"]) == record["steps_run"] // 3
    assert guard["test_loads"] == 1


def test_each_validation_is_a_line_of_the_log(guarded, tmp_path, capsys):
    """Progress bars are off when stderr is not a terminal; the validations still say how the run goes."""
    from fbn_bench.experiment import run_experiment

    registry, root, _, _ = guarded
    outcome = run_experiment(guarded_config(root, tmp_path / "log"), registry, progress=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("step ")]
    assert [line.split(":")[0] for line in lines] == ["step 10", "step 20", "step 30"]
    selected = outcome.records[0]["selected_step"]
    best = [line for line in lines if line.endswith("(best so far)")]
    assert best[-1].startswith(f"step {selected}: val selection score {outcome.records[0]['selection_score']:.4f}")


def test_single_task_run_under_the_sample_budget_sees_its_holistic_share(guarded, tmp_path):
    from fbn_bench.experiment import run_experiment

    registry, root, _, _ = guarded
    config = guarded_config(root, tmp_path / "st", tasks="au", steps=10, val_every=5)
    record = run_experiment(config, registry, progress=False).records[0]
    assert record["samples_seen"] == {"au": 8 * 10}  # batch 24 split over three tasks: 8 of AU per step
