"""The plugin contract. A plugin is a module with functions marked `@fbn_bench.hookimpl`.

Registration hooks receive a `register` callable and call it once per thing they provide (the pattern
of `llm` and `datasette`), so the registry knows which plugin registered which name. Observer hooks
let loggers (CSV, TensorBoard, MLflow, ...) watch a run without the trainer knowing them.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("fbn_bench")
hookimpl = pluggy.HookimplMarker("fbn_bench")


@hookspec
def register_datasets(register):
    """Call `register(DatasetSpec(...))` for each database this plugin reads."""


@hookspec
def register_backbones(register):
    """Call `register(BackboneSpec(...))` for each feature extractor this plugin provides."""


@hookspec
def register_couplings(register):
    """Call `register(CouplingSpec(...))` for each task-coupling loss this plugin provides."""


@hookspec
def register_metrics(register):
    """Call `register(MetricSpec(...))` for each metric this plugin provides."""


@hookspec
def on_run_start(run):
    """A run begins. `run` is a `fbn_bench.RunInfo` (run id, output folder, resolved config)."""


@hookspec
def on_epoch_end(run, epoch, logs):
    """An epoch (or logging interval) ended; `logs` maps loss-term names to mean values."""


@hookspec
def on_run_end(run, records):
    """A run finished; `records` are the result records it wrote."""
