"""Task streams and batches: stream membership, per-batch shares, masks, cycling, ranks, resumption."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from data_fixtures import toy_spec, write_toy

from fbn_bench.data.batches import collate, eval_batches, to_device
from fbn_bench.data.cache import PreparedSplit, prepare_split
from fbn_bench.data.streams import TaskStreams, split_counts
from fbn_bench.errors import FbnError
from fbn_bench.tasks import AUS

NAN = np.nan


def fake_split(name: str, va, expr, au, size: int = 4) -> PreparedSplit:
    """A split without files: image i is filled with the value i, so a batch says which image it holds."""
    n = len(expr)
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, size, size, 3)).copy()
    labels = {
        "va": np.asarray(va, float).reshape(n, 2),
        "expr": np.asarray(expr, np.int64),
        "au": np.asarray(au, float).reshape(n, len(AUS)),
    }
    return PreparedSplit(
        name=name,
        spec=toy_spec(name),
        split="train",
        root=Path("."),
        table=pd.DataFrame({"image": [f"{i}.png" for i in range(n)]}),
        images=images,
        rows=np.arange(n, dtype=np.int64),
        labels=labels,
    )


@pytest.fixture
def splits():
    # "a": VA on rows 0-5 (row 6 has valence only), expressions on 3-9, AUs on 0-8 (partly), none on 9.
    va = [[0.1 * i, -0.1 * i] if i < 6 else [NAN, NAN] for i in range(10)]
    va[6] = [0.5, NAN]
    expr = [-1, -1, -1, 0, 1, 2, 3, 4, 5, 6]
    au = np.full((10, len(AUS)), NAN)
    au[:9, 0] = np.arange(9) % 2
    au[:9:2, 5] = 1.0
    a = fake_split("a", va, expr, au)
    # "b": expressions only.
    b = fake_split("b", np.full((7, 2), NAN), [i % 7 for i in range(7)], np.full((7, len(AUS)), NAN))
    return [a, b]


def members(streams, task):
    split_idx, img_idx = streams.streams[task]
    return sorted(zip(split_idx.tolist(), img_idx.tolist()))


def test_streams_pool_the_right_images(splits):
    s = TaskStreams(splits, ("va", "expr", "au"), batch_size=6)
    assert members(s, "va") == [(0, i) for i in range(6)]
    assert members(s, "expr") == [(0, i) for i in range(3, 10)] + [(1, i) for i in range(7)]
    assert members(s, "au") == [(0, i) for i in range(9)]
    assert "VA-Set 6 images (2/batch)" in s.summary()


def test_split_counts_round_and_assign_the_remainder():
    assert split_counts({"va": 1 / 3, "expr": 1 / 3, "au": 1 / 3}, 10) == {"va": 4, "expr": 3, "au": 3}
    assert split_counts({"va": 0.5, "expr": 0.25, "au": 0.25}, 8) == {"va": 4, "expr": 2, "au": 2}
    assert split_counts({"expr": 0.7, "au": 0.3}, 9) == {"expr": 6, "au": 3}  # 6.3, 2.7 -> au gets the extra
    assert sum(split_counts({"va": 0.2, "expr": 0.45, "au": 0.35}, 33).values()) == 33


@pytest.mark.parametrize(
    "shares,expected",
    [(None, {"va": 3, "expr": 3, "au": 2}), ({"va": 1, "expr": 2, "au": 1}, {"va": 2, "expr": 4, "au": 2})],
)
def test_every_batch_takes_its_share_from_each_stream(splits, shares, expected):
    s = TaskStreams(splits, ("va", "expr", "au"), batch_size=8, shares=shares)
    assert s.counts == expected
    va, ex, au = set(members(s, "va")), set(members(s, "expr")), set(members(s, "au"))
    for batch in s.batches(12):
        pairs = list(zip(batch["dataset"].tolist(), batch["row"].tolist()))
        assert len(pairs) == 8
        # Streams come in canonical order: the first counts["va"] samples are VA-Set draws, etc.
        assert set(pairs[: expected["va"]]) <= va
        assert set(pairs[expected["va"] : expected["va"] + expected["expr"]]) <= ex
        assert set(pairs[-expected["au"] :]) <= au


def test_masks_and_values_follow_the_labels(splits):
    a, b = splits
    s = TaskStreams(splits, ("va", "expr", "au"), batch_size=9)
    for batch in s.batches(5):
        for k in range(9):
            split = splits[batch["dataset"][k]]
            i = int(batch["row"][k])
            assert torch.all(batch["image"][k] == i)
            va = split.labels["va"][i]
            assert bool(batch["va_mask"][k]) == (not np.isnan(va).any())
            if batch["va_mask"][k]:
                np.testing.assert_allclose(batch["va"][k].numpy(), va, rtol=1e-6)
            else:
                assert torch.all(batch["va"][k] == 0)
            assert int(batch["expr"][k]) == split.labels["expr"][i]
            au = split.labels["au"][i]
            np.testing.assert_array_equal(batch["au_mask"][k].numpy(), ~np.isnan(au))
            np.testing.assert_array_equal(batch["au"][k].numpy(), np.nan_to_num(au, nan=0.0))
    assert batch["image"].dtype == torch.uint8 and batch["image"].shape == (9, 3, 4, 4)
    assert batch["image"].is_contiguous()
    dtypes = {k: v.dtype for k, v in batch.items()}
    assert dtypes == {
        "image": torch.uint8,
        "va": torch.float32,
        "va_mask": torch.bool,
        "expr": torch.int64,
        "au": torch.float32,
        "au_mask": torch.bool,
        "dataset": torch.int64,
        "row": torch.int64,
    }


def test_unchosen_tasks_are_masked_out(splits):
    s = TaskStreams(splits, ("expr",), batch_size=5)
    assert list(s.streams) == ["expr"]
    for batch in s.batches(4):
        assert not batch["va_mask"].any() and not batch["au_mask"].any()
        assert torch.all(batch["va"] == 0) and torch.all(batch["au"] == 0)
        assert torch.all(batch["expr"] >= 0)
    # Sample 3 of "a" has VA, an expression and AUs; in a VA+AU run it keeps VA and AUs only.
    batch = collate(splits, np.array([0]), np.array([3]), ("va", "au"))
    assert batch["va_mask"].item() and batch["au_mask"].any() and batch["expr"].item() == -1


def test_largest_stream_is_seen_once_per_epoch_smaller_ones_cycle(splits):
    s = TaskStreams(splits, ("va", "expr", "au"), batch_size=6)  # 2 per stream
    assert s.steps_per_epoch == 7  # EXPR-Set: 14 images / 2
    drawn = {t: [] for t in s.tasks}
    for step in range(s.steps_per_epoch):
        split_idx, img_idx = s.batch_indices(step)
        for j, t in enumerate(s.tasks):
            drawn[t] += list(zip(split_idx[2 * j : 2 * j + 2].tolist(), img_idx[2 * j : 2 * j + 2].tolist()))
    assert sorted(drawn["expr"]) == members(s, "expr")  # exactly one pass
    assert sorted(drawn["va"][:6]) == members(s, "va") and sorted(drawn["va"][6:12]) == members(s, "va")
    assert drawn["va"][:6] != drawn["va"][6:12]  # reshuffled on the next pass (fixed seed)
    assert sorted(drawn["au"][:9]) == members(s, "au")
    assert len(list(s)) == 7 and s.step == 7 and len(s) == 7


def test_batches_are_reproducible_and_resumable(splits):
    def run(seed, steps=10, start=None):
        s = TaskStreams(splits, ("va", "expr", "au"), batch_size=6, seed=seed)
        return [torch.stack([b["dataset"], b["row"]]) for b in s.batches(steps, start_step=start)]

    first, again, other = run(0), run(0), run(1)
    assert all(torch.equal(x, y) for x, y in zip(first, again))
    assert not all(torch.equal(x, y) for x, y in zip(first, other))
    resumed = run(0, steps=4, start=6)
    assert all(torch.equal(x, y) for x, y in zip(first[6:], resumed))


def test_ranks_draw_disjoint_blocks_of_the_same_permutation(splits):
    ranks = [TaskStreams(splits, ("va", "expr", "au"), batch_size=6, rank=r, world_size=2) for r in range(2)]
    assert ranks[0].local_batch_size == 3 and ranks[0].steps_per_epoch == ranks[1].steps_per_epoch == 7
    seen = [Counter(), Counter()]
    for r, s in enumerate(ranks):
        for step in range(s.steps_per_epoch):
            split_idx, img_idx = s.batch_indices(step)
            seen[r][(int(split_idx[1]), int(img_idx[1]))] += 1  # position 1: the EXPR-Set draw
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == members(ranks[0], "expr")
    with pytest.raises(FbnError, match="multiple of the number of processes"):
        TaskStreams(splits, ("va", "expr", "au"), batch_size=7, world_size=2)


def test_stream_errors(splits):
    b = splits[1]
    with pytest.raises(FbnError, match=r"VA-Set is empty.*b/train"):
        TaskStreams([b], ("va", "expr"), batch_size=4)
    with pytest.raises(FbnError, match="exactly the chosen tasks"):
        TaskStreams(splits, ("va", "expr"), batch_size=4, shares={"va": 1, "au": 1})
    with pytest.raises(FbnError, match="positive"):
        TaskStreams(splits, ("va", "expr"), batch_size=4, shares={"va": 1, "expr": 0})
    with pytest.raises(FbnError, match="no room for AU-Set"):
        TaskStreams(splits, ("va", "expr", "au"), batch_size=2)


def test_eval_batches_are_in_order(splits):
    a = splits[0]
    got = list(eval_batches(a, np.arange(3, 10), batch_size=3, tasks=("expr",)))
    assert [len(b["row"]) for b in got] == [3, 3, 1]
    assert torch.cat([b["row"] for b in got]).tolist() == list(range(3, 10))
    assert torch.cat([b["expr"] for b in got]).tolist() == a.labels["expr"][3:10].tolist()
    assert all(torch.all(b["dataset"] == 0) for b in got)
    moved = to_device(got[0], "cpu")
    assert moved.keys() == got[0].keys() and torch.equal(moved["image"], got[0]["image"])


def test_streams_over_prepared_splits(tmp_path):
    """End to end from files: two databases, one labelling expressions only."""
    write_toy(tmp_path / "one", n=6)
    write_toy(tmp_path / "two", n=4, seed=1)
    one = prepare_split(
        toy_spec("one"),
        "train",
        {"root": str(tmp_path / "one")},
        image_size=8,
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    two = prepare_split(
        toy_spec("two", tasks=("expr",)),
        "train",
        {"root": str(tmp_path / "two")},
        image_size=8,
        cache_dir=tmp_path / "cache",
        progress=False,
    )
    s = TaskStreams([one, two], ("va", "expr", "au"), batch_size=6)
    assert [len(s.streams[t][1]) for t in s.tasks] == [6, 10, 6]
    batch = next(iter(s))
    for k in range(6):
        split = (one, two)[batch["dataset"][k]]
        assert np.array_equal(batch["image"][k].numpy(), split.images[batch["row"][k]].transpose(2, 0, 1))
    assert not batch["va_mask"][batch["dataset"] == 1].any()  # "two" labels no VA
