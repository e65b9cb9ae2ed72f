"""Background prefetch: the batches are gathered on a thread, and a run trains exactly as it does without it."""

from __future__ import annotations

import threading

import pytest
import torch

from fbn_bench.checkpoint import load_checkpoint
from fbn_bench.data.prefetch import Prefetcher
from fbn_bench.experiment import run_experiment
from fbn_bench.results import read_records
from fbn_bench.sweep import resolve_entry

VOLATILE = {"wall_time_s", "created", "run_id"}


def test_batches_come_in_order_and_an_error_reaches_the_loop():
    assert list(Prefetcher(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise ValueError("damaged cache")

    with pytest.raises(ValueError, match="damaged cache"):
        list(Prefetcher(broken()))


def test_a_loop_that_stops_early_stops_the_thread():
    made = []

    def endless():
        while True:
            made.append(len(made))
            yield made[-1]

    with Prefetcher(endless(), depth=2) as feed:
        assert next(iter(feed)) == 0
    assert not any(t.name == "fbn-prefetch" for t in threading.enumerate())
    assert len(made) <= 4  # at most depth ahead (+1 being put, +1 taken): nothing ran on after close


def _run(toy_root, registry, out, prefetch, monkeypatch):
    import fbn_bench.data.streams as streams
    from fbn_bench.data.batches import collate as gather

    monkeypatch.setattr("fbn_bench.train.PREFETCH", prefetch)
    threads = set()

    def watched(*args, **kwargs):
        threads.add(threading.current_thread().name)
        return gather(*args, **kwargs)

    monkeypatch.setattr(streams, "collate", watched)
    config = resolve_entry(
        dict(image_size=16, hidden=32, steps=30, batch_size=16, val_every=10, datasets=(f"toy:root={toy_root}",)),
        registry,
        tasks=("va", "expr", "au"),
        coupling="soft+dm",
        seed=3,
        out=str(out),
    )
    run_experiment(config, registry=registry, progress=False, cpu=True, echo=lambda _: None)
    records = [{k: v for k, v in r.items() if k not in VOLATILE} for r in read_records(out / "results.jsonl")]
    for r in records:
        r["config"].pop("out")
    return records, load_checkpoint(out).state, (out / "train_log.csv").read_text(), threads


def test_a_run_with_prefetch_trains_exactly_as_one_without(toy_root, registry, tmp_path, monkeypatch):
    with_it = _run(toy_root, registry, tmp_path / "on", 2, monkeypatch)
    without = _run(toy_root, registry, tmp_path / "off", 0, monkeypatch)
    assert with_it[3] == {"fbn-prefetch"} and without[3] == {threading.current_thread().name}  # where it gathered
    assert with_it[0] == without[0]  # records: metrics, hashes, everything but when
    assert with_it[2] == without[2]  # every epoch's losses
    assert with_it[1].keys() == without[1].keys()
    assert all(torch.equal(with_it[1][k], without[1][k]) for k in with_it[1])  # the selected weights, bit for bit
