"""Where databases live on disk, and loading one split as a canonical table."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import FbnError
from ..specs import DatasetSpec
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


def load_split(spec: DatasetSpec, split: str, options: dict[str, Any] | None = None,
               data_root: str | Path | None = None) -> tuple[pd.DataFrame, Path]:
    """Call the plugin's loader and normalize its table. Returns (table, root)."""
    options = dict(options or {})
    if split not in spec.splits:
        raise FbnError(f"dataset {spec.name!r} has no split {split!r}; its splits are {', '.join(spec.splits)}")
    unknown = sorted(set(loader_options(options)) - set(spec.options))
    if unknown:
        known = ", ".join(sorted(spec.options)) or "none"
        raise FbnError(f"dataset {spec.name!r} has no option {unknown[0]!r}; its options: {known} (and root)")
    root = dataset_root(spec, options, data_root)
    table = spec.load(root, split, **loader_options(options))
    return normalize_table(table, spec, split), root


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
