"""The option schema (fbn_bench.options): parsing, checking, defaults, the canonical text, and a resolved
plugin travelling from the command line through a run's records into the leaderboard."""

import hashlib
import inspect

import numpy as np
import pytest
from engine_toy_plugin import write_toy

from fbn_bench import DatasetSpec, FbnError, Option
from fbn_bench.config import resolve_config
from fbn_bench.coupling.relatedness import relatedness
from fbn_bench.experiment import run_experiment
from fbn_bench.leaderboard.build import build_tables, render_all
from fbn_bench.leaderboard.tables import Settings
from fbn_bench.options import IMAGE_SIZE, resolve_plugin
from fbn_bench.plugin_options import resolved_plugins
from fbn_bench.registry import build_registry
from fbn_bench.results import config_hash, file_stem, read_records


def _load(root, split, *, fold, naming, scale, flag, size):
    raise AssertionError("never called here")


SPEC = DatasetSpec(
    "optdb",
    tasks={"expr"},
    load=_load,
    options=(
        Option("fold", int, 1, choices=(1, 2, 3), help="test fold"),
        Option("naming", str, "{subject}.png", help="image path pattern"),
        Option("scale", float, 1.0, above=0, high=10, help="size factor"),
        Option("flag", bool, False, help="a switch"),
        Option("size", int, 64, low=16, follows=IMAGE_SIZE, help="render size"),
    ),
)


def resolved(given=None, context=None):
    return resolve_plugin("datasets", SPEC, given, context)


def test_defaults_are_filled_and_values_typed_from_text():
    assert resolved().options == {"fold": 1, "naming": "{subject}.png", "scale": 1.0, "flag": False, "size": 64}
    typed = resolved({"fold": "2", "scale": "3", "flag": "yes", "naming": "x/{subject}.jpg"}).options
    assert typed["fold"] == 2 and type(typed["fold"]) is int
    assert typed["scale"] == 3.0 and type(typed["scale"]) is float
    assert typed["flag"] is True and typed["naming"] == "x/{subject}.jpg"


def test_the_canonical_text_shows_only_what_differs_from_the_defaults_spelled_one_way():
    assert resolved({"fold": "1", "scale": "1.0"}).name == resolved().name == "optdb"
    assert resolved({"fold": "2.0"}).name == resolved({"fold": "2"}).name == resolved({"fold": 2}).name
    assert resolved({"scale": "0.50", "fold": "2", "flag": "1"}).name == "optdb:flag=true,fold=2,scale=0.5"
    assert resolved({"root": "/data/optdb", "fold": "3"}).name == "optdb:fold=3"  # where it lives is no option
    assert resolved({"root": "/data/optdb"}).root == "/data/optdb"


def test_an_option_that_follows_the_image_size_is_named_only_when_it_differs():
    at96 = resolved(context={IMAGE_SIZE: 96})
    assert at96.options["size"] == 96 and at96.name == "optdb"
    assert resolved({"size": "64"}, {IMAGE_SIZE: 96}).name == "optdb:size=64"
    assert resolved({"size": "96"}, {IMAGE_SIZE: 96}).name == "optdb"


@pytest.mark.parametrize(
    "given, message",
    [
        ({"fold": "4"}, "dataset 'optdb': option fold=4 is invalid; use one of 1, 2, 3"),
        ({"fold": "2.5"}, "option fold=2.5 is invalid; use one of 1, 2, 3"),
        ({"scale": "0"}, "option scale=0 is invalid; use a number in (0, 10]"),
        ({"scale": "nan"}, "option scale=nan is invalid"),
        ({"scale": "big"}, "option scale=big is invalid; use a number in (0, 10]"),
        ({"flag": "maybe"}, "option flag=maybe is invalid; use true or false"),
        ({"size": "8"}, "option size=8 is invalid; use an integer >= 16"),
        ({"fold": True}, "option fold=True is invalid"),  # a TOML true is no fold number
        ({"colour": "red"}, "dataset 'optdb' has no option 'colour'; its options: flag, fold, naming, scale, size"),
    ],
)
def test_a_bad_value_is_one_line_naming_plugin_option_value_and_what_is_allowed(given, message):
    with pytest.raises(FbnError) as caught:
        resolved(given)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_schema_is_checked_when_the_plugin_registers():
    with pytest.raises(FbnError, match="declared twice"):
        DatasetSpec("twice", tasks={"expr"}, load=_load, options=(Option("a", int, 1), Option("a", int, 2)))
    with pytest.raises(FbnError, match="'root' is set by the core"):
        DatasetSpec("rooted", tasks={"expr"}, load=_load, options=(Option("root", str, None),))
    with pytest.raises(FbnError, match="default is invalid|default: option fold=9"):
        Option("fold", int, 9, choices=(1, 2))


def test_a_plugin_without_a_schema_keeps_its_keyword_defaults():
    """A third-party plugin written before the schema: a help dict and keyword defaults."""

    def load(root, split, fold=1, mode="fast", bands=(1, 2)):
        pass

    legacy = DatasetSpec(
        "legacy", tasks={"expr"}, load=load, options={"fold": "test fold", "mode": "how", "bands": "which"}
    )
    assert [(o.name, o.type, o.default) for o in legacy.options] == [
        ("fold", int, 1),
        ("mode", str, "fast"),
        ("bands", None, (1, 2)),  # not a simple type: kept as it is, so the core passes load its own default
    ]
    assert resolve_plugin("datasets", legacy).options["bands"] == (1, 2)
    assert resolve_plugin("datasets", legacy, {"fold": "2.0"}).name == "legacy:fold=2"
    with pytest.raises(FbnError, match="option fold=x is invalid; use an integer"):
        resolve_plugin("datasets", legacy, {"fold": "x"})


def test_the_canonical_text_is_the_display_name_the_file_stem_and_a_hash_input():
    registry = build_registry()
    config = resolve_config("quick", datasets=("synth-disfa:scale=0.5,seed=0",), tasks=("au",))
    spelled_otherwise = resolve_config("quick", datasets=("synth-disfa:seed=0.0,scale=0.50",), tasks=("au",))
    from fbn_bench.run_datasets import resolve_datasets

    (plugin,) = resolve_datasets(config, registry)
    assert plugin.name == "synth-disfa:scale=0.5"
    plugins = resolved_plugins(config, registry, [plugin])
    assert plugins["datasets"][0]["text"] == plugin.name
    assert file_stem(plugin.name) == file_stem(resolve_datasets(spelled_otherwise, registry)[0].name)
    other = resolved_plugins(spelled_otherwise, registry, resolve_datasets(spelled_otherwise, registry))
    assert config_hash(config.to_dict(), plugins) == config_hash(spelled_otherwise.to_dict(), other)


def test_every_built_in_option_is_declared_once():
    """Built-in plugins declare each option as an Option and nowhere else: no keyword default in `load` or
    `build` (the core passes every option, defaults filled), and every option reaches a parameter."""
    registry = build_registry()
    checked = 0
    for kind in ("datasets", "backbones", "couplings"):
        for name in registry.names(kind):
            entry = registry.entries[kind][name]
            if not entry.plugin.startswith("fbn_plugins."):
                continue
            spec = entry.spec
            fn = getattr(spec, "load", None) or spec.build
            parameters = inspect.signature(fn).parameters.values()
            defaults = [p.name for p in parameters if p.default is not p.empty]
            assert defaults == [], f"{kind} {name}: keyword defaults {defaults} repeat its schema"
            named = {p.name for p in parameters}
            takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
            for option in spec.options:
                assert option.help, f"{kind} {name}: option {option.name} has no help"
                assert option.name in named or takes_any, f"{kind} {name}: {option.name} reaches no parameter"
            checked += 1
    assert checked >= 15  # the built-in datasets, backbones and couplings were all looked at


@pytest.fixture(scope="module")
def run_with_options(tmp_path_factory):
    """A run on `toyopt:every=2` coupled through an empirical table estimated from a database that only the
    run's own registry knows (relatedness_fixture_plugin)."""
    root = write_toy(tmp_path_factory.mktemp("toy"))
    registry = build_registry(extra_modules=["engine_toy_plugin", "options_toy_plugin", "relatedness_fixture_plugin"])
    config = resolve_config(
        "quick",
        datasets=(f"toyopt:root={root},every=2.0",),
        coupling="soft",
        relatedness="empirical:relfix-both",
        image_size=16,
        steps=4,
        batch_size=16,
        seed=0,
        out=str(tmp_path_factory.mktemp("runs") / "run"),
        hidden=16,
        eval_batch_size=16,
    )
    return run_experiment(config, registry, progress=False), registry


def test_a_run_with_options_is_filed_and_tabled_under_its_canonical_name(run_with_options):
    outcome, registry = run_with_options
    records = list(read_records(outcome.run_dir))
    assert {r["dataset"] for r in records} == {"toyopt:every=2"}
    (entry,) = records[0]["plugins"]["datasets"]
    assert entry["name"] == "toyopt" and entry["text"] == "toyopt:every=2" and entry["options"] == {"every": 2}
    (table,) = build_tables([outcome.run_dir], Settings(resamples=20), [], registry=registry)
    assert table.database == "toyopt:every=2"
    # The spec was found through the name's plugin: its unit (subject), not the guess from the columns
    # (video, which every row has), and the headline of its first task.
    assert table.unit == "subject"
    assert table.headline == "ccc_mean" and table.metrics[0] == "ccc_mean"
    files = render_all(outcome.run_dir.parent / "boards", [outcome.run_dir], Settings(resamples=20), registry=registry)
    assert f"{file_stem('toyopt:every=2')}.md" in files


def test_a_run_reads_an_empirical_table_through_its_own_registry(run_with_options):
    outcome, registry = run_with_options
    expected = relatedness("empirical:relfix-both", registry=registry)
    values = np.round(np.asarray(expected.to_numpy(np.float32), dtype=np.float64), 6)
    recorded = next(read_records(outcome.run_dir))["plugins"]["relatedness"]
    assert recorded["sha256"] == hashlib.sha256(values.tobytes()).hexdigest()[:16]
    du = np.round(np.asarray(relatedness("du2014").to_numpy(np.float32), dtype=np.float64), 6)
    assert recorded["sha256"] != hashlib.sha256(du.tobytes()).hexdigest()[:16]


def test_leaderboard_build_finds_the_spec_of_a_built_in_database_named_with_options(tmp_path):
    """The reported case: records of `synth-affwild:scale=0.5` (the installed synthetic Aff-Wild, whose
    unit is the subject) in `fbn-bench leaderboard build`. Each row is its own video, so a guess from the
    columns would resample videos."""
    from click.testing import CliRunner
    from leaderboard_helpers import predictions, write_run

    from fbn_bench.cli import cli

    database = "synth-affwild:scale=0.5"
    for seed in range(2):
        frame = predictions(tasks=("va",), seed=seed)
        frame["video"] = [f"v{i}" for i in range(len(frame))]
        write_run(tmp_path / "runs", f"r{seed}", {database: frame}, tasks=("va",), seed=seed)
    out = tmp_path / "boards"
    result = CliRunner().invoke(
        cli,
        ["leaderboard", "build", "--out", str(out), "--results", str(tmp_path / "runs"), "--resamples", "20"],
        obj={"debug": False},
    )
    assert result.exit_code == 0, result.output
    text = (out / f"{file_stem(database)}.md").read_text()
    assert "resamples of 10 subjects" in text  # 10 subjects of 5 rows; by video it would be 50 videos
    (table,) = build_tables([tmp_path / "runs"], Settings(resamples=20), [], registry=build_registry())
    assert table.database == database and table.unit == "subject" and table.headline == "ccc_mean"
