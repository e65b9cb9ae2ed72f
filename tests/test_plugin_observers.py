"""Observer plugins (loggers): one that crashes is warned about once and costs the run nothing; what its hooks
are given is what hookspecs.py documents; a run that fails tells them so they can close."""

import sys

import pytest
from engine_toy_plugin import write_toy
from plugin_modules import write_plugin

from fbn_bench import RunInfo
from fbn_bench.config import resolve_config
from fbn_bench.experiment import run_experiment
from fbn_bench.registry import build_registry


def toy_run_config(tmp_path, **settings):
    """A two-step run on a tiny toy database: enough for every observer hook to be called."""
    root = write_toy(tmp_path / "toy", n_train=24, n_test=8)
    return resolve_config(
        "quick",
        datasets=(f"toy:root={root}",),
        image_size=16,
        steps=2,
        batch_size=12,
        out=str(tmp_path / "run"),
        hidden=8,
        eval_batch_size=8,
        **settings,
    )


# --- observers ----------------------------------------------------------------------------------------------

OBSERVERS = {
    "fbntest_crashing_logger": """
        from fbn_bench import hookimpl

        @hookimpl
        def on_epoch_end(run, epoch, logs):
            raise ConnectionError("tracking server down")
    """,
    "fbntest_quiet_logger": """
        from fbn_bench import hookimpl

        SEEN = []

        @hookimpl
        def on_run_start(run):
            SEEN.append(("start", run.run_id))

        @hookimpl
        def on_epoch_end(epoch, logs):  # a subset of the hook's arguments, in any order
            SEEN.append(("epoch", epoch, dict(logs)))

        @hookimpl
        def on_run_end(run, records):
            SEEN.append(("end", len(records)))
    """,
}


def test_an_observer_that_raises_is_warned_about_once_and_the_others_go_on(plugin_dir, tmp_path, capsys):
    for name, body in OBSERVERS.items():
        write_plugin(plugin_dir, name, body)
    registry = build_registry(extra_modules=list(OBSERVERS))
    assert registry.failures == []
    hook = registry.hook()
    run = RunInfo("r1", tmp_path, {})
    hook.on_run_start(run=run)
    for epoch in (1, 2, 3):
        hook.on_epoch_end(run=run, epoch=epoch, logs={"epoch": epoch, "step": epoch * 10, "loss": 0.5})
    hook.on_run_end(run=run, records=[{}, {}])

    seen = sys.modules["fbntest_quiet_logger"].SEEN
    assert seen[0] == ("start", "r1") and seen[-1] == ("end", 2)
    assert [s[1] for s in seen if s[0] == "epoch"] == [1, 2, 3]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "fbntest_crashing_logger" in line]
    assert warnings == [
        "Warning: plugin fbntest_crashing_logger raised in on_epoch_end and was skipped there "
        "(ConnectionError: tracking server down); the run goes on (repeats are not shown)",
        "Warning: plugin fbntest_crashing_logger raised in on_epoch_end 3 times in this run",
    ]


def test_a_crashing_logger_does_not_cost_the_run_its_checkpoint(plugin_dir, tmp_path, capsys):
    for name, body in OBSERVERS.items():
        write_plugin(plugin_dir, name, body)
    registry = build_registry(extra_modules=["engine_toy_plugin", *OBSERVERS])
    config = toy_run_config(tmp_path, seed=1)
    outcome = run_experiment(config, registry, progress=False)
    assert (outcome.run_dir / "checkpoint.pt").is_file() and (outcome.run_dir / "results.jsonl").is_file()
    assert "fbntest_crashing_logger raised in on_epoch_end" in capsys.readouterr().err
    # What on_epoch_end's `logs` holds, as hookspecs.py and docs/writing-plugins.md describe it.
    logs = [s[2] for s in sys.modules["fbntest_quiet_logger"].SEEN if s[0] == "epoch"]
    assert logs and all(isinstance(row["epoch"], int) and isinstance(row["step"], int) for row in logs)
    assert {"epoch", "step", "loss", "va", "expr", "au"} <= set(logs[-1]) and logs[-1]["step"] == 2
    assert all(isinstance(v, float) for row in logs for k, v in row.items() if k not in ("epoch", "step"))


def test_a_run_that_fails_tells_its_observers_so_they_can_close(plugin_dir, tmp_path, monkeypatch):
    write_plugin(
        plugin_dir,
        "fbntest_closing_logger",
        """
        from fbn_bench import hookimpl

        SEEN = []

        @hookimpl
        def on_run_start(run):
            SEEN.append("start")

        @hookimpl
        def on_run_failed(run, error):
            SEEN.append(("failed", type(error).__name__, str(error)))

        @hookimpl
        def on_run_end(run, records):
            SEEN.append("end")
    """,
    )
    registry = build_registry(extra_modules=["engine_toy_plugin", "fbntest_closing_logger"])
    config = toy_run_config(tmp_path)

    def out_of_memory(*args, **kwargs):
        raise MemoryError("no room")

    monkeypatch.setattr("fbn_bench.train.fit", out_of_memory)
    with pytest.raises(MemoryError, match="no room"):
        run_experiment(config, registry, progress=False)
    assert sys.modules["fbntest_closing_logger"].SEEN == ["start", ("failed", "MemoryError", "no room")]
