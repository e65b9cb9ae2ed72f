"""A tiny toy run that SIGKILLs itself halfway through writing one of its files, for the fault tests.

    python tests/fault_run.py KILL_AT OUT TOY_ROOT      KILL_AT: config, checkpoint, predictions, records

The file being written gets half of its bytes, then the process dies as `kill -9` would kill it: no cleanup,
no exception handlers, no atexit. Whatever the run left in OUT is what a later command finds.
"""

from __future__ import annotations

import io
import os
import signal
import sys
from pathlib import Path

TARGETS = {"config": "config.json", "checkpoint": "checkpoint.pt", "predictions": ".csv.gz", "records": "results.jsonl"}


def die_after_half(path_or_file, data: bytes) -> None:
    """Write half of `data` to a path or into an open file object (torch.save is given either), then SIGKILL."""
    if hasattr(path_or_file, "write"):
        path_or_file.write(data[: len(data) // 2])
        path_or_file.flush()
        os.sync()
    else:
        with open(path_or_file, "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
            os.fsync(fh.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


def arm(kill_at: str) -> None:
    """Patch the writer of `kill_at`'s file (wherever the code writes it: final name or temporary)."""
    import pandas as pd
    import torch

    target = TARGETS[kill_at]
    if kill_at == "checkpoint":
        real_save = torch.save

        def save(obj, f, *args, **kwargs):
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            die_after_half(f, buffer.getvalue())

        torch.save = save
    elif kill_at == "predictions":
        real_to_csv = pd.DataFrame.to_csv

        def to_csv(self, path_or_buf=None, *args, **kwargs):
            if path_or_buf is None or target not in Path(path_or_buf).name:
                return real_to_csv(self, path_or_buf, *args, **kwargs)
            scratch = Path(str(path_or_buf) + ".scratch")
            real_to_csv(self, scratch, *args, **kwargs)
            data = scratch.read_bytes()
            scratch.unlink()
            die_after_half(path_or_buf, data)

        pd.DataFrame.to_csv = to_csv
    else:  # text files: written through pathlib (directly or via fbn_bench.atomic)
        real_text, real_bytes = Path.write_text, Path.write_bytes

        def write_text(self, text, *args, **kwargs):
            if target in self.name:
                die_after_half(self, text.encode())
            return real_text(self, text, *args, **kwargs)

        def write_bytes(self, data):
            if target in self.name:
                die_after_half(self, data)
            return real_bytes(self, data)

        Path.write_text, Path.write_bytes = write_text, write_bytes


def main(kill_at: str, out: str, toy_root: str) -> None:
    from fbn_bench.config import resolve_config
    from fbn_bench.experiment import run_experiment
    from fbn_bench.registry import build_registry

    registry = build_registry(extra_modules=["engine_toy_plugin"])
    config = resolve_config(
        "quick",
        datasets=(f"toy:root={toy_root}",),
        image_size=16,
        steps=2,
        batch_size=24,
        hidden=16,
        eval_batch_size=64,
        out=out,
    )
    arm(kill_at)
    run_experiment(config, registry, progress=False, cpu=True)
    sys.exit(3)  # the fault never fired: the test fails on this status


if __name__ == "__main__":
    main(*sys.argv[1:4])
