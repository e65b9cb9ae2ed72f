"""What each plugin of a run was built with, defaults included: part of a record's provenance and of its
configuration hash.

A plugin declares the defaults of its options as keyword defaults of its `build` or `load` function; the
options a user writes (`dm:weight=0.5`) override them. Recording the resolved values means that a plugin
changing a default (dm's weight went from 1 to 0.1) changes the configuration hash, so a leaderboard never
pools runs that trained different things under one name.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

# Arguments the core passes itself; they are settings of the run (image_size) or locations (root), not options.
_CORE_ARGUMENTS = {"root", "split", "image_size", "relatedness"}


def option_defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    """Keyword defaults of `fn` (a function or a functools.partial), core arguments left out."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin or a callable object without a signature
        return {}
    return {
        p.name: p.default
        for p in parameters
        if p.default is not inspect.Parameter.empty
        and p.name not in _CORE_ARGUMENTS
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def resolved_options(fn: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """The defaults of `fn` overridden by `options`, JSON-safe (odd values become their repr); core
    arguments such as a dataset's `root=` are left out, so where data lives never changes a hash."""
    merged = {**option_defaults(fn), **{k: v for k, v in options.items() if k not in _CORE_ARGUMENTS}}
    return json.loads(json.dumps(merged, sort_keys=True, default=repr))


def resolved_plugins(config, registry, datasets: Iterable[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    """{"backbone": {...}, "coupling": [...], "datasets": [...]} for a run of `config` on `datasets` ([(spec,
    options)], as the run resolved them); each {"name", "options", "plugin"}, datasets also "loader_version"."""
    from .coupling.compose import parse_coupling

    def describe(kind: str, name: str, fn: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
        entry = registry.entries[kind][name]
        return {"name": name, "options": resolved_options(fn, options), "plugin": entry.distribution or entry.plugin}

    backbone, backbone_options = registry.resolve("backbones", config.backbone)
    # A coupling's version marks a change in its loss: runs of two versions never pool as seeds.
    couplings = [
        {
            **describe("couplings", name, registry.coupling(name).build, options),
            "version": registry.coupling(name).version,
        }
        for name, options in parse_coupling(config.coupling)
    ]
    # A dataset's loader_version marks a change in how its annotations are parsed: other labels, other run.
    datasets = [
        {**describe("datasets", spec.name, spec.load, options), "loader_version": spec.loader_version}
        for spec, options in datasets
    ]
    return {
        "backbone": describe("backbones", backbone.name, backbone.build, backbone_options),
        "coupling": couplings,
        "datasets": datasets,
    }


def display_name(spec, options: dict[str, Any]) -> str:
    """The name a database's results go by: its name plus, sorted, the options that differ from their
    defaults, never `root=`. `disfa:threshold=2,fold=1` and `disfa` are the same data, so the same name;
    `disfa:fold=2` is another."""
    defaults = option_defaults(spec.load)
    shown = {
        k: v
        for k, v in sorted(options.items())
        if k not in _CORE_ARGUMENTS and not (k in defaults and defaults[k] == v)
    }
    text = ",".join(f"{k}={_option_text(v, defaults.get(k))}" for k, v in shown.items())
    return f"{spec.name}:{text}" if text else spec.name


def _option_text(value: Any, default: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and isinstance(default, int) and not isinstance(default, bool):
        return str(int(value))  # fold=2.0 where fold defaults to 1: the same fold as fold=2
    return str(value)


def content_provenance(config, relatedness_table, coupled: bool) -> dict[str, Any]:
    """What a run's files contained, for its hash: the relatedness table's values when a coupling reads it
    (`--relatedness my.csv` edited between runs is another experiment under the same text), and the
    `--weights` file's bytes. Paths are not hashed, so the same files elsewhere give the same hash."""
    import hashlib

    import numpy as np

    found: dict[str, Any] = {}
    if coupled:
        values = np.round(np.asarray(relatedness_table, dtype=np.float64), 6)
        found["relatedness"] = {
            "source": str(config.relatedness),
            "sha256": hashlib.sha256(values.tobytes()).hexdigest()[:16],
        }
    if config.weights:
        digest = hashlib.sha256()
        with open(config.weights, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        found["weights"] = {"file": Path(config.weights).name, "sha256": digest.hexdigest()[:16]}
    return found
