"""Third-party loader mistakes that used to slip through: misspelt label columns, loader bugs shown as
tracebacks during a run, AU columns a run drops silently, and options that provenance cannot see."""

from __future__ import annotations

import sys
import textwrap

import pandas as pd
import pytest
from click.testing import CliRunner
from real_fixtures_common import write_image

import fbn_bench.registry as registry_module
from fbn_bench import DatasetSpec, FbnError, Option
from fbn_bench.cli import cli
from fbn_bench.data import roots
from fbn_bench.data.roots import load_split
from fbn_bench.testing import check_dataset_plugin

META = {"description": "tiny", "citation": "Someone 2024", "homepage": "https://example.org", "license": "CC-BY"}

# A plugin with one database per mistake; its tables are 4 rows per split over images train/0.png ...
PLUGIN = """
    import pandas as pd
    from fbn_bench import DatasetSpec, FbnError, hookimpl

    META = dict(description="tiny", citation="Someone 2024", homepage="https://example.org", license="CC-BY")

    def table(split, **columns):
        return pd.DataFrame({"image": [f"{split}/{i}.png" for i in range(4)],
                             "subject": [f"{split}-s{i % 2}" for i in range(4)], **columns})

    def load_renamed(root, split):
        return table(split, AU01=[1.0, 0, 1, 0], au12=[0.0, 1, 0, 1])

    def load_buggy(root, split):
        return {"a": 1}["b"]

    def load_layout(root, split):
        raise FbnError(f"polish: labels not found: expected {root}/labels.txt")

    def load_extra_au(root, split):
        return table(split, AU1=[1.0, 0, 1, 0], AU12=[0.0, 1, 0, 1], AU4=[1.0, 1, 0, 0])

    @hookimpl
    def register_datasets(register):
        for name, load, tasks, aus in (("polish-renamed", load_renamed, {"au"}, (1, 12)),
                                       ("polish-buggy", load_buggy, {"au"}, (1, 12)),
                                       ("polish-layout", load_layout, {"au"}, (1, 12)),
                                       ("polish-extra-au", load_extra_au, {"au"}, (1, 12))):
            register(DatasetSpec(name=name, tasks=tasks, aus=aus, load=load, **META))
"""


@pytest.fixture()
def images(tmp_path):
    for split in ("train", "test"):
        for i in range(4):
            write_image(tmp_path / split / f"{i}.png", i)
    return tmp_path


@pytest.fixture()
def polish_registry(tmp_path, monkeypatch):
    """The process-wide registry plus the databases of PLUGIN; and a fresh 'already warned' memory."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "fbntest_polish_plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.setattr(
        registry_module, "_REGISTRY", registry_module.build_registry(extra_modules=["fbntest_polish_plugin"])
    )
    monkeypatch.setattr(roots, "_warned", set(), raising=False)
    yield registry_module._REGISTRY
    sys.modules.pop("fbntest_polish_plugin", None)


def _cli(*args):
    return CliRunner().invoke(cli, list(map(str, args)), obj={"debug": False})


# 1. Misspelt label columns are problems, naming the canonical spelling.


def test_renamed_label_columns_fail_the_check(polish_registry, images):
    result = _cli("datasets", "check", "polish-renamed", "--root", images)
    assert result.exit_code == 1, result.output
    assert "OK: no problems found." not in result.output
    assert "train: column AU01 is not a canonical name: rename it to AU1" in result.output
    assert "test: column au12 is not a canonical name: rename it to AU12" in result.output


@pytest.mark.parametrize(
    ("column", "canonical"),
    [
        ("AU01", "AU1"),
        ("au4", "AU4"),
        ("Au_25", "AU25"),
        ("Valence", "valence"),
        ("AROUSAL", "arousal"),
        ("Expression", "expression"),
    ],
)
def test_every_label_look_alike_names_its_canonical_spelling(images, column, canonical):
    def load(root, split):
        return pd.DataFrame(
            {
                "image": [f"{split}/{i}.png" for i in range(4)],
                "subject": ["a", "a", "b", "b"],
                "valence": [0.1] * 4,
                "arousal": [0.2] * 4,
                "AU4": [1.0, 0, 1, 0],
                column: [0.0, 1, 0, 1],
            }
        )

    spec = DatasetSpec(name="fake", tasks={"va", "au"}, aus=(4,), load=load, group_column=None, **META)
    report = check_dataset_plugin(spec, images, splits=["train"], strict=False)
    assert report.problems == [
        f"train: column {column} is not a canonical name: rename it to {canonical} (names are case-sensitive)"
    ]


def test_canonical_columns_and_unrelated_extras_are_not_flagged(images):
    def load(root, split):
        return pd.DataFrame(
            {
                "image": [f"{split}/{i}.png" for i in range(4)],
                "subject": ["a", "a", "b", "b"],
                "AU4": [1.0, 0, 1, 0],
                "au_ladder": [0] * 4,
                "AU4_intensity": [3] * 4,
            }
        )

    spec = DatasetSpec(name="fake", tasks={"au"}, aus=(4,), load=load, group_column=None, **META)
    assert check_dataset_plugin(spec, images, splits=["train"]).ok


# 2. A loader bug during a run is one line, chained to the original exception.


def test_loader_bug_in_load_split_is_one_line_fbn_error(polish_registry, images):
    spec = polish_registry.dataset("polish-buggy")
    with pytest.raises(FbnError) as info:
        load_split(spec, "train", {"root": str(images)})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        "dataset 'polish-buggy' (plugin fbntest_polish_plugin): load(root, 'train') raised "
        "KeyError: 'b'; this is a bug in the dataset plugin"
    )
    assert "fbn-bench datasets check polish-buggy" in message
    assert isinstance(info.value.__cause__, KeyError)  # --debug shows where the plugin broke


def test_fbn_error_from_a_loader_passes_through_unchanged(polish_registry, images):
    spec = polish_registry.dataset("polish-layout")
    with pytest.raises(FbnError) as info:
        load_split(spec, "train", {"root": str(images)})
    assert str(info.value) == f"polish: labels not found: expected {images}/labels.txt"


def test_loader_bug_with_a_missing_root_says_the_root_is_missing(polish_registry, tmp_path):
    with pytest.raises(FbnError, match="polish-buggy root .*nowhere does not exist"):
        load_split(polish_registry.dataset("polish-buggy"), "train", {"root": str(tmp_path / "nowhere")})


def test_run_with_a_buggy_loader_prints_one_error_line(polish_registry, images, tmp_path):
    result = _cli(
        "run",
        "--datasets",
        f"polish-buggy:root={images}",
        "--tasks",
        "au",
        "--steps",
        "1",
        "--cpu",
        "--no-progress",
        "--out",
        tmp_path / "run",
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "raised KeyError: 'b'; this is a bug in the dataset plugin" in errors[0]


# 3. A run warns (once per database) about label columns it ignores.


def test_run_data_preparation_warns_once_about_ignored_au_columns(polish_registry, images, tmp_path, capsys):
    from fbn_bench.data.cache import prepare_split

    spec = polish_registry.dataset("polish-extra-au")
    sizes = {
        split: len(
            prepare_split(
                spec, split, {"root": str(images)}, image_size=8, cache_dir=tmp_path / "cache", progress=False
            )
        )
        for split in ("train", "val", "test")
    }
    assert sizes["test"] == 4 and sizes["train"] + sizes["val"] == 4  # a warning, not a failure; val carved from train
    warnings = [line for line in capsys.readouterr().err.splitlines() if "ignores" in line]
    assert warnings == [
        "warning: polish-extra-au: the run ignores loader column(s): AU4 holds labels but AU4 is "
        "not in spec.aus (1, 12); `fbn-bench datasets check polish-extra-au` lists every problem"
    ]


def test_no_warning_when_every_label_column_is_used(images, capsys, monkeypatch):
    monkeypatch.setattr(roots, "_warned", set(), raising=False)

    def load(root, split):
        return pd.DataFrame(
            {"image": [f"{split}/{i}.png" for i in range(4)], "AU4": [1.0, 0, 1, 0], "valence": [float("nan")] * 4}
        )  # valence without 'va', but no labels in it

    spec = DatasetSpec(name="fake", tasks={"au"}, aus=(4,), load=load, **META)
    load_split(spec, "train", {"root": str(images)})
    assert "warning" not in capsys.readouterr().err
    spec_va = DatasetSpec(name="fake-va", tasks={"au", "va"}, aus=(4,), load=load, **META)
    load_split(spec_va, "train", {"root": str(images)})
    assert capsys.readouterr().err == ""


# 6. Missing and unreadable images are both shown with the root, as a path a user can open.


def test_missing_and_unreadable_images_show_the_same_kind_of_path(images):
    (images / "test" / "1.png").write_bytes(b"\x89PNG broken")
    (images / "test" / "2.png").unlink()

    def load(root, split):
        return pd.DataFrame(
            {
                "image": [f"{split}/{i}.png" for i in range(4)],
                "subject": [split] * 4,
                "expression": ["happiness", "neutral", "anger", "sadness"],
            }
        )

    spec = DatasetSpec(name="fake", tasks={"expr"}, load=load, **META)
    report = check_dataset_plugin(spec, images, splits=["test"], strict=False)
    assert report.problems == [
        f"test: 1 of 4 images are missing, e.g. {images / 'test' / '2.png'}",
        f"test: 1 images cannot be decoded (the run skips those rows), e.g. {images / 'test' / '1.png'}; "
        "replace or re-extract those files",
    ]


# 7. Options that run records cannot see.


def _expr_table(split):
    return pd.DataFrame(
        {
            "image": [f"{split}/{i}.png" for i in range(4)],
            "subject": [f"{split}-{i}" for i in range(4)],
            "expression": ["happiness", "neutral", "anger", "sadness"],
        }
    )


def test_load_with_kwargs_gets_every_declared_option(images):
    seen = []

    def load(root, split, **options):
        seen.append(options)
        return _expr_table(split)

    spec = DatasetSpec(
        name="fake", tasks={"expr"}, load=load, options=(Option("fold", int, 1, help="which fold"),), **META
    )
    report = check_dataset_plugin(spec, images, options={"fold": "2"})
    assert report.ok and seen and all(options == {"fold": 2} for options in seen)  # the schema, not load, has it


def test_declared_option_missing_from_load_is_a_problem(images):
    def load(root, split, fold=1):
        return _expr_table(split)

    spec = DatasetSpec(name="fake", tasks={"expr"}, load=load, options={"fold": "which fold", "size": "px"}, **META)
    report = check_dataset_plugin(spec, images, strict=False)
    assert "option 'size' is declared but load() has no parameter of that name" in report.problems


def test_undeclared_keyword_parameter_is_a_note(images):
    def load(root, split, fold=1, *, margin=0.2):
        return _expr_table(split)

    spec = DatasetSpec(name="fake", tasks={"expr"}, load=load, options={"fold": "which fold"}, **META)
    report = check_dataset_plugin(spec, images)
    assert report.ok
    assert [n for n in report.notes if "spec.options does not declare" in n] == [
        "load() has parameter(s) margin that spec.options does not declare, so users cannot set them "
        "(NAME:key=value); declare each as an Option"
    ]
    assert "Note: load() has parameter(s) margin" in report.to_text()


def test_root_and_split_are_not_options_whatever_they_are_called(images):
    def load(folder, which, fold=1):
        return _expr_table(which)

    report = check_dataset_plugin(
        DatasetSpec(name="fake", tasks={"expr"}, load=load, options={"fold": "f"}, **META), images
    )
    assert report.ok and [n for n in report.notes if "load()" in n] == []


def test_every_registered_dataset_declares_exactly_its_load_options():
    from fbn_bench.testing import _option_problems  # the option checks alone: no data needed

    registry = registry_module.get_registry()
    for name in registry.names("datasets"):
        notes: list[str] = []
        problems = _option_problems(registry.dataset(name), notes)
        assert (name, problems, notes) == (name, [], [])
