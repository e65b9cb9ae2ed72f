"""The TensorBoard logger plugin: what a run writes there, read back with TensorBoard's own reader."""

import json
import sys

import pandas as pd
import pytest

from fbn_bench.config import resolve_config
from fbn_bench.experiment import run_experiment
from fbn_bench.registry import build_registry

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def toy_run(toy_root, out):
    config = resolve_config(
        "quick",
        datasets=(f"toy:root={toy_root}",),
        image_size=16,
        steps=12,
        batch_size=48,
        seed=1,
        out=str(out),
        hidden=32,
        eval_batch_size=16,
    )
    # 96 training faces in batches of 16 per task: 6 steps an epoch, so two points per curve.
    return run_experiment(config, build_registry(extra_modules=["engine_toy_plugin"]), progress=False)


def test_losses_and_scores_land_in_tensorboard(toy_root, tmp_path):
    outcome = toy_run(toy_root, tmp_path / "run")
    events = event_accumulator.EventAccumulator(str(outcome.run_dir / "tensorboard"))
    events.Reload()
    log = pd.read_csv(outcome.run_dir / "train_log.csv")
    assert len(log) >= 2
    for term in ("loss", "va", "expr", "au"):
        scalars = events.Scalars(f"train/{term}")
        assert [s.step for s in scalars] == list(log["step"])
        assert [s.value for s in scalars] == pytest.approx(list(log[term]), rel=1e-5)
    for record in outcome.records:
        (score,) = events.Scalars(f"test/{record['dataset']}/{record['metric']}")
        assert score.value == pytest.approx(record["value"], rel=1e-6) and score.step == 12
    (config,) = events.Tensors("config/text_summary")
    text = config.tensor_proto.string_val[0].decode()
    assert json.loads(text.replace("\n    ", "\n"))["seed"] == 1


def test_without_tensorboard_the_run_writes_no_event_files(toy_root, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail
    outcome = toy_run(toy_root, tmp_path / "run")
    assert not (outcome.run_dir / "tensorboard").exists()
    assert (outcome.run_dir / "train_log.csv").is_file() and outcome.records


def test_a_failed_run_closes_its_writer(toy_root, tmp_path, monkeypatch):
    from fbn_plugins.loggers import tensorboard_logger

    def broken_fit(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("fbn_bench.train.fit", broken_fit)
    with pytest.raises(KeyboardInterrupt):
        toy_run(toy_root, tmp_path / "run")
    assert tensorboard_logger._open == {}  # closed, not left open for the rest of the process
    assert list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))


def test_a_resumed_run_logs_each_step_once(tmp_path):
    # What resume does to the observers: a second on_run_start in the same folder, then the saved epochs
    # replayed and the rest logged; TensorBoard must show every step once, with the resumed run's values.
    from fbn_bench.specs import RunInfo
    from fbn_plugins.loggers import tensorboard_logger as tb

    run = RunInfo("r", tmp_path, {"seed": 0})
    tb.on_run_start(run)
    for epoch, step in ((1, 6), (2, 12), (3, 18)):  # the process that stopped after step 18 (saved at 12)
        tb.on_epoch_end(run, epoch, {"epoch": epoch, "step": step, "loss": 9.0})
    tb.on_run_failed(run, RuntimeError("stopped"))
    tb.on_run_start(run)
    for epoch, step in ((1, 6), (2, 12), (3, 18), (4, 24)):  # replayed 6, 12; then 18 again and 24
        tb.on_epoch_end(run, epoch, {"epoch": epoch, "step": step, "loss": float(step)})
    tb.on_run_end(run, [])
    events = event_accumulator.EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(s.step, s.value) for s in events.Scalars("train/loss")] == [(6, 6.0), (12, 12.0), (18, 18.0), (24, 24.0)]
