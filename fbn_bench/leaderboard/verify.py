"""`leaderboard build --check`'s value check: every record's value, scored again from its run's stored
predictions with the scoring evaluation uses, so an edited record (or predictions swapped under it) fails.

The stored predictions are compacted (`store.compact_predictions`: floats rounded to 4 digits, AU
probabilities never crossed over the threshold), so classification metrics come back exactly and CCC to
within about 1e-4 (5e-5 on the committed records); `TOLERANCE` leaves room for that and for nothing a person would notice in a table.
A record's `val_curve` (its headline on val at each validation) is read, checked for form, by `records.curve_of`
and not re-scored: the store keeps no val predictions of the checkpoints that were not selected.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..results import predictions_path
from ..scoring import score_predictions
from .records import numbered_records, record_thresholds, results_files
from .samples import read_frame

TOLERANCE = 5e-4
# AP and ROC-AUC rank probabilities; rounding (and the compaction's snapping of values near 0.5) creates ties.
RANK_TOLERANCE, RANK_PREFIXES = 5e-3, ("auc_", "ap_")
_AU_COLUMN = re.compile(r"^AU(\d+)$")


def value_problems(
    sources: list[Path], spec_of: Callable[[str], Any] = lambda name: None, metric_specs: list | None = None
) -> tuple[list[str], int]:
    """(problems, n_checked): one line per record whose value its stored predictions do not give back.

    `spec_of(database)` is the registered DatasetSpec or None; its AUs decide which AUs are scored (else the
    AU columns the predictions hold). `metric_specs`: the registered MetricSpecs (None: the built-ins). AU
    F1 is scored at the thresholds the records name (chosen on validation), as evaluation scored it. Records
    of metrics no installed plugin scores and records whose run stored no predictions are not checked (not
    counted in n_checked)."""
    problems, checked = [], 0
    for file in _results_files(sources):
        groups: dict[tuple[str, str], list[tuple[str, dict]]] = {}
        for where, record in numbered_records(file):
            if isinstance(record, dict) and isinstance(record.get("dataset"), str):
                groups.setdefault((record["dataset"], str(record.get("split"))), []).append((where, record))
        for (database, _), records in groups.items():
            path = predictions_path(file.parent, database)
            if not path.is_file():
                continue
            frame = read_frame(path)
            spec = spec_of(database)
            aus = list(spec.aus) if spec is not None else _aus_in(frame)
            tasks = {r.get("task") for _, r in records}
            with warnings.catch_warnings():  # undefined metrics (an AU without positives) were left out then too
                warnings.simplefilter("ignore")
                scored = score_predictions(frame, tasks, aus, metric_specs, _thresholds([r for _, r in records]))
            scores = {metric: value for (_, metric), (value, _) in scored.items()}
            for where, record in records:
                metric, value = record.get("metric"), record.get("value")
                if metric not in scores or not isinstance(value, int | float):
                    continue
                checked += 1
                again = scores[metric]
                tolerance = RANK_TOLERANCE if str(metric).startswith(RANK_PREFIXES) else TOLERANCE
                if not (math.isfinite(float(value)) and abs(float(value) - again) <= tolerance):
                    problems.append(
                        f"{where}: run {record.get('run_id')} records {metric} = {value} for {database}, "
                        f"but its stored predictions {path} score {again:.4f}"
                    )
    return problems, checked


def _results_files(sources: list[Path]) -> list[Path]:
    files: list[Path] = []
    for source in map(Path, sources):
        if source.is_file():
            files.append(source)
        elif source.is_dir():
            files += results_files(source)
    return files


def _thresholds(records: list[dict]) -> dict[int, float] | None:
    """The per-AU thresholds the database's records say they were scored with."""
    return next((t for r in records if (t := record_thresholds(r)) is not None), None)


def _aus_in(frame) -> list[int]:
    """The AUs a frame holds both targets and probabilities for, in column order."""
    found = [int(m.group(1)) for c in frame.columns if (m := _AU_COLUMN.match(str(c)))]
    return [a for a in found if f"prob_AU{a}" in frame.columns]
