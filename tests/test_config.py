"""Run settings: defaults < preset < config file < command line, and the training-length rule."""

import pytest
from click.testing import CliRunner

from fbn_bench import FbnError
from fbn_bench.cli import cli
from fbn_bench.config import RunConfig, resolve_config
from fbn_bench.registry import get_registry


def test_layers_override_in_order(tmp_path):
    file = tmp_path / "run.toml"
    file.write_text('[run]\nlr = 0.01\nbatch_size = 48\ncoupling = "soft"\n')
    config = resolve_config("paper", file, batch_size=24, coupling=None)
    assert config.backbone == "vggface" and config.image_size == 96  # the preset over the defaults
    assert config.lr == 0.01 and config.coupling == "soft"  # the file over the preset
    assert config.batch_size == 24  # the command line over the file; None means "not given"
    assert config.seed == RunConfig().seed  # untouched by every layer


@pytest.mark.parametrize(
    "given, steps, epochs",
    [
        ({"epochs": 2.0, "steps": None}, None, 2.0),  # what the CLI passes for `--epochs 2`
        ({"steps": 50, "epochs": None}, 50, None),
        ({"steps": 50, "epochs": 2.0}, 50, 2.0),  # both given: steps win when the run counts its length
    ],
)
def test_one_training_length_replaces_the_other_below_it(given, steps, epochs):
    config = resolve_config("quick", **given)
    assert (config.steps, config.epochs) == (steps, epochs)


def test_epochs_in_a_config_file_replace_the_preset_steps(tmp_path):
    file = tmp_path / "run.toml"
    file.write_text("epochs = 3\n")
    assert (resolve_config("quick", file).steps, resolve_config("quick", file).epochs) == (None, 3)
    assert resolve_config("quick", file, steps=10).steps == 10


def test_cli_epochs_reach_the_run(monkeypatch):
    seen = {}
    monkeypatch.setattr("fbn_bench.experiment.run_experiment", lambda config, **kw: seen.setdefault("config", config))
    monkeypatch.setattr("fbn_bench.cli.run._report", lambda outcome, per_au=False: None)
    result = CliRunner().invoke(cli, ["run", "--tasks", "expr", "--epochs", "1.5"])
    assert result.exit_code == 0, result.output
    assert (seen["config"].steps, seen["config"].epochs) == (None, 1.5)


def test_cli_protocol_settings_reach_the_run(monkeypatch):
    seen = {}
    monkeypatch.setattr("fbn_bench.experiment.run_experiment", lambda config, **kw: seen.setdefault("config", config))
    monkeypatch.setattr("fbn_bench.cli.run._report", lambda outcome, per_au=False: None)
    args = ["--lr-schedule", "constant", "--warmup", "0.2", "--val-every", "7", "--patience", "3", "--budget", "steps"]
    result = CliRunner().invoke(cli, ["run", "--tasks", "expr", *args])
    assert result.exit_code == 0, result.output
    config = seen["config"]
    assert (config.lr_schedule, config.warmup, config.val_every, config.patience, config.budget) == (
        "constant",
        0.2,
        7,
        3,
        "steps",
    )
    bad = CliRunner().invoke(cli, ["run", "--tasks", "expr", "--val-every", "0"])
    assert bad.exit_code == 2 and "val_every" in bad.output


def test_bad_settings_are_one_line_errors(tmp_path):
    with pytest.raises(FbnError, match="unknown preset 'fast'"):
        resolve_config("fast")
    file = tmp_path / "run.toml"
    file.write_text("learning_rate = 0.1\n")
    with pytest.raises(FbnError, match="unknown setting 'learning_rate'"):
        resolve_config("quick", file)


def test_a_backbone_chosen_alone_brings_its_own_input_size(tmp_path):
    registry = get_registry()
    assert resolve_config("quick", backbone="vggface", registry=registry).image_size == 96  # its default_image_size
    assert (
        resolve_config("quick", backbone="vggface", image_size=64).image_size == 64
    )  # an explicit size wins, no lookup
    assert resolve_config("quick", backbone="small", registry=registry).image_size == 64
    assert resolve_config("paper").image_size == 96 and resolve_config("quick").image_size == 64
    file = tmp_path / "run.toml"
    file.write_text('backbone = "vggface"\n')
    assert resolve_config("quick", file, registry).image_size == 96
    assert resolve_config("quick", file, image_size=48).image_size == 48


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"steps": 0}, "steps must be >= 1, got 0"),
        ({"steps": -3}, "steps must be >= 1"),
        ({"epochs": 0.0, "steps": None}, "epochs must be > 0"),
        ({"lr": "fast"}, "lr must be a finite number, got 'fast'"),
        ({"lr": float("nan")}, "lr must be a finite number"),
        ({"batch_size": True}, "batch_size must be a whole number, got True"),
        ({"image_size": 8}, "image_size must be >= 16"),
        ({"dropout": 1.0}, "dropout must be >= 0 and < 1"),
        ({"task_weights": {"au": -5}}, "task_weights.au must be >= 0, got -5"),
        ({"task_weights": {"au": "abc"}}, "task_weights.au must be a finite number"),
        ({"task_weights": {"foo": 2.0}}, "task_weights names 'foo', not a task"),
        ({"task_weights": "au=2"}, "task_weights must be a table of task = number"),
        ({"shares": {"va": True}}, "shares.va must be a finite number, got True"),
        ({"tasks": 5}, "tasks must be a name or a list of names"),
        ({"datasets": 5}, "datasets must be a name or a list of names"),
        ({"coupling": 2}, "coupling must be text, got 2"),
        ({"augment": "yes"}, "augment must be true or false"),
    ],
)
def test_settings_of_the_wrong_type_or_range_are_one_line_errors(settings, message):
    with pytest.raises(FbnError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RunConfig(**settings)


def test_one_database_may_be_written_as_text(tmp_path):
    file = tmp_path / "run.toml"
    file.write_text('datasets = "disfa:fold=2,threshold=1"\n')
    assert resolve_config(None, file).datasets == ("disfa:fold=2,threshold=1",)  # one database, not 23 letters


def test_databases_named_alone_bring_the_tasks_they_label(tmp_path):
    registry = get_registry()
    # `fbn-bench run --datasets disfa`: DISFA labels AUs only, so the run trains AUs, not every task
    assert resolve_config(None, None, registry, datasets=("disfa",)).tasks == ("au",)
    assert resolve_config(None, None, registry, datasets=("disfa", "synth-affectnet")).tasks == ("va", "expr", "au")
    # tasks given win, and so do a config file's
    assert resolve_config(None, None, registry, datasets=("disfa",), tasks="va,au").tasks == ("va", "au")
    path = tmp_path / "c.toml"
    path.write_text('tasks = ["au"]\n')
    assert resolve_config(None, path, registry, datasets=("synth-affectnet",)).tasks == ("au",)
    # an unknown database is left for the run to name
    assert resolve_config(None, None, registry, datasets=("nope",)).tasks == ("va", "expr", "au")
