"""What the core checks of a third-party plugin, so a mistake is a one-line report naming the plugin instead of a
silent no-op or a torch traceback: unknown hooks, wrong hook arguments, spec fields, duplicate names, and the
options `fbn-bench plugins --json` lists. Backbones and couplings: test_plugin_backbones.py; observers:
test_plugin_observers.py."""

import json

import pytest
from click.testing import CliRunner
from plugin_modules import write_plugin

from fbn_bench import FbnError, MetricSpec
from fbn_bench import registry as registry_module
from fbn_bench.cli import cli
from fbn_bench.model import build_model
from fbn_bench.registry import build_registry, get_registry


def failures_of(registry, plugin):
    return [error for name, error in registry.failures if name == plugin]


# --- registration -------------------------------------------------------------------------------------------


def test_misspelt_hooks_are_reported_with_the_closest_name_and_the_rest_works(plugin_dir):
    write_plugin(
        plugin_dir,
        "fbntest_typo",
        """
        from fbn_bench import MetricSpec, hookimpl

        @hookimpl
        def register_metric(register):
            register(MetricSpec("lost_metric", lambda t, p: 0.0))

        @hookimpl
        def on_epoch_ends(run, epoch, logs):
            pass

        @hookimpl
        def register_metrics(register):
            register(MetricSpec("kept_metric", lambda t, p: 0.0))
    """,
    )
    registry = build_registry(extra_modules=["fbntest_typo"])
    errors = failures_of(registry, "fbntest_typo")
    assert len(errors) == 2, errors
    assert any("unknown hook 'register_metric' (did you mean 'register_metrics'?)" in e for e in errors)
    assert any("unknown hook 'on_epoch_ends' (did you mean 'on_epoch_end'?)" in e for e in errors)
    assert all("\n" not in e for e in errors)
    assert registry.metric("kept_metric").name == "kept_metric"  # the valid hook still registered
    assert "lost_metric" not in registry.names("metrics")
    # The warning does not claim the plugin was skipped: its valid hooks work.
    warning = registry_module.describe_failure("fbntest_typo", errors[0])
    assert warning.startswith("Warning: plugin fbntest_typo: unknown hook")


def test_optional_hooks_for_other_versions_are_not_reported(plugin_dir):
    write_plugin(
        plugin_dir,
        "fbntest_optional",
        """
        from fbn_bench import hookimpl

        @hookimpl(optionalhook=True)
        def on_batch_end(run):
            pass
    """,
    )
    assert failures_of(build_registry(extra_modules=["fbntest_optional"]), "fbntest_optional") == []


def test_wrong_hook_argument_is_reported_with_pluggys_reason_and_the_real_signature(plugin_dir):
    write_plugin(
        plugin_dir,
        "fbntest_badarg",
        """
        from fbn_bench import hookimpl

        @hookimpl
        def on_epoch_end(run, epoch, log):
            pass
    """,
    )
    [error] = failures_of(build_registry(extra_modules=["fbntest_badarg"]), "fbntest_badarg")
    assert error.startswith("PluginValidationError: Plugin 'fbntest_badarg' for hook 'on_epoch_end'")
    assert "Argument(s) {'log'} are declared in the hookimpl but can not be found in the hookspec" in error
    assert "the hookspec is on_epoch_end(run, epoch, logs)" in error and "\n" not in error


def test_metric_task_must_be_a_task_or_none():
    with pytest.raises(FbnError, match=r"metric 'm': task must be one of va, expr, au, au_int or None, got 'exprs'"):
        MetricSpec("m", lambda t, p: 0.0, task="exprs")
    assert MetricSpec("m", lambda t, p: 0.0, task="expr").task == "expr"
    assert MetricSpec("m", lambda t, p: 0.0).task is None


def test_name_registered_twice_by_one_plugin_says_so(plugin_dir):
    write_plugin(
        plugin_dir,
        "fbntest_dup_self",
        """
        from fbn_bench import MetricSpec, hookimpl

        @hookimpl
        def register_metrics(register):
            register(MetricSpec("twice", lambda t, p: 0.0))
            register(MetricSpec("twice", lambda t, p: 1.0))
    """,
    )
    with pytest.raises(FbnError) as info:
        build_registry(extra_modules=["fbntest_dup_self"])
    assert str(info.value) == (
        "metric 'twice' is registered twice by the same plugin, fbntest_dup_self "
        "(FBN_BENCH_PLUGINS); register each name once"
    )


# --- fbn-bench plugins --json -------------------------------------------------------------------------------


def test_plugins_json_lists_each_declared_option_with_help_and_default(plugin_dir, monkeypatch):
    write_plugin(
        plugin_dir,
        "fbntest_options",
        """
        from fbn_bench import CouplingSpec, hookimpl

        def build(relatedness, strength, weight=0.5):
            return lambda outputs, batch: {}

        @hookimpl
        def register_couplings(register):
            register(CouplingSpec("opts", build, options={"weight": "how much", "strength": "no default"}))
    """,
    )
    monkeypatch.setenv("FBN_BENCH_PLUGINS", "fbntest_options")
    get_registry(reload=True)
    try:
        result = CliRunner().invoke(cli, ["plugins", "--json"])
        assert result.exit_code == 0, result.output
        listing = json.loads(result.output)
    finally:
        monkeypatch.delenv("FBN_BENCH_PLUGINS")
        get_registry(reload=True)
    by_name = {
        kind: {row["name"]: row for row in listing[kind]} for kind in ("datasets", "backbones", "couplings", "metrics")
    }
    # A plugin without a schema: each option's type and default are those of its keyword default.
    assert by_name["couplings"]["opts"]["options"] == {
        "weight": {"type": "float", "default": 0.5, "follows": None, "allowed": "a number", "help": "how much"},
        "strength": {"type": None, "default": None, "follows": None, "allowed": "a value", "help": "no default"},
    }
    assert by_name["backbones"]["small"]["options"] == {
        "width": {
            "type": "int",
            "default": 32,
            "follows": None,
            "allowed": "an integer >= 1",
            "help": "channels of the first block",
        }
    }
    assert by_name["datasets"]["synth-disfa"]["options"]["size"]["follows"] == "image_size"
    assert by_name["datasets"]["disfa"]["options"]["threshold"]["default"] == 2
    assert by_name["couplings"]["dm"]["options"]["weight"]["default"] == 0.3
    assert "options" not in by_name["metrics"]["ccc"]


def test_option_values_must_match_the_type_of_their_default():
    registry = get_registry()
    with pytest.raises(FbnError, match=r"backbone 'vggface': option batch_norm=maybe is invalid; use true or false"):
        registry.resolve("backbones", "vggface:batch_norm=maybe")
    with pytest.raises(FbnError, match=r"dataset 'disfa': option fold=two is invalid; use one of 1, 2, 3"):
        registry.resolve("datasets", "disfa:fold=two")
    assert registry.resolve("backbones", "vggface:batch_norm=true").options == {"batch_norm": True}
    assert registry.resolve("datasets", "synth-rafdb:scale=1").options["scale"] == 1.0  # an int for a float option


def test_a_backbone_that_cannot_be_built_at_the_size_says_so_in_one_line():
    from fbn_bench.config import resolve_config

    with pytest.raises(FbnError, match=r"backbone 'vggface' cannot be built at 16 x 16 \(ValueError: .*at least 32"):
        build_model(resolve_config("quick", backbone="vggface", image_size=16), get_registry())
