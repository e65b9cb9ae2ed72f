"""What the core checks of a third-party plugin, so a mistake is a one-line report naming the plugin instead of a
silent no-op or a torch traceback: unknown hooks, wrong hook arguments, spec fields, duplicate names, backbone
options and shapes, coupling terms, crashing observers, and the options `fbn-bench plugins --json` lists."""

import json
import sys

import pytest
import torch
from click.testing import CliRunner
from plugin_modules import write_plugin

from fbn_bench import FbnError, MetricSpec, RunInfo
from fbn_bench import registry as registry_module
from fbn_bench.cli import cli
from fbn_bench.config import RunConfig
from fbn_bench.coupling.compose import ComposedCoupling
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
    with pytest.raises(FbnError, match=r"metric 'm': task must be one of va, expr, au or None, got 'exprs'"):
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


# --- backbones ----------------------------------------------------------------------------------------------

BACKBONE_PLUGIN = """
    import torch
    from torch import nn
    from fbn_bench import BackboneSpec, hookimpl

    def no_out_features(image_size=16):
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def feature_maps(image_size=16):
        net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1))  # (B, 4, H, W): forgot to pool and flatten
        net.out_features = 4
        return net

    def wrong_width(image_size=16):
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        net.out_features = 8
        return net

    def crashes(image_size=16):
        net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 10 * 10, 4))  # only fits 10 x 10 images
        net.out_features = 4
        return net

    class Busy(nn.Module):
        '''Batch norm and dropout (what eval mode must freeze), a layer kept in eval on purpose, and a forward
        that draws random numbers.'''

        def __init__(self, width):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.frozen = nn.BatchNorm2d(4).eval()
            self.drop = nn.Dropout(0.5)
            self.out_features = width

        def forward(self, x):
            x = self.frozen(self.bn(self.conv(x)))
            x = x + torch.rand_like(x) * self.training  # draws from the global RNG in either mode
            return self.drop(x.mean((2, 3)))

    def busy(image_size=16, **kwargs):
        return Busy(4)

    @hookimpl
    def register_backbones(register):
        for name, build in (("no-out-features", no_out_features), ("feature-maps", feature_maps),
                            ("wrong-width", wrong_width), ("crashes", crashes), ("busy", busy)):
            register(BackboneSpec(name, build))
"""


@pytest.fixture
def backbone_registry(plugin_dir):
    write_plugin(plugin_dir, "fbntest_backbones", BACKBONE_PLUGIN)
    return build_registry(extra_modules=["fbntest_backbones"])


def test_undeclared_backbone_option_is_a_one_line_error():
    with pytest.raises(FbnError) as info:
        build_model(RunConfig(backbone="small:widht=4", image_size=16), get_registry())
    assert str(info.value) == "backbone 'small' has no option 'widht'; its options: width"
    assert build_model(RunConfig(backbone="small:width=4", image_size=16), get_registry()).backbone.out_features == 32


def test_a_build_that_takes_kwargs_gets_undeclared_options(backbone_registry):
    model = build_model(RunConfig(backbone="busy:anything=1", image_size=16), backbone_registry)
    assert model.backbone.out_features == 4


@pytest.mark.parametrize(
    "name, message",
    [
        ("no-out-features", "backbone 'no-out-features' has out_features=None; a BackboneSpec's build must return"),
        (
            "feature-maps",
            "backbone 'feature-maps' returned shape (2, 4, 16, 16) for 2 images of 16 x 16, expected shape (2, 4)",
        ),
        ("wrong-width", "backbone 'wrong-width' returned shape (2, 4) for 2 images of 16 x 16, expected shape (2, 8)"),
        ("crashes", "backbone 'crashes' failed on 2 images of 16 x 16 (RuntimeError: mat1 and mat2 shapes"),
    ],
)
def test_a_backbone_breaking_its_contract_is_a_one_line_error(backbone_registry, name, message):
    with pytest.raises(FbnError) as info:
        build_model(RunConfig(backbone=name, image_size=16), backbone_registry)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert "maps images (B, 3, H, W) to features (B, out_features)" in str(info.value)


def test_the_backbone_check_leaves_weights_modes_and_random_state_alone(backbone_registry):
    from fbn_bench.model import check_backbone

    busy = backbone_registry.backbone("busy").build(image_size=16)
    weights = {k: v.clone() for k, v in busy.state_dict().items()}
    state = torch.get_rng_state()
    check_backbone("busy", busy, 16)
    assert torch.equal(state, torch.get_rng_state())  # a seeded run draws the same numbers as without the check
    assert all(torch.equal(v, weights[k]) for k, v in busy.state_dict().items())  # batch-norm statistics too
    assert busy.training and busy.bn.training and busy.drop.training and not busy.frozen.training
    assert build_model(RunConfig(backbone="busy", image_size=16), backbone_registry).backbone.training


# --- couplings ----------------------------------------------------------------------------------------------


def test_a_coupling_term_that_is_not_a_scalar_is_a_one_line_error():
    per_sample = ComposedCoupling(
        [("ok", lambda o, b: {"": torch.tensor(1.0)}), ("bad", lambda o, b: {"au": torch.ones(6)})]
    )
    with pytest.raises(FbnError) as info:
        per_sample({}, {})
    assert str(info.value) == (
        "coupling 'bad' returned term 'bad/au' as a tensor of shape (6,); each term must be "
        "a scalar (0-dim) tensor, e.g. reduce it with .mean()"
    )
    with pytest.raises(FbnError, match="returned term 'num' as a float"):
        ComposedCoupling([("num", lambda o, b: {"": 0.5})])({}, {})
    assert set(ComposedCoupling([("ok", lambda o, b: {"": torch.tensor(1.0)})])({}, {})) == {"ok"}


# --- observers ----------------------------------------------------------------------------------------------

OBSERVERS = {
    "fbntest_crashing_logger": """
        from fbn_bench import hookimpl

        @hookimpl
        def on_epoch_end(run, epoch, logs):
            raise ConnectionError("tracking server down")
    """,
    "fbntest_quiet_logger": """
        from fbn_bench import hookimpl

        SEEN = []

        @hookimpl
        def on_run_start(run):
            SEEN.append(("start", run.run_id))

        @hookimpl
        def on_epoch_end(epoch, logs):  # a subset of the hook's arguments, in any order
            SEEN.append(("epoch", epoch, dict(logs)))

        @hookimpl
        def on_run_end(run, records):
            SEEN.append(("end", len(records)))
    """,
}


def test_an_observer_that_raises_is_warned_about_once_and_the_others_go_on(plugin_dir, tmp_path, capsys):
    for name, body in OBSERVERS.items():
        write_plugin(plugin_dir, name, body)
    registry = build_registry(extra_modules=list(OBSERVERS))
    assert registry.failures == []
    hook = registry.hook()
    run = RunInfo("r1", tmp_path, {})
    hook.on_run_start(run=run)
    for epoch in (1, 2, 3):
        hook.on_epoch_end(run=run, epoch=epoch, logs={"epoch": epoch, "step": epoch * 10, "loss": 0.5})
    hook.on_run_end(run=run, records=[{}, {}])

    seen = sys.modules["fbntest_quiet_logger"].SEEN
    assert seen[0] == ("start", "r1") and seen[-1] == ("end", 2)
    assert [s[1] for s in seen if s[0] == "epoch"] == [1, 2, 3]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "fbntest_crashing_logger" in line]
    assert warnings == [
        "Warning: plugin fbntest_crashing_logger raised in on_epoch_end and was skipped there "
        "(ConnectionError: tracking server down); the run goes on (repeats are not shown)",
        "Warning: plugin fbntest_crashing_logger raised in on_epoch_end 3 times in this run",
    ]


def test_a_crashing_logger_does_not_cost_the_run_its_checkpoint(plugin_dir, tmp_path, capsys):
    from engine_toy_plugin import write_toy

    from fbn_bench.config import resolve_config
    from fbn_bench.experiment import run_experiment

    for name, body in OBSERVERS.items():
        write_plugin(plugin_dir, name, body)
    registry = build_registry(extra_modules=["engine_toy_plugin", *OBSERVERS])
    root = write_toy(tmp_path / "toy", n_train=24, n_test=8)
    config = resolve_config(
        "quick",
        datasets=(f"toy:root={root}",),
        image_size=16,
        steps=2,
        batch_size=12,
        seed=1,
        out=str(tmp_path / "run"),
        hidden=8,
        eval_batch_size=8,
    )
    outcome = run_experiment(config, registry, progress=False)
    assert (outcome.run_dir / "checkpoint.pt").is_file() and (outcome.run_dir / "results.jsonl").is_file()
    assert "fbntest_crashing_logger raised in on_epoch_end" in capsys.readouterr().err
    # What on_epoch_end's `logs` holds, as hookspecs.py and docs/writing-plugins.md describe it.
    logs = [s[2] for s in sys.modules["fbntest_quiet_logger"].SEEN if s[0] == "epoch"]
    assert logs and all(isinstance(row["epoch"], int) and isinstance(row["step"], int) for row in logs)
    assert {"epoch", "step", "loss", "va", "expr", "au"} <= set(logs[-1]) and logs[-1]["step"] == 2
    assert all(isinstance(v, float) for row in logs for k, v in row.items() if k not in ("epoch", "step"))


def test_a_run_that_fails_tells_its_observers_so_they_can_close(plugin_dir, tmp_path, monkeypatch):
    from engine_toy_plugin import write_toy

    from fbn_bench.config import resolve_config
    from fbn_bench.experiment import run_experiment

    write_plugin(
        plugin_dir,
        "fbntest_closing_logger",
        """
        from fbn_bench import hookimpl

        SEEN = []

        @hookimpl
        def on_run_start(run):
            SEEN.append("start")

        @hookimpl
        def on_run_failed(run, error):
            SEEN.append(("failed", type(error).__name__, str(error)))

        @hookimpl
        def on_run_end(run, records):
            SEEN.append("end")
    """,
    )
    registry = build_registry(extra_modules=["engine_toy_plugin", "fbntest_closing_logger"])
    root = write_toy(tmp_path / "toy", n_train=24, n_test=8)
    config = resolve_config(
        "quick",
        datasets=(f"toy:root={root}",),
        image_size=16,
        steps=2,
        batch_size=12,
        out=str(tmp_path / "run"),
        hidden=8,
        eval_batch_size=8,
    )

    def out_of_memory(*args, **kwargs):
        raise MemoryError("no room")

    monkeypatch.setattr("fbn_bench.train.fit", out_of_memory)
    with pytest.raises(MemoryError, match="no room"):
        run_experiment(config, registry, progress=False)
    assert sys.modules["fbntest_closing_logger"].SEEN == ["start", ("failed", "MemoryError", "no room")]


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
    assert by_name["couplings"]["dm"]["options"]["weight"]["default"] == 0.1
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
    from fbn_bench.model import build_model

    with pytest.raises(FbnError, match=r"backbone 'vggface' cannot be built at 16 x 16 \(ValueError: .*at least 32"):
        build_model(resolve_config("quick", backbone="vggface", image_size=16), get_registry())
