"""What each plugin of a run was built with, defaults included: part of a record's provenance and of its
configuration hash.

Each entry is a `ResolvedPlugin` (options.py) written out: the plugin's name, its canonical text (what its
results are filed under), every option with its default filled in, and the distribution that provided it.
Recording the resolved values means that a plugin changing a default (dm's weight went from 1 to 0.1, then to 0.3)
changes the configuration hash, so a leaderboard never pools runs that trained different things under one
name.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .options import ResolvedPlugin, resolve_plugin


def describe(registry, plugin: ResolvedPlugin) -> dict[str, Any]:
    """{"name", "text", "options", "plugin"} of one resolved plugin; datasets also "loader_version" (a change
    in how its annotations are parsed is other labels, another run), couplings "version"."""
    entry = registry.entries[plugin.kind][plugin.spec.name]
    found = {
        "name": plugin.spec.name,
        "text": plugin.name,
        "options": plugin.recorded_options(),
        "plugin": entry.distribution or entry.plugin,
    }
    if plugin.kind == "datasets":
        found["loader_version"] = plugin.spec.loader_version
    if plugin.kind == "couplings":  # a change in its loss: runs of two versions never pool as seeds
        found["version"] = plugin.spec.version
    return found


def resolved_plugins(config, registry, datasets: Iterable[ResolvedPlugin]) -> dict[str, Any]:
    """{"backbone": {...}, "coupling": [...], "datasets": [...]} for a run of `config` on `datasets` (as the
    run resolved them, run_datasets.resolve_datasets)."""
    from .coupling.compose import parse_coupling

    couplings = [
        describe(registry, resolve_plugin("couplings", registry.coupling(name), options))
        for name, options in parse_coupling(config.coupling)
    ]
    datasets = list(datasets)
    found = {
        "backbone": describe(registry, registry.resolve("backbones", config.backbone)),
        "coupling": couplings,
        "datasets": [describe(registry, plugin) for plugin in datasets],
    }
    # The detector and crop decide the pixels of a real database (full frames, videos, eye centres); a run on
    # synthetic data alone never reaches them, so its hash does not depend on them.
    if any(not plugin.spec.synthetic for plugin in datasets):
        from .run_datasets import face_front_end

        found["faces"] = face_front_end(config, registry).describe()
    return found


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
