"""`checkpoint.pt`: a trained model with the configuration, resolved plugins and hash of its run.

Written atomically (a hidden temporary file renamed over the final name), so a file by that name is always
whole: a run killed while saving leaves no checkpoint, and `evaluate` says so in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import atomic_path
from .config import RunConfig
from .errors import FbnError
from .weights import read_torch_file

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass
class Checkpoint:
    state: dict[str, Any]
    config: RunConfig  # the training configuration
    run_dir: Path
    plugins: dict[str, Any] | None = None  # as resolved at training time (None: a checkpoint from before)
    config_hash: str | None = None  # identity.run_hash of the training run (None: a checkpoint from before)
    world_size: int = 1


def save_checkpoint(run_dir: Path, state: dict[str, Any], config: RunConfig, plugins, config_hash, world_size) -> Path:
    path = Path(run_dir) / CHECKPOINT_FILE
    saved = {
        "model": state,
        "config": config.to_dict(),
        "plugins": plugins,
        "config_hash": config_hash,
        "world_size": world_size,
    }
    return save_torch_file(path, saved, "checkpoint")


def save_torch_file(path: Path, obj: Any, what: str) -> Path:
    """torch.save `obj` to `path` atomically; a failed write (a full disk) is one line naming the path."""
    import torch

    with atomic_path(path, what) as tmp, open(tmp, "wb", buffering=0) as fh:
        sink = _WholeWrites(fh)
        try:
            torch.save(obj, sink)
        except RuntimeError:
            if sink.error is not None:  # torch's "unexpected pos" hides the OSError the write raised
                raise sink.error from None
            raise
    return path


class _WholeWrites:
    """A file that writes every byte it is given or keeps the OSError (ENOSPC on a full disk) that stopped it.

    torch's zip writer reports a failed write as an opaque "unexpected pos" RuntimeError; the kept error lets
    atomic_path say in one line which path could not be written and why."""

    def __init__(self, raw):
        self.raw, self.error = raw, None

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        try:
            while view:
                view = view[self.raw.write(view) :]
        except OSError as exc:
            self.error = exc
            raise
        return len(data)

    def flush(self) -> None:
        self.raw.flush()


def load_checkpoint(path: str | Path) -> Checkpoint:
    """A run folder's (or a checkpoint file's) trained weights and training configuration."""
    path = Path(path)
    file = path / CHECKPOINT_FILE if path.is_dir() else path
    if not file.is_file():
        from .results import CONFIG_FILE
        from .resume import STATE_FILE
        from .run_folder import LOCK_FILE

        if path.is_dir() and not any((path / f).exists() for f in (CONFIG_FILE, LOCK_FILE, STATE_FILE)):
            why = f" ({path} is not a run folder: it has no {CONFIG_FILE})"
        else:
            why = " (the run did not finish, or is still running)" if path.is_dir() else ""
        raise FbnError(f"no checkpoint at {file}{why}; give a finished run folder (runs/<id>) or its {CHECKPOINT_FILE}")
    saved = read_torch_file(file, "a fbn-bench checkpoint")
    if not isinstance(saved, dict) or "model" not in saved or "config" not in saved:
        raise FbnError(f"{file}: not a fbn-bench checkpoint (expected keys 'model' and 'config')")
    return Checkpoint(
        saved["model"],
        RunConfig(**saved["config"]),
        file.parent,
        saved.get("plugins"),
        saved.get("config_hash"),
        int(saved.get("world_size", 1)),
    )
