"""The plugin contract. A plugin is a module with functions marked `@fbn_bench.hookimpl`.

Registration hooks receive a `register` callable and call it once per thing they provide (the pattern
of `llm` and `datasette`), so the registry knows which plugin registered which name. Observer hooks
let loggers (CSV, TensorBoard, MLflow, ...) watch a run without the trainer knowing them.

A `@hookimpl` whose name matches no hook below is reported as a plugin warning with the closest hook name,
and an implementation may take a subset of its hook's arguments but no other names. Observer hooks are called
one implementation at a time (plain functions, no wrappers): one that raises is warned about once per hook and
skipped, and the run and the other observers go on.
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
def register_zero_shot(register):
    """Call `register(ZeroShotSpec(...))` for each zero-shot compound-expression scorer this plugin provides."""


@hookspec
def register_detectors(register):
    """Call `register(DetectorSpec(...))` for each face detector this plugin provides (docs/faces.md)."""


@hookspec
def on_run_start(run):
    """A run begins. `run` is a `fbn_bench.RunInfo` (run id, output folder, resolved config)."""


@hookspec
def on_epoch_end(run, epoch, logs):
    """An epoch (or logging interval) ended. `logs` holds `epoch` and `step` (ints: the epoch number and the
    training steps done so far), then each loss term (task losses `va`, `expr`, `au`, coupling terms such as
    `soft/au`, and their sum `loss`) -> its mean over the interval (float)."""


@hookspec
def on_run_end(run, records):
    """A run finished; `records` are the result records it wrote."""


@hookspec
def on_run_failed(run, error):
    """A run that started stopped on `error` (the exception, re-raised after this hook): close what
    `on_run_start` opened. Either this or `on_run_end` is called once for every `on_run_start`."""
