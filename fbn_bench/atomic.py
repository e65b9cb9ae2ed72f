"""Atomic writes: a file appears whole under its final name or not at all.

Everything a later command trusts (checkpoints, records, markers, caches, tables) is written to a hidden
temporary file in the destination folder, flushed, then renamed over the final name (`os.replace` is atomic
on one filesystem). A process killed mid-write leaves only a `.tmp-*` file, which nothing reads and
`clean_stale_temporaries` removes. A write that fails (no permission, a full disk) is one `FbnError` naming
the path.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import FbnError, os_hint

TMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_path(path: str | Path, what: str = "file") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on a clean exit it replaces `path`, on any error it is removed.

    For writers that want a file name (torch.save, DataFrame.to_csv, numpy): `with atomic_path(p) as tmp:
    torch.save(obj, tmp)`.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}.", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise write_error(path, what, exc) from None
    tmp = Path(name)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(path, what, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes, what: str = "file") -> None:
    with atomic_path(path, what) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise write_error(path, what, exc) from None


def atomic_write_text(path: str | Path, text: str, what: str = "file") -> None:
    atomic_write_bytes(path, text.encode("utf-8"), what)


def write_error(path: Path, what: str, exc: OSError) -> FbnError:
    """One line for a write that failed: which path, why, and what to do."""
    return FbnError(f"cannot write {what} {path}: {exc.strerror or type(exc).__name__}; {os_hint(exc)}")


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def clean_stale_temporaries(folder: str | Path, older_than_s: float = 3600.0) -> int:
    """Remove `.tmp-*` files and folders under `folder` left by a killed process (older than `older_than_s`,
    so a write in progress in another process is never touched). Returns how many were removed."""
    import shutil

    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed, cutoff = 0, time.time() - older_than_s
    for stale in folder.rglob(f"{TMP_PREFIX}*"):
        try:
            if stale.lstat().st_mtime > cutoff:
                continue
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale)
            else:
                stale.unlink()
            removed += 1
        except OSError:
            continue  # gone already, or not ours to remove: never fatal
    return removed
