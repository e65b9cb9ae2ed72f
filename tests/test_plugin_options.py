"""Plugin options resolved with their defaults: in every record, and in the configuration hash."""

import dataclasses
from functools import partial

import pytest

from fbn_bench import FbnError
from fbn_bench.config import RunConfig
from fbn_bench.identity import config_hash
from fbn_bench.options import keyword_defaults
from fbn_bench.plugin_options import resolved_plugins
from fbn_bench.registry import build_registry
from fbn_bench.run_datasets import resolve_datasets
from fbn_plugins.datasets.synthetic.store import OPTIONS as SYNTHETIC_OPTIONS
from fbn_plugins.datasets.synthetic.store import generation_options


@pytest.fixture
def registry():
    return build_registry()


def plugins_for(config, registry):
    return resolved_plugins(config, registry, resolve_datasets(config, registry))


def test_defaults_come_from_the_signature_without_core_arguments():
    def load(root, split, fold=1, *, naming="x", **rest):
        pass

    def build(relatedness, image_size=64, weight=1.0):
        pass

    assert keyword_defaults(load) == {"fold": 1, "naming": "x"}
    assert keyword_defaults(build) == {"weight": 1.0}
    assert keyword_defaults(partial(load, "root-bound")) == {"fold": 1, "naming": "x"}
    assert keyword_defaults(len) == {}  # no signature: nothing, not a crash


def test_user_options_override_defaults_and_the_origin_is_named(registry):
    config = RunConfig(coupling="soft+dm:weight=0.5", datasets=("synth-rafdb:scale=0.5",))
    plugins = plugins_for(config, registry)
    dm = {c["name"]: c for c in plugins["coupling"]}["dm"]
    assert dm["options"]["weight"] == 0.5 and dm["options"]["reverse"] is False
    assert {c["name"]: c for c in plugins["coupling"]}["soft"]["options"]["temperature"] == 2.0
    assert plugins["backbone"] == {"name": "small", "text": "small", "options": {"width": 32}, "plugin": "fbn-bench"}
    (rafdb,) = plugins["datasets"]
    assert rafdb["name"] == "synth-rafdb" and rafdb["options"]["scale"] == 0.5 and rafdb["options"]["seed"] == 0
    assert rafdb["text"] == "synth-rafdb:scale=0.5"  # the canonical text its results are filed under


def test_a_changed_plugin_default_changes_the_config_hash(registry):
    config = RunConfig(coupling="dm", datasets=("synth-rafdb", "synth-disfa"))
    before = config_hash(config.to_dict(), plugins_for(config, registry))
    spec = registry.coupling("dm")
    weight = next(o for o in spec.options if o.name == "weight")
    options = tuple(dataclasses.replace(o, default=1.0) if o is weight else o for o in spec.options)
    registry.entries["couplings"]["dm"] = dataclasses.replace(  # dm's default weight as it was before 0.1
        registry.entries["couplings"]["dm"], spec=dataclasses.replace(spec, options=options)
    )
    after = config_hash(config.to_dict(), plugins_for(config, registry))
    assert before != after


def test_a_new_dataset_loader_version_changes_the_config_hash(registry):
    config = RunConfig(datasets=("synth-rafdb",))
    chosen = resolve_datasets(config, registry)
    reparsed = [dataclasses.replace(p, spec=dataclasses.replace(p.spec, loader_version="2")) for p in chosen]
    assert resolved_plugins(config, registry, reparsed)["datasets"][0]["loader_version"] == "2"
    assert config_hash(config.to_dict(), resolved_plugins(config, registry, chosen)) != config_hash(
        config.to_dict(), resolved_plugins(config, registry, reparsed)
    )


def test_where_a_plugin_comes_from_is_not_hashed(registry):
    config = RunConfig(datasets=("synth-rafdb",))
    plugins = plugins_for(config, registry)
    moved = {**plugins, "backbone": {**plugins["backbone"], "plugin": "someone-elses-package"}}
    assert config_hash(config.to_dict(), plugins) == config_hash(config.to_dict(), moved)


def test_synthetic_generation_takes_its_defaults_and_checks_from_the_schema():
    from fbn_plugins.datasets.synthetic.databases import DATABASES
    from fbn_plugins.datasets.synthetic.store import option_key

    assert generation_options() == {o.name: o.default for o in SYNTHETIC_OPTIONS if o.role is None}
    # The folder names of data generated before the schema was the one home stay valid (written down then).
    assert option_key(DATABASES["synth-bp4d"], generation_options()) == "v2-4d12821b0402"
    assert option_key(DATABASES["synth-bp4d"], generation_options(scale="1", seed=0.0)) == "v2-4d12821b0402"
    with pytest.raises(FbnError, match="synthetic data: option size=8 is invalid; use an integer in \\[16, 512\\]"):
        generation_options(size=8)
    with pytest.raises(FbnError, match="no option 'colour'"):
        generation_options(colour="red")


def test_synthetic_data_renders_at_the_run_image_size_unless_told(registry):
    chosen = resolve_datasets(RunConfig(image_size=96, datasets=("synth-rafdb", "synth-disfa:size=64")), registry)
    assert [p.options["size"] for p in chosen] == [96, 64]
    # Following the image size is not an option the user chose: the name stays bare; a given size shows.
    assert [p.name for p in chosen] == ["synth-rafdb", "synth-disfa:size=64"]


def test_a_database_is_named_by_its_non_default_options_only(registry):
    def name(text):
        return registry.resolve("datasets", text).name

    assert name("disfa:threshold=2,fold=1") == name("disfa") == name("disfa:root=/data/disfa") == "disfa"
    assert name("disfa:threshold=1,fold=2") == name("disfa:fold=2.0,threshold=1") == "disfa:fold=2,threshold=1"
    assert name("affwild:bboxes=false") == "affwild:bboxes=false"


def test_naming_the_same_data_twice_is_an_error(registry):
    from fbn_bench import FbnError

    with pytest.raises(FbnError, match="names 'disfa' twice"):
        resolve_datasets(RunConfig(tasks=("au",), datasets=("disfa", "disfa:fold=1")), registry)


def test_the_hash_ignores_how_the_datasets_were_spelled(registry):
    def hashed(*datasets):
        config = RunConfig(datasets=datasets)
        return config_hash(config.to_dict(), plugins_for(config, registry))

    assert hashed("synth-rafdb:seed=0,scale=1.0") == hashed("synth-rafdb") != hashed("synth-rafdb:scale=0.5")


def test_files_are_hashed_by_content_not_by_path(tmp_path):
    import numpy as np

    from fbn_bench.plugin_options import content_provenance

    table = np.random.default_rng(0).random((7, 17))
    (tmp_path / "a.pt").write_bytes(b"weights-1")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "a.pt").write_bytes(b"weights-1")  # the same bytes elsewhere
    (tmp_path / "c.pt").write_bytes(b"weights-2")

    def hashed(weights, relatedness, values, coupled=True):
        config = RunConfig(weights=str(weights), relatedness=relatedness)
        return config_hash(config.to_dict(), {"coupling": [], **content_provenance(config, values, coupled)})

    base = hashed(tmp_path / "a.pt", "mine.csv", table)
    assert base == hashed(tmp_path / "b" / "a.pt", "/elsewhere/mine.csv", table)
    assert base != hashed(tmp_path / "c.pt", "mine.csv", table)  # other weights
    assert base != hashed(tmp_path / "a.pt", "mine.csv", table + 0.01)  # the CSV edited between runs
    # Without a coupling the table is never read, so it cannot make two runs different.
    assert hashed(tmp_path / "a.pt", "x.csv", table, False) == hashed(tmp_path / "a.pt", "y.csv", table + 1, False)


def test_several_processes_are_another_configuration_one_process_keeps_its_hash():
    from fbn_bench.identity import hashed_config

    config = RunConfig()
    one = hashed_config(config, 1)
    assert {k: v for k, v in one.items() if k != "training_code"} == config.to_dict()  # no world_size for one
    assert config_hash(hashed_config(config, 2)) != config_hash(hashed_config(config, 1))
