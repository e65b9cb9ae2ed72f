"""Task streams: VA-Set, EXPR-Set and AU-Set pooled over the chosen databases, mixed into every batch.

A stream holds every (split, image) pair that carries a label of its task: VA-Set the images with
both valence and arousal, EXPR-Set those with an expression, AU-Set those with at least one AU,
AU-INT-Set (the opt-in `au_int` task) those with at least one AU intensity. An
image labelled for two tasks sits in both streams. Each batch takes a fixed number of samples from
every chosen stream (`counts`, from `shares`), so no task starves however unequal the databases are.

Order: each stream walks through a fresh permutation on every pass (a generator seeded by
(seed, task, pass)), so small streams cycle while the largest is still on its first pass. The batch
at step `s` is a pure function of (seed, step, rank, world_size): a resumed run continues exactly.

Several processes: `batch_size` is the global batch; each process takes `batch_size // world_size`
(it must divide). All ranks share the permutation and take disjoint consecutive blocks of it, so
within a pass no two ranks see the same sample, and every rank runs the same number of steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from ..errors import FbnError
from ..tasks import ALL_TASKS, TASK_NAMES, TASKS, parse_tasks
from .batches import collate

STREAM_NAMES = {"va": "VA-Set", "expr": "EXPR-Set", "au": "AU-Set", "au_int": "AU-INT-Set"}
# The holistic batch is the three basic tasks'; an opt-in task's "samples" budget is that of the task it refines.
_BUDGET_OF = {"au_int": "au"}


def stream_members(labels: dict[str, np.ndarray], task: str) -> np.ndarray:
    """Indices of the images that belong to `task`'s stream."""
    if task == "va":
        return np.flatnonzero(~np.isnan(labels["va"]).any(axis=1))
    if task == "expr":
        return np.flatnonzero(labels["expr"] >= 0)
    return np.flatnonzero(~np.isnan(labels[task]).all(axis=1))


def _all_skipped(split) -> str:
    """`every one of the 24 images of toy/train was skipped (24 missing), e.g. toy/images/a.png`."""
    reasons = ", ".join(f"{n} {reason}" for reason, n in split.skipped.items())
    example = f", e.g. {split.skipped_examples[0][0]}" if split.skipped_examples else ""
    return f"every one of the {split.n_skipped} images of {split.name}/{split.split} was skipped ({reasons}){example}"


def split_counts(shares: dict[str, float], total: int) -> dict[str, int]:
    """round(share * total) per task, summing to `total`: floors first, then the leftover samples go
    to the largest fractional parts (ties: canonical task order)."""
    raw = {t: shares[t] * total for t in shares}
    counts = {t: math.floor(v) for t, v in raw.items()}
    left = total - sum(counts.values())
    by_fraction = sorted(shares, key=lambda t: (-(raw[t] - counts[t]), ALL_TASKS.index(t)))
    for t in by_fraction[:left]:
        counts[t] += 1
    return counts


def budget_batch_size(batch_size: int, tasks: Sequence[str], budget: str) -> int:
    """The batch a run with `tasks` takes. "steps": `batch_size` whatever the tasks. "samples": the share its
    tasks get of the holistic batch (all tasks, equal shares), so a single-task network sees exactly as many
    samples of its task per step, and so in the whole run, as the holistic network does."""
    if budget == "steps":
        return int(batch_size)
    holistic = split_counts({t: 1 / len(TASKS) for t in TASKS}, int(batch_size))
    return sum(holistic[_BUDGET_OF.get(t, t)] for t in parse_tasks(tuple(tasks)))


class TaskStreams:
    """Mixed-task training batches over prepared splits (see the module docstring)."""

    def __init__(
        self,
        splits: Sequence,
        tasks: Sequence[str],
        batch_size: int,
        shares: dict[str, float] | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.splits = list(splits)
        self.tasks = parse_tasks(tuple(tasks))
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {rank} is outside 0..{world_size - 1}")
        if batch_size < 1 or batch_size % self.world_size:
            raise FbnError(
                f"batch size {batch_size} must be a positive multiple of the number of processes "
                f"({self.world_size}); each process takes batch_size / processes samples"
            )
        self.batch_size = batch_size
        self.local_batch_size = batch_size // self.world_size
        self.shares = self._normalise(shares)
        self.counts = split_counts(self.shares, self.local_batch_size)
        starved = [t for t in self.tasks if self.counts[t] == 0]
        if starved:
            raise FbnError(
                f"a batch of {self.local_batch_size} per process leaves no room for {STREAM_NAMES[starved[0]]} "
                f"(shares {self.shares}); raise the batch size or that task's share"
            )

        self.streams: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for task in self.tasks:
            members = [stream_members(s.labels, task) for s in self.splits]
            split_idx = np.concatenate(
                [np.full(len(m), i, dtype=np.int64) for i, m in enumerate(members)] or [np.zeros(0, np.int64)]
            )
            img_idx = np.concatenate(members or [np.zeros(0, np.int64)]).astype(np.int64)
            if len(img_idx) == 0:
                names = ", ".join(f"{s.name}/{s.split}" for s in self.splits) or "no datasets"
                lost = [s for s in self.splits if getattr(s, "skipped", None) and not len(s.rows)]
                if lost:  # the labels are there, the images are not: say that, not "no labels"
                    where = "; ".join(_all_skipped(s) for s in lost)
                    raise FbnError(
                        f"no usable image for the {STREAM_NAMES[task]}: {where}; restore the images where the "
                        f"annotations point (or pass the right root): `fbn-bench datasets check "
                        f"{lost[0].name}` lists every one"
                    )
                raise FbnError(
                    f"the {STREAM_NAMES[task]} is empty: no image in {names} has {TASK_NAMES[task]} labels; "
                    f"add a database that labels '{task}' or leave '{task}' out of the tasks"
                )
            self.streams[task] = (split_idx, img_idx)
        self.steps_per_epoch = max(
            math.ceil(len(self.streams[t][1]) / (self.counts[t] * self.world_size)) for t in self.tasks
        )
        self.step = 0
        self._perms: dict[tuple[str, int], np.ndarray] = {}

    def _normalise(self, shares: dict[str, float] | None) -> dict[str, float]:
        if shares is None:
            return {t: 1 / len(self.tasks) for t in self.tasks}
        unknown = sorted(set(shares) - set(self.tasks))
        missing = [t for t in self.tasks if t not in shares]
        if unknown or missing:
            raise FbnError(f"batch shares {dict(shares)} must name exactly the chosen tasks {', '.join(self.tasks)}")
        if any(not (float(shares[t]) > 0 and math.isfinite(float(shares[t]))) for t in self.tasks):
            raise FbnError(f"batch shares {dict(shares)} must all be positive numbers")
        total = sum(float(shares[t]) for t in self.tasks)
        return {t: float(shares[t]) / total for t in self.tasks}

    def __len__(self) -> int:
        return self.steps_per_epoch

    def samples_seen(self, steps: int) -> dict[str, int]:
        """Samples drawn from each stream (all processes) in `steps` steps, by task."""
        return {t: self.counts[t] * self.world_size * int(steps) for t in self.tasks}

    def summary(self) -> str:
        """`VA-Set 1200 images (11/batch), EXPR-Set ...`: one line for the run's log."""
        return ", ".join(
            f"{STREAM_NAMES[t]} {len(self.streams[t][1])} images ({self.counts[t]}/batch)" for t in self.tasks
        )

    def _perm(self, task: str, n_pass: int) -> np.ndarray:
        key = (task, n_pass)
        if key not in self._perms:
            if len(self._perms) > 4 * len(self.tasks):  # only the current and next pass are ever needed
                self._perms.clear()
            rng = np.random.default_rng([self.seed, ALL_TASKS.index(task), n_pass])
            self._perms[key] = rng.permutation(len(self.streams[task][1]))
        return self._perms[key]

    def batch_indices(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(split_idx, img_idx) of this rank's batch at `step`; streams in canonical task order."""
        split_parts, img_parts = [], []
        for task in self.tasks:
            split_idx, img_idx = self.streams[task]
            count, n = self.counts[task], len(img_idx)
            positions = step * count * self.world_size + self.rank * count + np.arange(count)
            picked = np.empty(count, dtype=np.int64)
            for n_pass in np.unique(positions // n):
                here = positions // n == n_pass
                picked[here] = self._perm(task, int(n_pass))[positions[here] % n]
            split_parts.append(split_idx[picked])
            img_parts.append(img_idx[picked])
        return np.concatenate(split_parts), np.concatenate(img_parts)

    def batches(self, num_steps: int, start_step: int | None = None) -> Iterator[dict[str, torch.Tensor]]:
        """`num_steps` batches from `start_step` (default: where the last iteration stopped)."""
        if start_step is not None:
            self.step = int(start_step)
        for _ in range(num_steps):
            split_idx, img_idx = self.batch_indices(self.step)
            self.step += 1
            yield collate(self.splits, split_idx, img_idx, self.tasks)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        """One epoch (`steps_per_epoch` batches), continuing from the previous one."""
        return self.batches(self.steps_per_epoch)
