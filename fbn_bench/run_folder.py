"""The run folder, `runs/<run-id>/` or `--out DIR`: owned by exactly one run.

- A default folder is created exclusively under a unique id (identity.new_run_id), so two runs started in
  the same second get two folders.
- `--out DIR` must be new or empty. A folder holding another run is refused unless the caller replaces it
  (`fbn-bench run --force`, a sweep re-running an unfinished run): its contents are then deleted first, so
  old and new files never mix. A non-empty folder that holds no run is never deleted.
- While a run (or an `evaluate` writing into the folder) is in progress it holds an exclusive lock on the
  folder's `.lock` file; a second process is refused. The lock dies with its process, so a killed run never
  leaves a folder locked.

What a finished run leaves, in the order written (each file atomically): `config.json` first, then
`checkpoint.pt`, `predictions/`, and `results.jsonl` last: records exist only for a run that completed.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .atomic import TMP_PREFIX, atomic_write_text, write_error
from .errors import FbnError
from .identity import new_run_id
from .results import CONFIG_FILE, RESULTS_FILE, read_records

RUNS_DIR = Path("runs")
LOCK_FILE = ".lock"


@dataclass
class RunFolder:
    path: Path
    run_id: str
    _lock: IO | None = field(default=None, repr=False)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file drops the lock
            self._lock = None


def claim(config, run_id: str | None = None, replace: bool = False) -> RunFolder:
    """The folder this run owns: `config.out`, else `runs/<run_id or a new unique id>`."""
    if config.out:
        path = Path(config.out)
        had_lock_file = (path / LOCK_FILE).exists()
        lock = lock_folder(path)
        try:
            _make_empty(path, replace)
        except BaseException:
            lock.close()
            if not had_lock_file:  # leave a refused folder as it was
                (path / LOCK_FILE).unlink(missing_ok=True)
            raise
        return RunFolder(path, run_id or path.name, lock)
    for _ in range(100):
        chosen = run_id or new_run_id(config)
        path = RUNS_DIR / chosen
        try:
            path.mkdir(parents=True, exist_ok=False)  # exclusive: a folder another run created is never shared
        except FileExistsError:
            if run_id:
                raise FbnError(f"{path} exists already: run id {run_id!r} is taken; choose another") from None
            continue
        except OSError as exc:
            raise write_error(path, "run folder", exc) from None
        return RunFolder(path, chosen, lock_folder(path))
    raise FbnError(f"could not find a free run folder name in {RUNS_DIR}")  # only if ids stopped being random


def reopen(path: Path, run_id: str) -> RunFolder:
    """The folder of the unfinished run `run_id`, locked again to continue it (`fbn-bench run --resume`)."""
    path = Path(path)
    if not (path / CONFIG_FILE).is_file():
        raise FbnError(f"{path} holds no {CONFIG_FILE}: it is not the folder of a run; give the folder `run` wrote")
    return RunFolder(path, run_id, lock_folder(path))


def lock_folder(path: Path) -> IO:
    """An exclusive lock on `path` (created if need be) for this process; one line if another process holds it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle = open(path / LOCK_FILE, "a+")
    except OSError as exc:
        raise write_error(path, "run folder", exc) from None
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the other checks still apply
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        owner = handle.read().strip() or "?"
        handle.close()
        raise FbnError(
            f"{path} is in use by another fbn-bench process (pid {owner}); wait for it or choose another --out"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _contents(path: Path) -> list[Path]:
    """What a folder holds, besides the lock and the hidden temporaries of interrupted writes."""
    return [p for p in path.iterdir() if p.name != LOCK_FILE and not p.name.startswith(TMP_PREFIX)]


def _make_empty(path: Path, replace: bool) -> None:
    held = _contents(path)
    if not held:
        return
    names = ", ".join(sorted(p.name for p in held)[:3]) + (", ..." if len(held) > 3 else "")
    if not (path / CONFIG_FILE).is_file():
        raise FbnError(f"--out {path} is not empty ({names}) and holds no run; give a new or empty folder")
    if not replace:
        raise FbnError(
            f"--out {path} holds another run ({names}); give a new folder, or pass --force to delete that run "
            "and run here"
        )
    for item in path.iterdir():
        if item.name == LOCK_FILE:
            continue
        try:
            shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
        except OSError as exc:
            raise write_error(item, "run folder entry (deleting)", exc) from None


def write_config(folder: Path, config) -> None:
    atomic_write_text(Path(folder) / CONFIG_FILE, json.dumps(config.to_dict(), indent=2), "run configuration")


def stored_run_id(run_dir: Path) -> str:
    """The id the run's own records carry (a sweep names its folders seed-0, seed-1, ...), else the folder's name."""
    try:
        first = next(read_records(run_dir / RESULTS_FILE), None)
    except (FbnError, OSError):
        first = None
    return str(first["run_id"]) if first and first.get("run_id") else run_dir.name
