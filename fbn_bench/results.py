"""Result records: one JSON object per database x metric, the source of truth for leaderboards.

A run folder (`runs/<run-id>/`) holds `config.json` (the resolved configuration), `checkpoint.pt`,
`train_log.csv`, `predictions/<dataset>.csv.gz` (per-sample targets and outputs, see
`fbn_bench.scoring`) and `results.jsonl` (the records).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import FbnError
from .tomlfile import read_user_text

RESULTS_FILE = "results.jsonl"
CONFIG_FILE = "config.json"
PREDICTIONS_DIR = "predictions"

# Every record carries these keys (values may be null where not applicable).
RECORD_FIELDS = (
    "run_id",
    "dataset",
    "split",
    "task",
    "metric",
    "value",
    "n_samples",
    "n_skipped",
    "backbone",
    "tasks",
    "coupling",
    "preset",
    "image_size",
    "seed",
    "config_hash",
    "config",
    "plugins",
    "versions",
    "git_commit",
    "device",
    "wall_time_s",
    "created",
)

# The keys of a configuration that do not change what is learned, left out of its hash.
_UNHASHED = {"seed", "out", "data_root", "run_id", "num_processes", "progress"}


def config_hash(config: dict[str, Any], plugins: dict[str, Any] | None = None) -> str:
    """A short stable hash of the configuration, ignoring seed and paths (so seeds group together).

    `plugins` (plugin_options.resolved_plugins) adds each plugin's options with their defaults, so that a
    plugin changing a default changes the hash; where it came from (`plugin`) is provenance, not hashed.
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


def versions() -> dict[str, str]:
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for dist in ("fbn-bench", "torch", "accelerate", "numpy", "pandas"):
        try:
            found[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    import torch  # its own string names the build (e.g. 2.13.0+cpu), which the metadata may not

    found["torch"] = torch.__version__
    return found


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the source tree fbn-bench runs from, when it is a git checkout."""
    here = path or Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def write_records(run_dir: Path, records: Iterable[dict[str, Any]]) -> Path:
    path = Path(run_dir) / RESULTS_FILE
    lines = []
    for record in records:
        missing = [k for k in RECORD_FIELDS if k not in record]
        if missing:
            raise ValueError(f"result record lacks {missing}")  # a bug, not a user error
        lines.append(json.dumps(record, sort_keys=True, default=str) + "\n")
    # Written whole, then renamed: a crash never leaves a half-written results file behind.
    tmp = path.with_name(f".{RESULTS_FILE}.{os.getpid()}.tmp")
    tmp.write_text("".join(lines))
    os.replace(tmp, path)
    return path


def merge_records(run_dir: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`new` plus the records already in `run_dir` for databases `new` does not score again; those must be
    of the same run (one folder, one run, as the leaderboard store expects)."""
    path = Path(run_dir) / RESULTS_FILE
    old = list(read_records(path)) if path.is_file() else []
    run_ids = {r.get("run_id") for r in old} | {r.get("run_id") for r in new}
    if len(run_ids) > 1:
        raise FbnError(
            f"{path} holds records of another run ({', '.join(sorted(map(str, run_ids)))}); "
            "write these elsewhere with --out DIR"
        )
    rescored = {(r["dataset"], r["split"]) for r in new}
    return [r for r in old if (r.get("dataset"), r.get("split")) not in rescored] + list(new)


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Records from a results.jsonl file, a run folder, or a folder tree of run folders."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.rglob(RESULTS_FILE))
    if not path.exists():
        raise FbnError(f"no results at {path}: give a run folder, a folder of runs, or a {RESULTS_FILE} file")
    for file in files:
        for number, line in enumerate(read_user_text(file, "results file").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise FbnError(f"{file}:{number}: not a JSON record ({exc.msg}); remove or fix the line") from None


def file_stem(name: str) -> str:
    """A database name (which may carry options, `synth-rafdb:scale=0.5`) as a safe file name: characters
    outside letters, digits and `._=,+-` become `_`, so no name can make folders or break on Windows."""
    return re.sub(r"[^A-Za-z0-9._=,+-]", "_", name)


def predictions_path(run_dir: Path, dataset: str) -> Path:
    path = Path(run_dir) / PREDICTIONS_DIR / f"{file_stem(dataset)}.csv.gz"
    legacy = Path(run_dir) / PREDICTIONS_DIR / f"{dataset}.csv.gz"  # runs from before names were made safe
    return legacy if not path.exists() and dataset != file_stem(dataset) and legacy.is_file() else path


def write_predictions(run_dir: Path, dataset: str, frame: pd.DataFrame) -> Path:
    path = predictions_path(run_dir, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime 0: the same predictions give the same bytes, so re-adding a run to leaderboards/ is no diff.
    frame.to_csv(path, index=False, float_format="%.6g", compression={"method": "gzip", "mtime": 0})
    return path


def read_predictions(run_dir: Path, dataset: str) -> pd.DataFrame:
    path = predictions_path(run_dir, dataset)
    if not path.is_file():
        raise FbnError(f"{path} does not exist: the run did not store predictions for {dataset!r}")
    return pd.read_csv(path, dtype={"subject": "string", "video": "string"})
