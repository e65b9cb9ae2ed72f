"""TensorBoard logging, active once the `tensorboard` extra is installed (`pip install -e ".[tensorboard]"`).

Writes event files to `<run folder>/tensorboard/`: every loss term at the end of each epoch
(`train/<term>`, against the step), every test score at the end of the run (`test/<dataset>/<metric>`),
and the resolved configuration as text. `tensorboard --logdir runs` then shows all runs side by side.
Without TensorBoard installed this plugin does nothing. Like the CSV logger, it only uses the observer
hooks, which fire on the main process alone.
"""

from __future__ import annotations

import json

from fbn_bench import hookimpl

LOG_DIR = "tensorboard"

# run_id -> (writer, last step logged): the hooks of one run share a writer.
_open: dict[str, list] = {}


def _summary_writer():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # the extra is not installed
        return None
    return SummaryWriter


@hookimpl
def on_run_start(run):
    writer_class = _summary_writer()
    if writer_class is None:
        return
    log_dir = run.out_dir / LOG_DIR
    # A resumed run replays every epoch its saved state holds (resume.py), so the event files of the stopped
    # process would show those steps twice, and the steps after its last save (done again now) with two values.
    for stale in log_dir.glob("events.out.tfevents.*"):
        stale.unlink()
    writer = writer_class(log_dir=str(log_dir))
    # Indented four spaces: TensorBoard renders text as Markdown, and this keeps the JSON a code block.
    config = "\n".join("    " + line for line in json.dumps(run.config, indent=2, default=str).splitlines())
    writer.add_text("config", config, 0)
    _open[run.run_id] = [writer, 0]


@hookimpl
def on_epoch_end(run, epoch, logs):
    if run.run_id not in _open:
        return
    writer, _ = _open[run.run_id]
    step = int(logs["step"])
    for name, value in logs.items():
        if name not in ("epoch", "step"):
            writer.add_scalar(f"train/{name}", value, step)
    writer.add_scalar("train/epoch", epoch, step)
    writer.flush()
    _open[run.run_id][1] = step


@hookimpl
def on_run_end(run, records):
    if run.run_id not in _open:
        return
    writer, step = _open.pop(run.run_id)
    for record in records:
        writer.add_scalar(f"test/{record['dataset']}/{record['metric']}", record["value"], step)
    writer.close()


@hookimpl
def on_run_failed(run, error):
    if run.run_id in _open:
        _open.pop(run.run_id)[0].close()  # what was logged until the failure stays readable
