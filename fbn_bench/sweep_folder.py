"""What a sweep's run folder says about its run: to run, finished, or a folder of another configuration.

A run is finished when its folder holds the sweep's `DONE` marker (written after the run returned, so an
interrupted write never counts), its `config.json` matches the configuration about to run, its `results.jsonl`
holds the records the marker describes (as many, of the marker's run id and configuration hash) and those
records name this checkout's training code: a marker never vouches for records lost or damaged since, nor for
seeds of another implementation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import FbnError
from .identity import config_hash
from .results import CONFIG_FILE, RESULTS_FILE, read_records

DONE_FILE = "DONE"
TODO, DONE, REPLACE = "to run", "finished", "replace"


def folder_status(config: RunConfig, run_dir: Path, registry=None) -> tuple[str, str | None, str | None]:
    """(status, how the stored configuration differs or None, why a marked run is not finished or None).
    With `registry`, a finished run trained by other code than this checkout's runs again (stale_code)."""
    try:
        stored = json.loads((run_dir / CONFIG_FILE).read_text())
    except (FileNotFoundError, NotADirectoryError):
        return TODO, None, None
    except (OSError, ValueError):
        return TODO, None, None  # a config.json cut short: the run never got past its start
    difference = config_difference(stored, config.to_dict())
    if difference and not (run_dir / RESULTS_FILE).is_file():
        return REPLACE, None, None  # a run of another configuration that failed or never finished: nothing to lose
    if difference:
        return TODO, difference, None
    if not (run_dir / DONE_FILE).is_file():
        return TODO, None, None
    damage = marker_problem(run_dir) or (stale_code(run_dir, registry) if registry is not None else None)
    return (TODO, None, damage) if damage else (DONE, None, None)


def stale_code(run_dir: Path, registry) -> str | None:
    """Why the records of a finished run were trained by other code than this checkout's, or None: the core
    training code's versions (identity.training_code), its couplings' and its databases' loader versions. A
    sweep committed in one session and resumed in a later one must not pool seeds across a changed loss."""
    from .identity import training_code

    try:
        with open(run_dir / RESULTS_FILE, encoding="utf-8") as handle:
            first = json.loads(handle.readline())  # every record of a run names the same code
    except (OSError, ValueError):
        return None  # marker_problem speaks for unreadable records
    pairs = [(f"training code {k}", (first.get("training_code") or {}).get(k), v) for k, v in training_code().items()]
    plugins = first.get("plugins") or {}
    for coupling in plugins.get("coupling") or []:
        pairs.append(
            (f"coupling {coupling['name']}", coupling.get("version"), registry.coupling(coupling["name"]).version)
        )
    for dataset in plugins.get("datasets") or []:
        if dataset.get("name") in registry.entries["datasets"]:
            now = registry.dataset(dataset["name"]).loader_version
            pairs.append((f"database {dataset['name']} loader", dataset.get("loader_version"), now))
    for what, then, now in pairs:
        if then is not None and then != now:
            return f"its records come from other code ({what} version {then}, now {now})"
    return None


def marker_problem(run_dir: Path) -> str | None:
    """Why the DONE marker of `run_dir` does not describe the records beside it, or None when it does."""
    try:
        marker = json.loads((run_dir / DONE_FILE).read_text())
    except (OSError, ValueError):
        return f"its {DONE_FILE} marker is unreadable"
    if not isinstance(marker, dict):
        return f"its {DONE_FILE} marker is unreadable"
    try:
        records = list(read_records(run_dir / RESULTS_FILE)) if (run_dir / RESULTS_FILE).is_file() else None
    except (FbnError, OSError, ValueError):  # a line cut short or not JSON, bytes that are not UTF-8
        return f"its {RESULTS_FILE} is damaged"
    if records is None:
        return f"its {RESULTS_FILE} is missing"
    expected = marker.get("n_records")  # markers from before it was kept: at least one record
    if not records and expected != 0:
        return f"its {RESULTS_FILE} is empty"
    if isinstance(expected, int) and len(records) != expected:
        return f"its {RESULTS_FILE} holds {len(records)} of the {expected} records the run wrote"
    # Older markers held the sweep's own hash of the configuration, not the records': compare the run id only.
    for key in ("run_id", "config_hash") if "n_records" in marker else ("run_id",):
        found = {r.get(key) if isinstance(r, dict) else None for r in records}
        if records and marker.get(key) is not None and found != {marker[key]}:
            return f"its {RESULTS_FILE} holds records of another {key.replace('_', ' ')} than its {DONE_FILE} marker"
    return None


def config_difference(stored: dict[str, Any], wanted: dict[str, Any]) -> str | None:
    """'steps 400 -> 4' for the first differing setting (seed included; paths ignored), else None."""
    defaults = RunConfig().to_dict()  # a config.json from before a setting existed means its default
    stored, wanted = {**defaults, **stored}, {**defaults, **wanted}
    if wanted.get("mixed_precision") == "auto":  # a run stores what `auto` resolved to on its machine
        wanted["mixed_precision"] = stored.get("mixed_precision")
    if config_hash(stored) == config_hash(wanted) and stored.get("seed") == wanted.get("seed"):
        return None
    keys = sorted(
        k
        for k in set(stored) | set(wanted)
        if k not in ("out", "data_root") and _jsonish(stored.get(k)) != _jsonish(wanted.get(k))
    )
    if not keys:
        return "settings differ"
    k = keys[0]
    more = f", +{len(keys) - 1} more" if len(keys) > 1 else ""
    return f"{k} {_jsonish(stored.get(k))} -> {_jsonish(wanted.get(k))}{more}"


def _jsonish(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
