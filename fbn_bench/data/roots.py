"""Where databases live on disk, and loading one split as a canonical table."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import FbnError, os_error_line
from ..options import resolve_plugin
from ..specs import DatasetSpec
from ..tasks import AUS, VA_COLUMNS
from .splits import TRAIN_SIDE, carve, derived_unit_column
from .table import LoadedTable, as_loaded, normalize_table

DATA_ENV = "FBN_BENCH_DATA"


def default_data_root() -> Path:
    """`$FBN_BENCH_DATA`, else the per-user cache folder (e.g. ~/.cache/fbn-bench/data)."""
    if os.environ.get(DATA_ENV):
        return _folder_from_env(DATA_ENV, "the databases")
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("fbn-bench")) / "data"


def dataset_root(spec: DatasetSpec, options: dict[str, Any], data_root: str | Path | None = None) -> Path:
    """`root=` from the dataset's options wins; else `<data root>/<name>`."""
    if options.get("root"):
        return Path(str(options["root"])).expanduser()
    return Path(data_root or default_data_root()).expanduser() / spec.name


def load_split(
    spec: DatasetSpec, split: str, options: dict[str, Any] | None = None, data_root: str | Path | None = None
) -> tuple[pd.DataFrame, Path]:
    """`read_split` for the rows alone: (canonical table, root)."""
    loaded, root = read_split(spec, split, options, data_root)
    return loaded.frame, root


def read_split(
    spec: DatasetSpec, split: str, options: dict[str, Any] | None = None, data_root: str | Path | None = None
) -> tuple[LoadedTable, Path]:
    """Call the plugin's loader with every option (checked, defaults filled: options.resolve_plugin) and
    normalize its table. Returns (the canonical table with the loader's skipped rows and notes, root)."""
    # A plugin without its own `val` gets one carved from its `train` (fbn_bench.data.splits).
    derive_val = split in TRAIN_SIDE and "val" not in spec.splits and "train" in spec.splits
    if split not in spec.splits and not derive_val:
        raise FbnError(f"dataset {spec.name!r} has no split {split!r}; its splits are {', '.join(spec.splits)}")
    plugin = resolve_plugin("datasets", spec, options)
    root = dataset_root(spec, plugin.with_root(), data_root)
    try:
        table = spec.load(root, "train" if derive_val else split, **plugin.options)
    except FbnError:
        raise  # the plugin's own one-line message about the user's files
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and not root.exists():
            raise _missing_root(spec, root) from exc
        # a folder it cannot read, or (synthetic data) cannot generate into: what is wrong is not that it is absent
        raise FbnError(f"{spec.name}: {os_error_line(exc)}") from exc
    except Exception as exc:
        if not root.exists():  # a loader that did not check its root: the user's mistake, not a bug
            raise _missing_root(spec, root) from exc
        first = (str(exc).strip().splitlines() or [""])[0]
        raise FbnError(
            f"dataset {spec.name!r} ({_plugin_of(spec)}): load(root, {split!r}) raised "
            f"{type(exc).__name__}: {first}; this is a bug in the dataset plugin: run "
            f"`fbn-bench datasets check {spec.name}` for details (--debug shows the traceback)"
        ) from exc
    loaded = as_loaded(table)
    if isinstance(loaded.frame, pd.DataFrame):
        _warn_ignored_columns(spec, loaded.frame)
    frame = normalize_table(loaded.frame, spec, split, spec.expression_classes(plugin.options))
    loaded = LoadedTable(frame, loaded.skipped, loaded.notes)
    if derive_val:
        loaded = carve(loaded, spec.name, split, derived_unit_column(spec, loaded.frame))
    return loaded, root


def _missing_root(spec: DatasetSpec, root: Path) -> FbnError:
    return FbnError(
        f"{spec.name} root {root} does not exist; pass --data-root DIR (then DIR/{spec.name}) or {spec.name}:root=PATH"
    )


def _plugin_of(spec: DatasetSpec) -> str:
    """`plugin <module>` of the loader, for pointing at the code that failed."""
    fn = getattr(spec.load, "func", spec.load)  # functools.partial
    module = getattr(fn, "__module__", None)
    return f"plugin {module}" if module else "its plugin"


# Case-insensitive look-alikes of the canonical label columns (AU01, au12, AU_4, Valence, ...).
_LABEL_LIKE = re.compile(r"^(?:au[ _-]?(\d+)|valence|arousal|expression)$", re.IGNORECASE)


def ignored_label_columns(table: pd.DataFrame, spec: DatasetSpec) -> dict[str, str]:
    """Columns of a loader's table that look like labels but that normalize_table does not keep as labels,
    each with why: a misspelt name (`AU01`, `au12`, `Valence`; always listed), or labels the spec does not
    declare (an AU outside `spec.aus`, valence without the 'va' task; listed when the column holds labels)."""
    ignored = {}
    for column in map(str, table.columns):
        match = _LABEL_LIKE.match(column)
        if not match:
            continue
        canonical = f"AU{int(match.group(1))}" if match.group(1) else column.lower()
        if column != canonical:
            ignored[column] = f"is not a canonical name: rename it to {canonical} (names are case-sensitive)"
        elif not table[column].notna().any():
            continue
        elif match.group(1):
            au = int(match.group(1))
            if au not in AUS:
                ignored[column] = f"holds labels but AU{au} is not one of fbn-bench's 17; drop it"
            elif au not in spec.aus:
                ignored[column] = f"holds labels but AU{au} is not in spec.aus {spec.aus}"
        else:
            task = "va" if column in VA_COLUMNS else "expr"
            if task not in spec.tasks:
                ignored[column] = f"holds labels but {task!r} is not in spec.tasks"
    return ignored


_warned: set[str] = set()  # databases already warned about in this process


def _warn_ignored_columns(spec: DatasetSpec, table: pd.DataFrame) -> None:
    """One stderr line per database when the run leaves some of the loader's label columns out."""
    ignored = ignored_label_columns(table, spec)
    if not ignored or spec.name in _warned:
        return
    _warned.add(spec.name)
    details = "; ".join(f"{column} {why}" for column, why in ignored.items())
    print(
        f"warning: {spec.name}: the run ignores loader column(s): {details}; "
        f"`fbn-bench datasets check {spec.name}` lists every problem",
        file=sys.stderr,
    )


def resolve_image(root: Path, image: str) -> Path:
    path = Path(image)
    return path if path.is_absolute() else root / path


CACHE_ENV = "FBN_BENCH_CACHE"


def default_cache_dir() -> Path:
    """`$FBN_BENCH_CACHE`, else the per-user cache folder (e.g. ~/.cache/fbn-bench/images)."""
    if os.environ.get(CACHE_ENV):
        return _folder_from_env(CACHE_ENV, "the decoded-image cache")
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("fbn-bench")) / "images"


def _folder_from_env(name: str, what: str) -> Path:
    """The folder an environment variable names; a one-line error when a file is in its place."""
    path = Path(os.environ[name]).expanduser()
    if path.exists() and not path.is_dir():
        raise FbnError(f"${name} is {path}, a file, but it must name a folder for {what}; point it at a folder")
    return path
