"""The batch format: what the model, the losses and the coupling plugins receive.

A batch is a dict of CPU tensors (move it with `to_device`), B samples:

| key | dtype, shape | meaning |
|---|---|---|
| `image` | uint8 (B, 3, H, W) | RGB faces, 0..255, contiguous; `augment.augment` / `augment.normalize` turn them into float in [-1, 1] |
| `va` | float32 (B, 2) | valence, arousal; 0 where missing |
| `va_mask` | bool (B,) | True where both valence and arousal are labelled (and `va` is a chosen task) |
| `expr` | int64 (B,) | expression index into `tasks.EXPRESSION_VOCABULARY` (the 7 of `tasks.EXPRESSIONS`, then contempt, other); -1 where missing (or `expr` not chosen) |
| `expr_classes` | bool (B, 9) | True for each class of `EXPRESSION_VOCABULARY` the sample's database labels; only in batches of a run with an 8-class protocol (`classes=8`): without it, every sample's classes are the 7 |
| `au` | float32 (B, 17) | 0/1 per AU in `tasks.AUS` order; 0 where missing |
| `au_mask` | bool (B, 17) | True where that AU is labelled (and `au` is a chosen task) |
| `au_int`, `au_int_mask` | float32, bool (B, 17) | AU intensity 0-5 (0 where missing) and where it is labelled; only in batches of a run with the opt-in `au_int` task |
| `dataset` | int64 (B,) | index of the sample's split in the list of splits given to `collate` |
| `row` | int64 (B,) | index of the sample's image within that split (`split.images[row]`; its table row is `split.rows[row]`) |

Labels of tasks that were not chosen are always masked out, so a loss never sees them. There is no
separate expression mask: use `expr >= 0`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from ..tasks import AUS, EXPRESSION_VOCABULARY, EXPRESSIONS


def collate(
    splits: Sequence, split_idx: np.ndarray, img_idx: np.ndarray, tasks: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Gather the samples (splits[split_idx[i]], image img_idx[i]) into one batch, in the given order."""
    split_idx = np.asarray(split_idx, dtype=np.int64)
    img_idx = np.asarray(img_idx, dtype=np.int64)
    n = len(img_idx)
    size = splits[0].images.shape[1] if splits else 0
    image = np.empty((n, 3, size, size), dtype=np.uint8)
    va = np.full((n, 2), np.nan)
    expr = np.full(n, -1, dtype=np.int64)
    au = np.full((n, len(AUS)), np.nan)
    with_int = "au_int" in tasks  # opt-in: other runs' batches stay as they were
    # Likewise the class masks, only where some database labels more than the 7 (an 8-class protocol).
    with_classes = "expr" in tasks and any(len(getattr(s, "classes", EXPRESSIONS)) > len(EXPRESSIONS) for s in splits)
    expr_classes = np.zeros((n, len(EXPRESSION_VOCABULARY)), dtype=bool) if with_classes else None
    au_int = np.full((n, len(AUS)), np.nan) if with_int else None
    for s in np.unique(split_idx):
        where = np.flatnonzero(split_idx == s)
        idx = img_idx[where]
        split = splits[s]
        if split.images.shape[1] != size:
            raise ValueError(f"splits differ in image size: {split.name} has {split.images.shape[1]}, expected {size}")
        # One fancy-indexed read from the memmap, then HWC -> CHW while writing into the batch.
        image[where] = split.images[idx].transpose(0, 3, 1, 2)
        va[where] = split.labels["va"][idx]
        expr[where] = split.labels["expr"][idx]
        au[where] = split.labels["au"][idx]
        if with_int:
            au_int[where] = split.labels["au_int"][idx]
        if with_classes:
            expr_classes[where] = [name in getattr(split, "classes", EXPRESSIONS) for name in EXPRESSION_VOCABULARY]

    va_mask = ~np.isnan(va).any(axis=1) if "va" in tasks else np.zeros(n, dtype=bool)
    au_mask = ~np.isnan(au) if "au" in tasks else np.zeros((n, len(AUS)), dtype=bool)
    if "expr" not in tasks:
        expr[:] = -1
    batch = {
        "image": torch.from_numpy(image),
        "va": torch.from_numpy(np.where(va_mask[:, None], va, 0.0).astype(np.float32)),
        "va_mask": torch.from_numpy(va_mask),
        "expr": torch.from_numpy(expr),
        "au": torch.from_numpy(np.where(au_mask, au, 0.0).astype(np.float32)),
        "au_mask": torch.from_numpy(au_mask),
        "dataset": torch.from_numpy(split_idx.copy()),
        "row": torch.from_numpy(img_idx.copy()),
    }
    if with_classes:
        batch["expr_classes"] = torch.from_numpy(expr_classes)
    if with_int:
        int_mask = ~np.isnan(au_int)
        batch["au_int"] = torch.from_numpy(np.where(int_mask, au_int, 0.0).astype(np.float32))
        batch["au_int_mask"] = torch.from_numpy(int_mask)
    return batch


def eval_batches(
    split, indices: np.ndarray, batch_size: int, tasks: Sequence[str]
) -> Iterator[dict[str, torch.Tensor]]:
    """Batches of `split`'s images `indices`, in order (no shuffling); `dataset` is 0 throughout."""
    indices = np.asarray(indices, dtype=np.int64)
    for start in range(0, len(indices), batch_size):
        chunk = indices[start : start + batch_size]
        yield collate([split], np.zeros(len(chunk), dtype=np.int64), chunk, tasks)


def to_device(batch: dict[str, torch.Tensor], device) -> dict[str, torch.Tensor]:
    """Every tensor of the batch on `device`. The uint8 images are 4x smaller than float, which is why
    batches travel as uint8 and are converted on the device."""
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}
