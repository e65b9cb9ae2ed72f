"""Result records: one JSON object per database x metric, the source of truth for leaderboards.

A run folder (`runs/<run-id>/`, see run_folder.py) holds `config.json` (the resolved configuration),
`checkpoint.pt`, `train_log.csv`, `predictions/<dataset>.csv.gz` (per-sample targets and outputs, see
`fbn_bench.scoring`) and `results.jsonl` (the records, written last and atomically).
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from . import identity
from .atomic import atomic_path, atomic_write_text
from .errors import FbnError
from .tomlfile import read_user_text

# Their home is identity.py; kept here for callers written before it.
config_hash = identity.config_hash
canonical_dataset_text = identity.canonical_dataset_text

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
    "precision",
    "wall_time_s",
    "created",
)
# Records of a trained run also carry what selected its checkpoint (selection.Selector.annotate; docs/protocol.md).
SELECTION_FIELDS = ("val_value", "selected_step", "selection_score", "steps_run", "samples_seen", "val_curve")


@dataclass
class RunOutcome:
    run_dir: Path
    records: list[dict[str, Any]]
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # dataset -> reason -> count
    history: list[dict[str, float]] = field(default_factory=list)
    unscored: dict[str, str] = field(default_factory=dict)  # dataset -> why it has no record
    config_hash: str | None = None  # identity.run_hash: what the records carry, and a sweep's DONE marker


def assemble_records(
    partial: list[dict],
    *,
    run_id: str,
    config,
    plugins: dict[str, Any],
    config_hash: str,
    accelerator,
    wall_time_s: float,
) -> list[dict]:
    """Add the run's identity, configuration (plugin options resolved) and provenance (code versions, the
    device and precision `accelerator` ran) to each (dataset, metric) record (`partial`, from
    evaluate.score_split). One home for what a record says about its run: `run` and `evaluate` both call it."""
    from .devices import device_text, precision_text
    from .identity import training_code

    common = {
        "run_id": run_id,
        "backbone": config.backbone,
        "tasks": list(config.tasks),
        "coupling": config.coupling,
        "preset": config.preset,
        "image_size": config.image_size,
        "seed": config.seed,
        "config_hash": config_hash,
        "config": config.to_dict(),
        "plugins": plugins,
        "versions": versions(),
        "training_code": training_code(),
        "git_commit": git_commit(),
        "device": device_text(accelerator),
        "precision": precision_text(accelerator),
        "wall_time_s": round(wall_time_s, 2),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return [{**common, **r} for r in partial]


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
    atomic_write_text(path, "".join(lines), "result records")
    return path


def drop_records(run_dir: Path, datasets: set[tuple[str, str]]) -> None:
    """Remove the records of (dataset, split) pairs about to be scored again, before their predictions are
    replaced: a process killed in between leaves those databases unscored, never old scores beside new
    predictions."""
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        return
    old = list(read_records(path))
    kept = [r for r in old if (r.get("dataset"), r.get("split")) not in datasets]
    if len(kept) == len(old):
        return
    if kept:
        write_records(run_dir, kept)
    else:
        path.unlink()


def check_one_run(run_dir: Path, run_ids: set) -> list[dict[str, Any]]:
    """The records already in `run_dir`, after checking they are of the run(s) `run_ids` (one folder, one run,
    as the leaderboard store expects)."""
    path = Path(run_dir) / RESULTS_FILE
    old = list(read_records(path)) if path.is_file() else []
    found = {r.get("run_id") for r in old} | set(run_ids)
    if len(found) > 1:
        raise FbnError(
            f"{path} holds records of another run ({', '.join(sorted(map(str, found)))}); "
            "write these elsewhere with --out DIR"
        )
    return old


def merge_records(run_dir: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`new` plus the records already in `run_dir` for databases `new` does not score again; those must be
    of the same run (one folder, one run, as the leaderboard store expects)."""
    old = check_one_run(run_dir, {r.get("run_id") for r in new})
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
    # mtime 0: the same predictions give the same bytes, so re-adding a run to leaderboards/ is no diff. Nine
    # significant digits give back every float32 output exactly: with six, the near-equal probabilities of a
    # barely trained model tie, and its AP, ROC-AUC and Pearson records no longer re-score from the file.
    with atomic_path(path, "predictions") as tmp:
        frame.to_csv(tmp, index=False, float_format="%.9g", compression={"method": "gzip", "mtime": 0})
    return path


def read_predictions(run_dir: Path, dataset: str) -> pd.DataFrame:
    path = predictions_path(run_dir, dataset)
    if not path.is_file():
        raise FbnError(f"{path} does not exist: the run did not store predictions for {dataset!r}")
    return pd.read_csv(path, dtype={"subject": "string", "video": "string"})
