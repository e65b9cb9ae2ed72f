"""Run identity: the one configuration hash and the run id.

`run_hash(config, plugins, world_size)` is the hash every artefact that names a run configuration carries:
the result records, the checkpoint, `RunOutcome.config_hash` (what a sweep's DONE marker should copy). It
covers the seed-free settings, the training code's versions (`training_code`), every plugin as resolved
(options with their defaults, loader versions), the content of the files the run read (relatedness table,
--weights) and the number of processes. Seeds share a hash, so a leaderboard groups them; paths do not enter
it, so the same data elsewhere is the same run.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime
from typing import Any

from .errors import FbnError

# The keys of a configuration that do not change what is learned, left out of its hash.
# The face front end is hashed as resolved (plugin_options.resolved_plugins), and only for runs it can touch.
_UNHASHED = {"seed", "out", "data_root", "run_id", "num_processes", "progress", "face_detector", "face_crop"}


def run_plugins(config, registry, chosen, relatedness_table, coupled: bool) -> dict[str, Any]:
    """What the hash covers besides the settings: each plugin as resolved (`chosen`: [(spec, options)] of the
    run's databases) and the content of the files the run read."""
    from .plugin_options import content_provenance, resolved_plugins

    return {
        **resolved_plugins(config, registry, chosen),
        **content_provenance(config, relatedness_table, coupled),
    }


def run_hash(config, plugins: dict[str, Any] | None, world_size: int = 1) -> str:
    """The configuration hash of a run of `config` (a RunConfig or its dict) with `plugins` (run_plugins) on
    `world_size` processes."""
    settings = config if isinstance(config, dict) else config.to_dict()
    return config_hash(hashed_config(settings, world_size), plugins)


def training_code() -> dict[str, int]:
    """The version of each piece of core training code (couplings carry their own, in their specs). It is in
    every hash and record: a run trained by other losses, another loop or another selection rule is another
    configuration, so a leaderboard never pools its seeds with this code's."""
    from . import losses, selection, train

    return {"task_losses": losses.VERSION, "training_loop": train.VERSION, "selection": selection.VERSION}


def hashed_config(settings: dict[str, Any], world_size: int) -> dict[str, Any]:
    """The settings as hashed, with the training code's versions. With several processes the CCC loss, the
    coupling means and batch-norm statistics are computed per process's share of each batch, which is
    another optimisation problem."""
    if not isinstance(settings, dict):
        settings = settings.to_dict()
    return {**settings, "training_code": training_code(), **({"world_size": world_size} if world_size > 1 else {})}


def config_hash(config: dict[str, Any], plugins: dict[str, Any] | None = None) -> str:
    """A short stable hash of a configuration dict, ignoring seed and paths (so seeds group together).
    Prefer `run_hash`, which names a run; this is its core, for comparing settings alone.

    `plugins` adds each plugin's options with their defaults, so that a plugin changing a default changes the
    hash; where it came from (`plugin`) is provenance, not hashed.
    """
    stable = {k: v for k, v in config.items() if k not in _UNHASHED}
    if stable.get("datasets"):  # `name:root=PATH` says where a database is, not what was trained on
        stable["datasets"] = [canonical_dataset_text(text) for text in stable["datasets"]]
    if plugins:
        # The resolved datasets say the same as the texts, without their spelling (order of options, defaults);
        # the relatedness table and the weights file are hashed by content (plugin_options.content_provenance).
        for key in ("datasets", "relatedness", "weights"):
            stable.pop(key, None)
        stable["plugins"] = {
            kind: [_what(p) for p in found] if isinstance(found, list) else _what(found)
            for kind, found in plugins.items()
            if found is not None
        }
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()[:12]


def canonical_dataset_text(dataset_text: str) -> str:
    """`affectnet:root=/data/an,scale=0.10,release=npy` -> `affectnet:release=npy,scale=0.1`: the text minus
    its location, options sorted and numbers written one way, so spelling never makes two configurations."""
    from .specs import parse_named

    try:
        name, options = parse_named(dataset_text)
    except FbnError:  # not name:key=value text; hashed as written
        return dataset_text.strip()
    kept = ",".join(f"{k}={v}" for k, v in sorted(options.items()) if k != "root")
    return f"{name}:{kept}" if kept else name


def _what(described: dict[str, Any]) -> dict[str, Any]:
    """What a resolved plugin or file contributes to the hash: not where it came from or was read."""
    return {k: v for k, v in described.items() if k not in ("plugin", "source", "file")}


def new_run_id(config) -> str:
    """`<date-time>-<tasks>-<coupling>-s<seed>-<4 hex>`: readable, and unique even for runs started in the same
    second, here or on another machine (the run folder is also created exclusively: run_folder.claim)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    from .tasks import TASKS

    tasks = "all" if tuple(config.tasks) == TASKS else "+".join(config.tasks)  # au_int is not in "all"
    # Only characters that are safe in folder names and leaderboard record ids.
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{stamp}-{tasks}-{config.coupling}-s{config.seed}")
    return f"{base}-{secrets.token_hex(2)}"
