"""Shared test set-up: every test session gets its own data root and image cache, so tests never touch
(or depend on) a user's ~/.cache. Helpers that several test modules need are modules beside them:
data_fixtures.py, engine_toy_plugin.py, leaderboard_helpers.py, plugin_modules.py, real_fixtures_*.py. The
toy registry and toy database fixtures (`registry`, `toy_root`) are here; a module may override either."""

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


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path where tests write plugin modules (tests/plugin_modules.py)."""
    import sys

    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("fbntest_")]:
        del sys.modules[name]


@pytest.fixture
def uncarved(monkeypatch):
    """`train` and `val` both hold a database's whole training side, as its loader parses it. For the parsing
    tests of the real-format fixtures (tests/test_dataset_*.py), whose expected counts describe the training
    side; how `val` is carved from it is tested against an independent hash in tests/test_data_splits.py."""
    from fbn_bench.data import splits

    monkeypatch.setattr(splits, "carve_units", lambda database, units, split, fraction=None: {str(u) for u in units})


@pytest.fixture(scope="module")
def registry():
    """The built-in plugins plus the toy database (tests/engine_toy_plugin.py); a module may override it."""
    from fbn_bench.registry import build_registry

    return build_registry(extra_modules=["engine_toy_plugin"])


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    """The toy database at its default size, once per module (a module needing another size overrides it)."""
    from engine_toy_plugin import write_toy

    return write_toy(tmp_path_factory.mktemp("toy"))
