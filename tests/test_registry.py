"""The plugin system: discovery, attribution, and the one-line errors for unknown, duplicate and broken plugins."""

import json

import pytest
from click.testing import CliRunner
from plugin_modules import write_plugin

from fbn_bench import FbnError
from fbn_bench.cli import cli
from fbn_bench.registry import build_registry, get_registry

METRIC_PLUGIN = """
    from fbn_bench import MetricSpec, hookimpl

    @hookimpl
    def register_metrics(register):
        register(MetricSpec({name!r}, lambda t, p: 0.0, task="expr"))
"""


def test_builtin_metrics_are_registered_with_module_and_distribution():
    registry = get_registry()
    for name in ("ccc", "accuracy", "f1", "macro_f1"):
        entry = registry.entries["metrics"][name]
        assert entry.plugin == "fbn_plugins.metrics.builtin"
        assert entry.distribution == "fbn-bench"


def test_unknown_name_lists_available_and_suggests():
    registry = get_registry()
    with pytest.raises(FbnError) as info:
        registry.metric("acuracy")
    message = str(info.value)
    assert "unknown metric 'acuracy'" in message and "did you mean 'accuracy'" in message
    assert "macro_f1" in message and "\n" not in message
    with pytest.raises(FbnError, match="unknown dataset 'DISFA' \\(did you mean 'disfa'\\?\\)"):
        registry.dataset("DISFA")  # too short for difflib to match across case
    with pytest.raises(FbnError, match="option 'fold' is given twice in 'disfa:fold=1,fold=2'"):
        registry.resolve("datasets", "disfa:fold=1,fold=2")


def test_duplicate_name_names_both_plugins(plugin_dir):
    write_plugin(plugin_dir, "fbntest_dup_a", METRIC_PLUGIN.format(name="twice"))
    write_plugin(plugin_dir, "fbntest_dup_b", METRIC_PLUGIN.format(name="twice"))
    with pytest.raises(FbnError, match="metric 'twice' is registered twice: by fbntest_dup_a .* and by fbntest_dup_b"):
        build_registry(extra_modules=["fbntest_dup_a", "fbntest_dup_b"])


def test_duplicate_of_a_builtin_is_an_error(plugin_dir):
    write_plugin(plugin_dir, "fbntest_dup_ccc", METRIC_PLUGIN.format(name="ccc"))
    with pytest.raises(FbnError, match="by fbn_plugins.metrics.builtin \\(fbn-bench\\) and by fbntest_dup_ccc"):
        build_registry(extra_modules=["fbntest_dup_ccc"])


def test_broken_plugin_is_reported_and_the_rest_still_works(plugin_dir, monkeypatch):
    write_plugin(plugin_dir, "fbntest_broken", "import not_a_module_anywhere\n")
    write_plugin(plugin_dir, "fbntest_good", METRIC_PLUGIN.format(name="good_metric"))
    monkeypatch.setenv("FBN_BENCH_PLUGINS", "fbntest_broken, fbntest_good")
    registry = build_registry()
    assert ("fbntest_broken", "ModuleNotFoundError: No module named 'not_a_module_anywhere'") in registry.failures
    assert registry.metric("good_metric").task == "expr"
    assert registry.metric("ccc").task == "va"


def test_plugin_whose_hook_raises_is_reported(plugin_dir):
    write_plugin(
        plugin_dir,
        "fbntest_raises",
        """
        from fbn_bench import hookimpl

        @hookimpl
        def register_datasets(register):
            raise RuntimeError("boom")
    """,
    )
    registry = build_registry(extra_modules=["fbntest_raises"])
    assert ("fbntest_raises", "register_datasets raised RuntimeError: boom") in registry.failures


def test_invalid_spec_is_a_clear_error():
    from fbn_bench import DatasetSpec

    with pytest.raises(FbnError, match="AUs \\[3\\] are outside"):
        DatasetSpec("x", tasks={"au"}, aus=(1, 3), load=lambda root, split: None)
    with pytest.raises(FbnError, match="name 'a:b' is invalid"):
        DatasetSpec("a:b", tasks={"expr"}, load=lambda root, split: None)


def test_example_plugin_shows_up_next_to_builtins(monkeypatch):
    from pathlib import Path

    example = Path(__file__).parents[1] / "examples" / "fbn-bench-example-plugin"
    monkeypatch.syspath_prepend(str(example))
    monkeypatch.setenv("FBN_BENCH_PLUGINS", "fbn_example_plugin")
    get_registry(reload=True)
    try:
        result = CliRunner().invoke(cli, ["plugins", "--json"])
        assert result.exit_code == 0, result.output
        listing = json.loads(result.output)
        mydb = next(d for d in listing["datasets"] if d["name"] == "mydb")
        assert mydb == {**mydb, "plugin": "fbn_example_plugin", "distribution": None, "tasks": ["expr"], "aus": []}
        names = {m["name"]: m["plugin"] for m in listing["metrics"]}
        assert names["cohen_kappa"] == "fbn_example_plugin"
        assert names["ccc"] == "fbn_plugins.metrics.builtin"
    finally:
        monkeypatch.delenv("FBN_BENCH_PLUGINS")
        get_registry(reload=True)


def test_observer_plugins_are_listed_with_their_hooks(plugin_dir, monkeypatch):
    write_plugin(
        plugin_dir,
        "fbntest_observer",
        """
        from fbn_bench import hookimpl

        @hookimpl
        def on_run_end(run, records):
            pass
    """,
    )
    monkeypatch.setenv("FBN_BENCH_PLUGINS", "fbntest_observer")
    get_registry(reload=True)
    try:
        result = CliRunner().invoke(cli, ["plugins", "--json"])
        assert result.exit_code == 0, result.output
        observers = {o["plugin"]: o for o in json.loads(result.output)["observers"]}
        assert observers["fbntest_observer"] == {
            "plugin": "fbntest_observer",
            "hooks": ["on_run_end"],
            "distribution": None,
        }
        assert observers["fbn_plugins.loggers.csv_logger"]["hooks"] == ["on_run_start", "on_epoch_end"]
        assert observers["fbn_plugins.loggers.csv_logger"]["distribution"] == "fbn-bench"
        table = CliRunner().invoke(cli, ["plugins"]).output
        assert "observers (" in table and "fbntest_observer" in table
    finally:
        monkeypatch.delenv("FBN_BENCH_PLUGINS")
        get_registry(reload=True)
