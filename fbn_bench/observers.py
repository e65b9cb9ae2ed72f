"""Calling the observer hooks of a run (loggers and the like), each plugin on its own."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pluggy

from .errors import FbnError, one_line


class ObserverHooks:
    """Calls each observer implementation on its own. A logger that raises must not take the run down after
    training (losing its checkpoint and results) nor silence the other loggers: its error is printed once per
    plugin and hook, and how often it recurred is printed when the run ends."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm
        self.errors: dict[tuple[str, str], int] = {}  # (plugin, hook) -> exceptions caught

    def on_run_start(self, run) -> None:
        self._call("on_run_start", run=run)

    def on_epoch_end(self, run, epoch, logs) -> None:
        self._call("on_epoch_end", run=run, epoch=epoch, logs=logs)

    def on_run_end(self, run, records) -> None:
        self._call("on_run_end", run=run, records=records)
        for (plugin, hook_name), count in self.errors.items():
            if count > 1:
                print(f"Warning: plugin {plugin} raised in {hook_name} {count} times in this run", file=sys.stderr)

    def on_run_failed(self, run, error) -> None:
        self._call("on_run_failed", run=run, error=error)

    @contextmanager
    def watching(self, run, active: bool = True) -> Iterator[None]:
        """`on_run_start` now, and `on_run_failed` if the block raises (the error then goes on up); the
        block itself calls `on_run_end`. `active=False` (processes other than the main one) calls nothing."""
        if active:
            self.on_run_start(run=run)
        try:
            yield
        except BaseException as exc:
            if active:
                self.on_run_failed(run=run, error=exc)
            raise

    def _call(self, hook_name: str, **kwargs: Any) -> None:
        # pluggy calls the implementation registered last first; keep that order.
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            try:
                if impl.wrapper or impl.hookwrapper:
                    raise FbnError("observer hooks take plain functions, not wrappers")
                impl.function(*(kwargs[name] for name in impl.argnames))
            except Exception as exc:
                key = (impl.plugin_name, hook_name)
                self.errors[key] = self.errors.get(key, 0) + 1
                if self.errors[key] == 1:
                    print(
                        f"Warning: plugin {impl.plugin_name} raised in {hook_name} and was skipped there "
                        f"({one_line(exc)}); the run goes on (repeats are not shown)",
                        file=sys.stderr,
                    )
