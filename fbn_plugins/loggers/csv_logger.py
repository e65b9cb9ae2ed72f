"""The built-in training log: one CSV row per epoch in `<run folder>/train_log.csv`, one column per
loss term, written through the observer hooks like any third-party logger would."""

from __future__ import annotations

import csv

from fbn_bench import hookimpl

LOG_FILE = "train_log.csv"


@hookimpl
def on_run_start(run):
    (run.out_dir / LOG_FILE).unlink(missing_ok=True)


@hookimpl
def on_epoch_end(run, epoch, logs):
    path = run.out_dir / LOG_FILE
    fresh = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(logs))
        if fresh:
            writer.writeheader()
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in logs.items()})
