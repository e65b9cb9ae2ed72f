"""Validation during training, and the choice of the one checkpoint that is scored on `test`.

Every `val_every` steps (and at the last step) the model predicts every database's `val` split; the
selection score is the mean, over the run's (database, task) pairs that have labelled `val` images, of
that task's headline metric. The checkpoint with the best score is kept (a copy of its weights, and its
`val` predictions); the run restores it before it reads any `test` split. With `patience`, training
stops after that many validations in a row without a better score. docs/protocol.md says why.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import results, scoring
from .collapse import collapse_problem
from .errors import FbnError

# Bump when a change here changes which checkpoint a run keeps (identity.training_code).
VERSION = 1


def headline_metric(split, task: str) -> str:
    """The metric a task is selected (and ranked) by: the database's own headline (DatasetSpec.headline)."""
    return scoring.headlines(split.spec)[task]


def selection_score(records: list[dict], splits_by_name: dict[str, Any]) -> tuple[float | None, dict[str, float]]:
    """(mean headline, {"<dataset>/<task>": headline}) over val records; None when no pair has a finite score."""
    per_pair = {
        f"{r['dataset']}/{r['task']}": float(r["value"])
        for r in records
        if r["metric"] == headline_metric(splits_by_name[r["dataset"]], r["task"]) and math.isfinite(float(r["value"]))
    }
    return (float(np.mean(list(per_pair.values()))) if per_pair else None), per_pair


@dataclass
class Selector:
    """The validation callback `fit` calls: `selector(model, step) -> stop?` (see the module docstring)."""

    val_splits: list
    accelerator: Any
    config: Any
    progress: bool = False
    best_score: float | None = None
    best_step: int | None = None
    last_step: int = 0
    best_state: dict | None = None
    best_frames: dict[str, Any] = field(default_factory=dict)  # dataset -> val predictions (main process)
    best_records: list[dict] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    since_best: int = 0
    # The step from which the first validation checks that something was learned (collapse.py); None: never.
    collapse_step: int | None = None

    def __call__(self, model, step: int) -> bool:
        from .evaluate import predict, predictions_frame, score_split

        frames, records = {}, []
        for split in self.val_splits:
            if len(split) == 0:
                continue
            outputs = predict(model, split, self.accelerator, self.config.eval_batch_size, progress=False)
            if self.accelerator.is_main_process:
                frames[split.name] = predictions_frame(split, outputs)
                records += score_split(split, frames[split.name], self.config.tasks)
        score, per_pair = selection_score(records, {s.name: s for s in self.val_splits})
        score = self._shared(score)  # every process must take the same decisions
        if self.collapse_step is not None and step >= self.collapse_step:
            self.collapse_step = None  # checked once
            problem = self._shared(
                collapse_problem(records, frames, step) if self.accelerator.is_main_process else None
            )
            if problem:
                raise FbnError(problem)
        improved = self.observe(step, score, per_pair)
        if self.progress and self.accelerator.is_main_process:  # a line a redirected log keeps (bars it does not)
            from tqdm.auto import tqdm

            shown = "undefined" if score is None else f"{score:.4f}"
            tqdm.write(
                f"step {step}: val selection score {shown}{' (best so far)' if improved else ''}", file=sys.stderr
            )
        if improved:
            unwrapped = self.accelerator.unwrap_model(model)
            self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in unwrapped.state_dict().items()}
            self.best_frames, self.best_records = frames, records
        return self.config.patience is not None and self.since_best >= self.config.patience

    def observe(self, step: int, score: float | None, per_pair: dict[str, float] | None = None) -> bool:
        """Note one validation; whether it is the best so far (strictly: a tie keeps the earlier, shorter run)."""
        self.last_step = step
        self.history.append({"step": step, "score": score, "scores": dict(per_pair or {})})
        if score is not None and (self.best_score is None or score > self.best_score):
            self.best_score, self.best_step, self.since_best = score, step, 0
            return True
        self.since_best += 1
        return False

    # What a resumed run needs to keep selecting exactly as an uninterrupted one (resume.py).
    _STATE = (
        "best_score",
        "best_step",
        "last_step",
        "best_state",
        "best_frames",
        "best_records",
        "history",
        "since_best",
        "collapse_step",
    )

    def state_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._STATE}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in self._STATE:
            setattr(self, name, state[name])

    def _shared(self, value):
        """The main process's `value` on every process."""
        if self.accelerator.num_processes == 1:
            return value
        from accelerate.utils import broadcast_object_list

        return broadcast_object_list([value], from_process=0)[0]

    def restore(self, model) -> int:
        """Load the selected weights into `model`; returns the selected step. Without a single finite val score
        (no val labels at all) the last weights stay: the record says so with selection_score None."""
        if self.best_state is None:
            self.best_step = self.last_step
            return self.best_step
        self.accelerator.unwrap_model(model).load_state_dict(self.best_state)
        return self.best_step

    def au_thresholds(self) -> dict[str, dict[int, float]]:
        """{dataset: {au: threshold}} chosen on the selected checkpoint's val predictions (metrics.thresholds)
        for each database that labels AUs; a database with no AU-labelled val image keeps the fixed 0.5."""
        from .metrics import choose_thresholds

        splits = {s.name: s for s in self.val_splits}
        return {
            name: choose_thresholds(frame, splits[name].spec.aus)
            for name, frame in self.best_frames.items()
            if "au" in self.config.tasks and splits[name].spec.aus
        }

    def write_val_predictions(self, run_dir) -> None:
        """predictions/<dataset>.val.csv.gz of the selected checkpoint (per-AU thresholds are chosen on them)."""
        for name, frame in self.best_frames.items():
            results.write_predictions(run_dir, f"{name}.val", frame)

    def annotate(self, test_records: list[dict], samples_seen: dict[str, int], steps_run: int) -> list[dict]:
        """Test records with what selected them: the step, the selection score, the same metric on `val`
        (`val_value`, None where val has no such score), the steps run, the samples seen per stream, and
        `val_curve`: the record's own (dataset, task) headline on val at every validation."""
        on_val = {(r["dataset"], r["task"], r["metric"]): r["value"] for r in self.best_records}
        return [
            {
                **r,
                "val_value": on_val.get((r["dataset"], r["task"], r["metric"])),
                "selected_step": self.best_step,
                "selection_score": self.best_score,
                "steps_run": steps_run,
                "samples_seen": dict(samples_seen),
                "val_curve": self.val_curve(r["dataset"], r["task"]),
            }
            for r in test_records
        ]

    def val_curve(self, dataset: str, task: str) -> list[list]:
        """[[step, headline on val], ...] of one (dataset, task) pair over the validations that scored it
        (`selection_score` keys them "<dataset>/<task>"), rounded to 6 significant digits: records stay small."""
        pair = f"{dataset}/{task}"
        return [[h["step"], float(f"{h['scores'][pair]:.6g}")] for h in self.history if pair in h.get("scores", {})]
