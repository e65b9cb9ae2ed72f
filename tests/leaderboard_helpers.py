"""Builders for leaderboard tests: run folders with records and predictions in the real formats
(`fbn_bench.results`), scored with `fbn_bench.scoring` exactly as an evaluation would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fbn_bench.identity import config_hash
from fbn_bench.results import write_predictions, write_records
from fbn_bench.scoring import score_predictions
from fbn_bench.tasks import EXPRESSIONS


def predictions(
    n_subjects: int = 10,
    per_subject: int = 5,
    tasks=("va", "expr", "au"),
    aus=(1, 2, 12),
    quality: float = 0.7,
    seed: int = 0,
    truth_seed: int = 123,
) -> pd.DataFrame:
    """A predictions frame: the same targets for a given truth_seed; outputs right with prob. `quality`."""
    truth = np.random.default_rng(truth_seed)
    rng = np.random.default_rng(seed)
    n = n_subjects * per_subject
    df = pd.DataFrame(
        {
            "image": [f"s{i // per_subject:02d}/f{i % per_subject:03d}.jpg" for i in range(n)],
            "subject": [f"s{i // per_subject:02d}" for i in range(n)],
        }
    )
    if "va" in tasks:
        for dim in ("valence", "arousal"):
            t = truth.uniform(-1, 1, n)
            df[dim] = t
            df[f"pred_{dim}"] = np.clip(quality * t + rng.normal(0, 0.3, n), -1, 1)
    if "expr" in tasks:
        t = truth.integers(0, 7, n)
        p = np.where(rng.random(n) < quality, t, rng.integers(0, 7, n))
        df["expression"] = [EXPRESSIONS[i] for i in t]
        df["pred_expression"] = [EXPRESSIONS[i] for i in p]
    if "au" in tasks:
        for au in aus:
            t = (truth.random(n) < 0.4).astype(float)
            t[truth.random(n) < 0.1] = np.nan  # some unannotated entries
            right = rng.random(n) < quality
            prob = np.where(right, np.where(t == 1, 0.8, 0.2), np.where(t == 1, 0.3, 0.7))
            df[f"AU{au}"] = t
            df[f"prob_AU{au}"] = prob + rng.uniform(-0.1, 0.1, n)
    return df


def write_run(
    root: Path,
    run_id: str,
    frames: dict[str, pd.DataFrame],
    *,
    backbone="small",
    tasks=("va", "expr", "au"),
    coupling="none",
    preset=None,
    image_size=64,
    seed=0,
    aus=(1, 2, 12),
    lr=0.001,
    created="2024-01-01T00:00:00",
) -> Path:
    """A run folder `root/run_id` holding results.jsonl and predictions/<dataset>.csv.gz."""
    config = {
        "backbone": backbone,
        "tasks": list(tasks),
        "coupling": coupling,
        "preset": preset,
        "image_size": image_size,
        "seed": seed,
        "lr": lr,
    }
    run_dir = Path(root) / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for dataset, frame in frames.items():
        write_predictions(run_dir, dataset, frame)
        db_tasks = [t for t in ("va", "expr", "au") if t in tasks and _has(frame, t)]
        for (task, metric), (value, n) in score_predictions(frame, db_tasks, aus).items():
            records.append(
                {
                    "run_id": run_id,
                    "dataset": dataset,
                    "split": "test",
                    "task": task,
                    "metric": metric,
                    "value": value,
                    "n_samples": n,
                    "n_skipped": 0,
                    "backbone": backbone,
                    "tasks": list(tasks),
                    "coupling": coupling,
                    "preset": preset,
                    "image_size": image_size,
                    "seed": seed,
                    "config_hash": config_hash(config),
                    "config": config,
                    "plugins": None,
                    "versions": {},
                    "git_commit": None,
                    "device": "cpu x1",
                    "precision": "fp32",
                    "wall_time_s": 1.0,
                    "created": created,
                }
            )
    write_records(run_dir, records)
    return run_dir


def _has(frame: pd.DataFrame, task: str) -> bool:
    return {"va": "valence", "expr": "expression", "au": "AU1"}[task] in frame.columns or (
        task == "au" and any(c.startswith("AU") for c in frame.columns)
    )
