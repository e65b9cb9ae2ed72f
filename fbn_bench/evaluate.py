"""Predictions on each database's test split, scored with its own metrics, as result records.

With several processes each scores a contiguous shard; shards are gathered in rank order, so the
scored samples are exactly the test split's decodable images: no duplicates, no padding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .data.augment import normalize
from .data.batches import eval_batches, to_device
from .data.cache import PreparedSplit
from .data.table import ID_COLUMNS, LABEL_COLUMNS
from .scoring import make_scope, record_fields, score_predictions
from .tasks import AUS, EXPRESSIONS


@torch.no_grad()
def predict(model, split: PreparedSplit, accelerator, batch_size: int, progress: bool = True) -> dict[str, np.ndarray]:
    """Model outputs for every image of `split`, gathered from all processes in order."""
    model.eval()
    shard = np.array_split(np.arange(len(split)), accelerator.num_processes)[accelerator.process_index]
    chunks: dict[str, list[np.ndarray]] = {}
    bar = tqdm(
        total=len(shard),
        desc=f"eval {split.name}",
        disable=not (progress and accelerator.is_main_process),
        dynamic_ncols=True,
        leave=False,
    )
    for batch in eval_batches(split, shard, batch_size, tasks=("va", "expr", "au")):
        batch = to_device(batch, accelerator.device)
        with accelerator.autocast():
            outputs = model(normalize(batch["image"]))
        for task, value in outputs.items():
            value = torch.sigmoid(value) if task == "au" else value
            chunks.setdefault(task, []).append(value.float().cpu().numpy())
        bar.update(len(batch["image"]))
    bar.close()
    local = {task: np.concatenate(parts) for task, parts in chunks.items()}
    if accelerator.num_processes == 1:
        return local
    from accelerate.utils import gather_object

    gathered = gather_object([local])  # one dict per process, in rank order
    return {task: np.concatenate([g[task] for g in gathered if len(g.get(task, ()))]) for task in local}


def predictions_frame(split: PreparedSplit, outputs: dict[str, np.ndarray]) -> pd.DataFrame:
    """The split's identity and label columns for the scored rows, plus the model's outputs."""
    table = split.table.iloc[split.rows].reset_index(drop=True)
    keep = [c for c in (*ID_COLUMNS, *LABEL_COLUMNS, "compound") if c in table.columns]
    frame = table[keep].copy()
    if "va" in outputs:
        frame["pred_valence"], frame["pred_arousal"] = outputs["va"][:, 0], outputs["va"][:, 1]
    if "expr" in outputs:
        frame["pred_expression"] = np.asarray(EXPRESSIONS)[outputs["expr"].argmax(1)]
        for i, name in enumerate(EXPRESSIONS):
            frame[f"logit_{name}"] = outputs["expr"][:, i]
    if "au" in outputs:
        for i, au in enumerate(AUS):
            frame[f"prob_AU{au}"] = outputs["au"][:, i]
    return frame


def score_split(
    split: PreparedSplit, frame: pd.DataFrame, tasks: tuple[str, ...], metric_plugins=(), thresholds=None
) -> list[dict]:
    """Partial records (dataset, task, metric, value, n_samples, n_skipped) for the run's tasks, scored by
    `metric_plugins` (the registered MetricSpecs, see scoring.plugin_metrics; none given: the built-ins).
    `thresholds`: per-AU thresholds chosen on validation (metrics.choose_thresholds); else 0.5."""
    scored_tasks = [t for t in tasks if t in split.spec.tasks]
    scores = score_predictions(frame, scored_tasks, split.spec.aus, list(metric_plugins) or None, thresholds)
    scope = make_scope(scored_tasks, split.spec.aus, thresholds)
    return [
        {
            "dataset": split.name,
            "split": split.split,
            "task": task,
            "metric": metric,
            "value": value,
            "n_samples": n,
            "n_skipped": split.n_skipped,
            **record_fields(metric, scope),
        }
        for (task, metric), (value, n) in scores.items()
    ]
