"""Where databases live on disk, and loading one split as a canonical table."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import FbnError
from ..specs import DatasetSpec, check_declared_options
from ..tasks import AUS, VA_COLUMNS
from .splits import TRAIN_SIDE, carve, derived_unit_column
from .table import normalize_table

DATA_ENV = "FBN_BENCH_DATA"


def default_data_root() -> Path:
    """`$FBN_BENCH_DATA`, else the per-user cache folder (e.g. ~/.cache/fbn-bench/data)."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("fbn-bench")) / "data"


def dataset_root(spec: DatasetSpec, options: dict[str, Any], data_root: str | Path | None = None) -> Path:
    """`root=` from the dataset's options wins; else `<data root>/<name>`."""
    if options.get("root"):
        return Path(str(options["root"])).expanduser()
    return Path(data_root or default_data_root()).expanduser() / spec.name


def loader_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options meant for the plugin's `load` (everything but the core's `root`)."""
    return {k: v for k, v in options.items() if k != "root"}


def load_split(
    spec: DatasetSpec, split: str, options: dict[str, Any] | None = None, data_root: str | Path | None = None
) -> tuple[pd.DataFrame, Path]:
    """Call the plugin's loader and normalize its table. Returns (table, root)."""
    options = dict(options or {})
    # A plugin without its own `val` gets one carved from its `train` (fbn_bench.data.splits).
    derive_val = split in TRAIN_SIDE and "val" not in spec.splits and "train" in spec.splits
    if split not in spec.splits and not derive_val:
        raise FbnError(f"dataset {spec.name!r} has no split {split!r}; its splits are {', '.join(spec.splits)}")
    check_declared_options("dataset", spec, loader_options(options), also=" (and root)")
    root = dataset_root(spec, options, data_root)
    try:
        table = spec.load(root, "train" if derive_val else split, **loader_options(options))
    except FbnError:
        raise  # the plugin's own one-line message about the user's files
    except Exception as exc:
        if not root.exists():  # a loader that did not check its root: the user's mistake, not a bug
            raise FbnError(
                f"{spec.name} root {root} does not exist; pass --data-root DIR (then DIR/{spec.name}) "
                f"or {spec.name}:root=PATH"
            ) from exc
        first = (str(exc).strip().splitlines() or [""])[0]
        raise FbnError(
            f"dataset {spec.name!r} ({_plugin_of(spec)}): load(root, {split!r}) raised "
            f"{type(exc).__name__}: {first}; this is a bug in the dataset plugin: run "
            f"`fbn-bench datasets check {spec.name}` for details (--debug shows the traceback)"
        ) from exc
    if isinstance(table, pd.DataFrame):
        _warn_ignored_columns(spec, table)
    table = normalize_table(table, spec, split)
    if derive_val:
        table = carve(table, spec.name, split, derived_unit_column(spec, table))
    return table, root


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
        return Path(os.environ[CACHE_ENV]).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("fbn-bench")) / "images"
