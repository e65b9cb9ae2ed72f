"""Run identity: one hash on every artefact, unique run folders owned by one run, and settings that are
applied as recorded (presets in config files, processes, precision)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import torch
from click.testing import CliRunner
from engine_toy_plugin import write_toy

from fbn_bench import FbnError
from fbn_bench.checkpoint import load_checkpoint
from fbn_bench.cli import cli
from fbn_bench.config import RunConfig, resolve_config
from fbn_bench.evaluate import evaluate_checkpoint
from fbn_bench.experiment import run_experiment
from fbn_bench.identity import run_hash
from fbn_bench.results import read_records
from fbn_bench.run_folder import claim, lock_folder


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    return write_toy(tmp_path_factory.mktemp("toy"), n_train=48, n_test=20)


def tiny(toy_root, **overrides):
    settings = dict(datasets=(f"toy:root={toy_root}",), image_size=16, steps=2, batch_size=24, hidden=16)
    return resolve_config("quick", **{**settings, **overrides})


def test_records_checkpoint_and_outcome_carry_one_run_hash(toy_root, registry, tmp_path):
    outcome = run_experiment(tiny(toy_root, out=str(tmp_path / "r")), registry, progress=False, cpu=True)
    records = list(read_records(outcome.run_dir))
    checkpoint = load_checkpoint(outcome.run_dir)
    stored = json.loads((outcome.run_dir / "config.json").read_text())
    assert {r["config_hash"] for r in records} == {checkpoint.config_hash} == {outcome.config_hash}
    # Recomputed from what the folder says (config.json + the resolved plugins): the same hash.
    assert run_hash(stored, checkpoint.plugins, checkpoint.world_size) == outcome.config_hash
    assert run_hash(stored, checkpoint.plugins, 2) != outcome.config_hash
    assert {(r["device"], r["precision"]) for r in records} == {("cpu x1", "fp32")}


def test_runs_started_in_the_same_second_get_their_own_folders(toy_root, registry, tmp_path, monkeypatch):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 1, 2, 3, 4, 5)

    monkeypatch.setattr("fbn_bench.identity.datetime", Frozen)
    monkeypatch.chdir(tmp_path)
    slow = run_experiment(tiny(toy_root, lr=0.001), registry, progress=False, cpu=True)
    fast = run_experiment(tiny(toy_root, lr=0.003), registry, progress=False, cpu=True)
    assert slow.run_dir != fast.run_dir and len(list((tmp_path / "runs").iterdir())) == 2
    for outcome, lr in ((slow, 0.001), (fast, 0.003)):
        assert json.loads((outcome.run_dir / "config.json").read_text())["lr"] == lr
        assert {r["config"]["lr"] for r in read_records(outcome.run_dir)} == {lr}
        assert outcome.run_dir.name.startswith("20260102-030405-all-none-s0-")


def test_a_taken_name_is_never_shared_even_when_the_random_part_repeats(tmp_path, monkeypatch):
    parts = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr("fbn_bench.identity.secrets.token_hex", lambda n: next(parts))
    monkeypatch.chdir(tmp_path)
    first, second = claim(resolve_config("quick")), claim(resolve_config("quick"))
    assert first.run_id.endswith("-aaaa") and second.run_id.endswith("-bbbb")
    first.release(), second.release()


def test_out_into_another_runs_folder_is_refused_unless_forced(toy_root, registry, tmp_path):
    out = tmp_path / "r"
    run_experiment(tiny(toy_root, out=str(out), lr=0.001), registry, progress=False, cpu=True)
    (out / "predictions" / "old-db.csv.gz").write_bytes(b"left over")
    with pytest.raises(FbnError, match="holds another run .*--force"):
        run_experiment(tiny(toy_root, out=str(out), lr=0.003), registry, progress=False, cpu=True)
    assert json.loads((out / "config.json").read_text())["lr"] == 0.001  # untouched by the refused run

    run_experiment(tiny(toy_root, out=str(out), lr=0.003), registry, progress=False, cpu=True, replace=True)
    assert json.loads((out / "config.json").read_text())["lr"] == 0.003
    assert {r["config"]["lr"] for r in read_records(out)} == {0.003}
    assert not (out / "predictions" / "old-db.csv.gz").exists()  # nothing of the old run mixes in

    elsewhere = tmp_path / "another-run"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text("{}")
    with pytest.raises(FbnError, match="is the folder of another run"):
        evaluate_checkpoint(out, out=elsewhere, registry=registry, progress=False, cpu=True)
    held = lock_folder(out)  # as a run still writing there would hold it
    try:
        with pytest.raises(FbnError, match="in use by another fbn-bench process"):
            evaluate_checkpoint(out, registry=registry, progress=False, cpu=True)
    finally:
        held.close()


def test_a_folder_that_holds_no_run_is_never_emptied(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FbnError, match="not empty .*holds no run"):
        claim(resolve_config("quick", out=str(tmp_path)), replace=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"] and (tmp_path / "notes.txt").read_text() == "mine"


def test_a_folder_in_use_by_another_process_is_refused(tmp_path):
    held = lock_folder(tmp_path / "busy")  # another process's lock: flock locks are per open file
    try:
        with pytest.raises(FbnError, match="in use by another fbn-bench process"):
            claim(resolve_config("quick", out=str(tmp_path / "busy")))
    finally:
        held.close()
    claim(resolve_config("quick", out=str(tmp_path / "busy"))).release()  # free again once released


def test_a_preset_named_in_a_config_file_is_applied(tmp_path, monkeypatch):
    file = tmp_path / "run.toml"
    file.write_text('preset = "paper"\nlr = 0.01\n')
    config = resolve_config(None, file)
    assert (config.preset, config.backbone, config.image_size, config.lr) == ("paper", "vggface", 96, 0.01)
    assert resolve_config("quick", file).backbone == "small"  # the command line's --preset wins over the file

    seen = {}
    monkeypatch.setattr("fbn_bench.experiment.run_experiment", lambda config, **kw: seen.setdefault("config", config))
    monkeypatch.setattr("fbn_bench.cli.run._report", lambda outcome, per_au=False: None)
    result = CliRunner().invoke(cli, ["run", "--config", str(file)])
    assert result.exit_code == 0, result.output
    assert (seen["config"].preset, seen["config"].backbone, seen["config"].hidden) == ("paper", "vggface", 4096)


def test_keys_beside_a_run_table_are_an_error(tmp_path):
    file = tmp_path / "run.toml"
    file.write_text("seed = 3\n[run]\nlr = 0.01\n")
    with pytest.raises(FbnError, match="'seed' sits beside the \\[run\\] table"):
        resolve_config(None, file)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--num-processes", "0"], "--num-processes must be 1 or more, got 0"),
        (["--num-processes", "-1"], "--num-processes must be 1 or more, got -1"),
        (["--mixed-precision", "fp16", "--cpu"], "fp16 has no effect on a CPU"),
        (["--mixed-precision", "fp16", "--cpu", "--num-processes", "2"], "fp16 has no effect on a CPU"),
    ],
)
def test_settings_that_would_not_run_as_recorded_are_refused_in_one_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "--steps", "1", *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
    assert not (tmp_path / "runs").exists()  # refused before any folder was claimed


def test_bf16_on_a_cpu_runs_in_bf16_and_says_so(toy_root, registry, tmp_path):
    fp32 = run_experiment(tiny(toy_root, out=str(tmp_path / "a")), registry, progress=False, cpu=True)
    bf16 = run_experiment(
        tiny(toy_root, out=str(tmp_path / "b"), mixed_precision="bf16"), registry, progress=False, cpu=True
    )
    assert {r["precision"] for r in bf16.records} == {"bf16"}
    assert bf16.config_hash != fp32.config_hash
    # bf16 changed the computation (fp16 on a CPU would not have: that is why it is refused).
    a, b = (torch.load(o.run_dir / "checkpoint.pt", weights_only=True)["model"] for o in (fp32, bf16))
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_records_of_another_run_are_never_merged_into(tmp_path):
    from fbn_bench.results import check_one_run

    (tmp_path / "results.jsonl").write_text(json.dumps({"run_id": "theirs", "dataset": "toy", "split": "test"}) + "\n")
    assert check_one_run(tmp_path, {"theirs"})[0]["run_id"] == "theirs"
    with pytest.raises(FbnError, match="holds records of another run"):
        check_one_run(tmp_path, {"mine"})


@pytest.mark.parametrize("module", ["losses", "train", "selection"])
def test_a_new_version_of_the_training_code_is_another_configuration(module, monkeypatch):
    """Seeds trained by other losses, another loop or another selection rule must never pool under one hash."""
    import importlib

    from fbn_bench.config import RunConfig
    from fbn_bench.identity import run_hash, training_code

    config = RunConfig(tasks=("expr",))
    before, code_before = run_hash(config, None), training_code()
    monkeypatch.setattr(importlib.import_module(f"fbn_bench.{module}"), "VERSION", 99)
    assert run_hash(config, None) != before
    assert 99 in training_code().values() and training_code() != code_before


def test_auto_precision_is_resolved_and_recorded_as_what_ran(toy_root, registry, tmp_path):
    run = run_experiment(tiny(toy_root, out=str(tmp_path / "auto")), registry, progress=False, cpu=True)
    assert RunConfig().mixed_precision == "auto"
    assert json.loads((run.run_dir / "config.json").read_text())["mixed_precision"] == "no"  # a CPU: fp32
    assert {r["precision"] for r in run.records} == {"fp32"}
    explicit = run_experiment(
        tiny(toy_root, out=str(tmp_path / "no"), mixed_precision="no"), registry, progress=False, cpu=True
    )
    assert explicit.config_hash == run.config_hash  # auto that ran fp32 is the same configuration as fp32


def test_auto_precision_takes_bf16_only_on_a_gpu_that_computes_it(monkeypatch):
    from fbn_bench import devices

    monkeypatch.setattr(devices, "native_bf16", lambda device: device == "cuda")
    assert devices.runnable_precision("auto", cpu=False) == "bf16"
    assert devices.runnable_precision("auto", cpu=True) == "no"  # --cpu on a GPU machine
    monkeypatch.setattr(devices, "native_bf16", lambda device: device == "cpu")  # an AMX CPU, no GPU
    assert devices.runnable_precision("auto", cpu=False) == "no"
