"""Shared test set-up: every test session gets its own data root and image cache, so tests never touch
(or depend on) a user's ~/.cache. Helpers that several test modules need live in tests/helpers.py."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_fbn_dirs(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("fbn")
    mp.setenv("FBN_BENCH_DATA", str(base / "data"))
    mp.setenv("FBN_BENCH_CACHE", str(base / "cache"))
    mp.delenv("FBN_BENCH_PLUGINS", raising=False)
    yield base
    mp.undo()
