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
from typing import Any

# Arguments the core passes itself; they are settings of the run (image_size) or locations (root), not options.
_CORE_ARGUMENTS = {"root", "split", "image_size", "relatedness"}


def option_defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    """Keyword defaults of `fn` (a function or a functools.partial), core arguments left out."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin or a callable object without a signature
        return {}
    return {p.name: p.default for p in parameters
            if p.default is not inspect.Parameter.empty and p.name not in _CORE_ARGUMENTS
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def resolved_options(fn: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """The defaults of `fn` overridden by `options`, JSON-safe (odd values become their repr)."""
    merged = {**option_defaults(fn), **options}
    return json.loads(json.dumps(merged, sort_keys=True, default=repr))


def resolved_plugins(config, registry, datasets: Iterable[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    """{"backbone": {...}, "coupling": [...], "datasets": [...]} for a run of `config` on `datasets` ([(spec,
    options)], as the run resolved them); each {"name", "options", "plugin"}, datasets also "loader_version"."""
    from .coupling.compose import parse_coupling

    def describe(kind: str, name: str, fn: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
        entry = registry.entries[kind][name]
        return {"name": name, "options": resolved_options(fn, options), "plugin": entry.distribution or entry.plugin}

    backbone, backbone_options = registry.resolve("backbones", config.backbone)
    couplings = [describe("couplings", name, registry.coupling(name).build, options)
                 for name, options in parse_coupling(config.coupling)]
    # A dataset's loader_version marks a change in how its annotations are parsed: other labels, other run.
    datasets = [{**describe("datasets", spec.name, spec.load, options), "loader_version": spec.loader_version}
                for spec, options in datasets]
    return {"backbone": describe("backbones", backbone.name, backbone.build, backbone_options),
            "coupling": couplings, "datasets": datasets}

