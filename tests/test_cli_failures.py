"""Failures the user can fix are one `Error:` line naming the path or value, with exit status 2: output places
that cannot be written, files that are not UTF-8, settings of the wrong type, a plot of an unknown format.

Tests run as root here, and root ignores permission bits, so "unwritable" is a path under a regular file
(`file.txt/sub`): creating that folder fails with ENOTDIR (or EEXIST) for every user, root included."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from engine_toy_plugin import write_toy

from fbn_bench.cli import cli
from fbn_bench.errors import FbnError
from fbn_bench.registry import build_registry


@pytest.fixture(scope="module")
def toy_registry():
    return build_registry(extra_modules=["engine_toy_plugin"])


@pytest.fixture
def toy_cli(toy_registry, monkeypatch):
    """`fbn-bench ARGS` in-process, with the toy database registered; returns the click Result."""
    monkeypatch.setattr("fbn_bench.registry.get_registry", lambda reload=False: toy_registry)

    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], obj={"debug": False})

    return invoke


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    return write_toy(tmp_path_factory.mktemp("toy"), n_train=24, n_test=8)


@pytest.fixture
def blocked(tmp_path):
    """A folder path no one can create: its parent is a regular file."""
    (tmp_path / "file.txt").write_text("in the way")
    return tmp_path / "file.txt" / "sub"


def _run_args(toy_root, out):
    return ("run", "--datasets", f"toy:root={toy_root}", "--tasks", "expr,au", "--steps", "1", "--batch-size", "8",
            "--image-size", "16", "--no-progress", "--cpu", "--out", out)  # fmt: skip


@pytest.fixture(scope="module")
def trained(toy_registry, toy_root, tmp_path_factory):
    from fbn_bench.config import resolve_config
    from fbn_bench.experiment import run_experiment

    out = tmp_path_factory.mktemp("runs") / "toy-run"
    config = resolve_config(
        "quick", datasets=(f"toy:root={toy_root}",), tasks=("expr", "au"), steps=1, batch_size=8, image_size=16,
        hidden=8, out=str(out),
    )  # fmt: skip
    run_experiment(config, toy_registry, progress=False, cpu=True)
    return out


def _one_error_line(result, *needles):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert str(needle) in errors[0], errors[0]
    return errors[0]


def test_run_into_an_unwritable_out_is_one_line_naming_it(toy_cli, toy_root, blocked):
    line = _one_error_line(toy_cli(*_run_args(toy_root, blocked)), blocked, "Not a directory", "choose another path")
    assert "NotADirectoryError" not in line


def test_run_with_an_unwritable_cache_folder_is_one_line(toy_cli, toy_root, blocked, tmp_path, monkeypatch):
    monkeypatch.setenv("FBN_BENCH_CACHE", str(blocked / "cache"))
    _one_error_line(toy_cli(*_run_args(toy_root, tmp_path / "run")), str(blocked.parent), "is a file")


def test_a_cache_variable_naming_a_file_is_refused(toy_cli, toy_root, tmp_path, monkeypatch):
    (tmp_path / "cache-file").write_text("")
    monkeypatch.setenv("FBN_BENCH_CACHE", str(tmp_path / "cache-file"))
    _one_error_line(toy_cli(*_run_args(toy_root, tmp_path / "run")), "$FBN_BENCH_CACHE", "cache-file", "a file")


def test_evaluate_into_an_unwritable_out(toy_cli, trained, blocked):
    _one_error_line(toy_cli("evaluate", trained, "--out", blocked, "--no-progress", "--cpu"), blocked)


def test_leaderboard_build_and_add_into_an_unwritable_folder(toy_cli, trained, blocked):
    _one_error_line(toy_cli("leaderboard", "build", "--results", trained, "--out", blocked), blocked)
    _one_error_line(toy_cli("leaderboard", "add", trained, "--out", blocked), blocked)


def test_gallery_into_an_unwritable_folder(toy_cli, toy_root, blocked):
    _one_error_line(toy_cli("datasets", "gallery", f"toy:root={toy_root}", "--out", blocked / "g.png"), "file.txt")


def test_relatedness_plot_into_an_unwritable_folder_and_of_an_unknown_format(toy_cli, blocked):
    _one_error_line(toy_cli("relatedness", "show", "--plot", blocked / "r.png"), blocked / "r.png", "Not a directory")
    _one_error_line(toy_cli("relatedness", "show", "--plot", "r.txt"), "--plot r.txt", ".png")


def test_prepare_a_synthetic_database_into_an_unwritable_data_root(toy_cli, blocked):
    line = _one_error_line(toy_cli("datasets", "prepare", "synth-rafdb", "--data-root", blocked), blocked)
    assert "does not exist" not in line


def test_sweep_into_an_unwritable_out(toy_cli, toy_root, blocked, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_text(
        f'seeds = 1\n[base]\ndatasets = ["toy:root={toy_root}"]\ntasks = "expr"\nsteps = 1\nbatch_size = 8\n'
        'image_size = 16\n[[run]]\nname = "a"\n'
    )
    _one_error_line(toy_cli("sweep", "--grid", grid, "--out", blocked, "--no-progress", "--cpu"), blocked)


def test_a_config_with_bytes_that_are_not_utf8_names_the_line(toy_cli, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_bytes(b"lr = 0.1\n# caf\xe9\n")
    _one_error_line(toy_cli("run", "--config", config), f"{config}, line 2: byte 0xe9 is not UTF-8")


def test_a_grid_with_bytes_that_are_not_utf8_names_the_line(toy_cli, tmp_path):
    grid = tmp_path / "grid.toml"
    grid.write_bytes(b"seeds = 1\n\xff\xfe\n")
    _one_error_line(toy_cli("sweep", "--grid", grid, "--dry-run"), f"{grid}, line 2: byte 0xff is not UTF-8")


def test_results_with_bytes_that_are_not_utf8_name_the_file(toy_cli, trained, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    results = copy / "results.jsonl"
    results.write_bytes(results.read_bytes() + b'{"metric": "caf\xe9"}\n')
    _one_error_line(toy_cli("leaderboard", "build", "--results", copy, "--out", tmp_path / "lb"), results, "UTF-8")


def test_tasks_of_the_wrong_type_in_a_config(toy_cli, tmp_path):
    config = tmp_path / "t.toml"
    config.write_text("tasks = 5\n")
    _one_error_line(toy_cli("run", "--config", config), "tasks must be", "got 5")


def test_a_batch_that_cannot_fit_in_memory_is_refused_before_anything_runs(toy_cli, toy_root, tmp_path):
    from fbn_bench.config import resolve_config
    from fbn_bench.memory import check_batches_fit

    # By hand: training 96 x 3 x 64 x 64 values at 9 bytes (uint8 + two float32 copies) = 10,616,832 bytes;
    # evaluation 256 x 3 x 64 x 64 at 5 bytes (uint8 + float32) = 15,728,640 bytes.
    check_batches_fit(resolve_config("quick"), available=15_728_640)  # both fit, exactly
    with pytest.raises(FbnError, match="an evaluation batch of 256 .* lower eval_batch_size"):
        check_batches_fit(resolve_config("quick"), available=15_728_639)
    with pytest.raises(FbnError, match="a training batch of 96 .* lower --batch-size or --image-size"):
        check_batches_fit(resolve_config("quick"), available=10_616_831)
    huge = ("run", "--datasets", f"toy:root={toy_root}", "--steps", "1", "--batch-size", "10000000",
            "--image-size", "4096", "--cpu", "--out", tmp_path / "run")  # fmt: skip
    _one_error_line(toy_cli(*huge), "training batch of 10000000 faces at 4096 x 4096 px", "lower --batch-size")
    assert not (tmp_path / "run").exists()


def test_all_images_missing_says_the_images_are_missing_and_where(toy_cli, tmp_path):
    root = write_toy(tmp_path / "toy", n_train=8, n_test=4)
    for image in (root / "images").glob("train_*.png"):
        image.unlink()
    line = _one_error_line(toy_cli(*_run_args(root, tmp_path / "run")), "images of toy/train was skipped")
    # train is what is left of the 8 training images once val is carved from them (data/splits.py)
    assert re.search(r"every one of the (\d+) images of toy/train was skipped \(\1 missing\)", line), line
    assert str(root / "images") in line
    assert "is empty" not in line and "labels" not in line.split(";")[0]


@pytest.mark.parametrize("text", ["config = 1\n", "weights\n", "hello world\n", ""])
def test_a_text_file_as_weights_is_not_a_checkpoint_not_pickled_objects(text, tmp_path):
    from fbn_bench.weights import read_torch_file

    weights = tmp_path / "w.txt"
    weights.write_text(text)
    with pytest.raises(FbnError) as info:
        read_torch_file(weights, "a torch state dict")
    message = str(info.value)
    assert message.startswith(f"{weights}: is not a checkpoint or state dict") and "pickled" not in message


def test_a_real_state_dict_still_loads(tmp_path):
    import torch

    from fbn_bench.weights import read_torch_file

    torch.save({"w": torch.ones(2)}, tmp_path / "ok.pt")
    assert torch.equal(read_torch_file(tmp_path / "ok.pt", "a torch state dict")["w"], torch.ones(2))


def test_a_data_root_that_cannot_be_written_is_not_reported_as_missing(toy_cli, blocked, tmp_path):
    # a synthetic database is generated into the data root on first use; here that cannot happen
    result = toy_cli("run", "--data-root", blocked, "--datasets", "synth-rafdb", "--tasks", "expr", "--steps", "1",
                     "--cpu", "--no-progress", "--out", tmp_path / "run")  # fmt: skip
    line = _one_error_line(result, f"synth-rafdb: {blocked / 'synth-rafdb'}", "Not a directory")
    assert "does not exist" not in line


def test_leaderboard_build_outside_a_repository_refuses_instead_of_starting_a_folder(
    toy_cli, trained, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    _one_error_line(toy_cli("leaderboard", "build", "--results", trained), "no leaderboards/ folder in", "--out DIR")
    _one_error_line(toy_cli("leaderboard", "add", trained), "no leaderboards/ folder in")
    assert not (tmp_path / "leaderboards").exists()
    (tmp_path / "leaderboards").mkdir()  # inside a repository (the folder exists), the default still works
    built = toy_cli("leaderboard", "build", "--results", trained)
    assert built.exit_code == 0, built.output
    assert (tmp_path / "leaderboards" / "README.md").is_file()
