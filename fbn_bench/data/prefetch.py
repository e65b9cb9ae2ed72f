"""Background prefetch: the next training batches are gathered from the memory-mapped cache on a thread while
the device computes the current step.

The thread runs the very iterator the loop would (TaskStreams.batches, a pure function of seed, step and rank),
in the same order, so every batch is the same with and without it; only when it is gathered changes. On a GPU
each batch is also copied into pinned (page-locked) host memory there, so the loop's `non_blocking` copy to
the device is asynchronous. numpy's fancy indexing and copies release the GIL, so the gather overlaps compute.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

import torch

_END = object()


class Prefetcher:
    """Iterate `batches` `depth` batches ahead on a daemon thread (depth 0: in the caller's thread, no thread at
    all). `close()` (or leaving a `with` block) stops the thread when the loop ends early (early stopping, a stop
    request, an error)."""

    def __init__(self, batches: Iterable[dict[str, torch.Tensor]], depth: int = 2, pin: bool = False) -> None:
        if depth < 0:
            raise ValueError(f"depth must be 0 or more, got {depth}")
        self._batches = batches
        self._thread = None
        if depth == 0:
            return
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._pin = pin
        self._thread = threading.Thread(target=self._fill, args=(iter(batches),), name="fbn-prefetch", daemon=True)
        self._thread.start()

    def _fill(self, batches: Iterator) -> None:
        try:
            for batch in batches:
                if self._pin:
                    batch = {k: v.pin_memory() for k, v in batch.items()}
                if not self._put(batch):
                    return
            self._put(_END)
        except BaseException as exc:  # the loop raises it, with its traceback, where it asks for the batch
            self._put(exc)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        if self._thread is None:
            yield from self._batches
            return
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
