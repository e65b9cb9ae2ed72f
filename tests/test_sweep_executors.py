"""Sweep executors: local processes give the inline records; markers, resuming and locks behave alike under
submitit's executors; a preempted run saves, requeues and continues; SLURM resources become sbatch options."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from fbn_bench import FbnError
from fbn_bench.cli import cli
from fbn_bench.experiment import run_experiment
from fbn_bench.registry import build_registry
from fbn_bench.results import RESULTS_FILE, read_records
from fbn_bench.resume import STATE_FILE
from fbn_bench.sweep import Grid, GridEntry, load_grid
from fbn_bench.sweep_folder import DONE, DONE_FILE, TODO
from fbn_bench.sweep_jobs import Resources, execute_jobs, require_submitit, slurm_parameters
from fbn_bench.sweep_run import execute, plan_sweep, run_lock

pytest.importorskip("submitit")
TESTS = Path(__file__).resolve().parent
TOY = dict(image_size=16, hidden=32, steps=2, batch_size=6, eval_batch_size=64)
VOLATILE = {"wall_time_s", "created", "run_id"}  # when and under which name, not what


def _records(run_dir: Path) -> list[dict]:
    rows = [{k: v for k, v in r.items() if k not in VOLATILE} for r in read_records(run_dir / RESULTS_FILE)]
    for r in rows:
        r["config"] = {k: v for k, v in r["config"].items() if k != "out"}
    return rows


@pytest.fixture
def child_plugins(monkeypatch):
    """The toy plugins for job processes too (they build their own registry from the environment)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), *sys.path]))

    def use(*modules: str):
        monkeypatch.setenv("FBN_BENCH_PLUGINS", ",".join(modules))
        monkeypatch.setattr("fbn_bench.registry._REGISTRY", None)  # the CLI's registry, rebuilt from it

    return use


@pytest.mark.slow
def test_the_ablation_in_local_processes_gives_the_inline_records(toy_root, tmp_path, child_plugins):
    child_plugins("engine_toy_plugin")
    args = ["sweep", "--preset", "ablation", "--seeds", "1", "--steps", "2", "--cpu", "--no-progress"]
    args += ["--datasets", f"toy:root={toy_root},toy-expr:root={toy_root}"]
    inline = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "inline")])
    assert inline.exit_code == 0, inline.output
    local = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "local"), "--executor", "local", "--jobs", "2"])
    assert local.exit_code == 0, local.output
    assert "8 runs: 8 ran, 0 already finished, 0 failed" in local.output
    runs = sorted(p.relative_to(tmp_path / "inline") for p in (tmp_path / "inline").glob("*/seed-*"))
    assert len(runs) == 8
    for run in runs:
        a, b = tmp_path / "inline" / run, tmp_path / "local" / run
        assert _records(a) == _records(b), run  # the same hashes and values
        assert json.loads((b / DONE_FILE).read_text())["n_records"] == len(_records(b))
    jobs = {p.parent.name for p in (tmp_path / "local" / ".submitit").rglob("*_result.pkl")}
    assert len(jobs) == 8 and str(os.getpid()) not in jobs  # one process of its own per configuration
    lines = local.output.splitlines()
    third = next(i for i, line in enumerate(lines) if line.startswith("[3/8]") and "started as job" in line)
    assert any("done in" in line for line in lines[:third])  # two at a time: the third waited for one to end
    again = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "local"), "--executor", "local"])
    assert again.exit_code == 0 and "8 runs: 0 ran, 8 already finished, 0 failed" in again.output
    assert not any("started as job" in line for line in again.output.splitlines())


def _pair(toy_root, **settings) -> Grid:
    base = {**TOY, "datasets": (f"toy:root={toy_root}",), "coupling": "none", **settings}
    entries = [GridEntry("va", {**base, "tasks": ("va",)}), GridEntry("expr", {**base, "tasks": ("expr",)})]
    return Grid("pair", entries, (0,), base)


def test_jobs_resume_a_sweep_and_leave_a_locked_run_to_its_sweep(toy_root, registry, tmp_path):
    out, grid = tmp_path / "pair", _pair(toy_root)
    lines = []
    with run_lock(out / "va" / "seed-0") as holder:  # as if another sweep were running it
        assert holder is None
        first = execute_jobs(plan_sweep(grid, out, registry), "pair", out, "debug", Resources(), registry,
                             echo=lines.append, progress=False, cpu=True)  # fmt: skip
    assert [(r.name, r.seed) for r in first.busy] == [("va", 0)] and [r.name for r in first.ran] == ["expr"]
    assert any("va seed 0: running in another sweep (pid" in line for line in lines)
    plan = plan_sweep(grid, out, registry)
    assert [(r.name, r.status) for r in plan] == [("va", TODO), ("expr", DONE)]
    second = execute_jobs(plan, "pair", out, "debug", Resources(), registry, echo=lines.append, progress=False)
    assert [r.name for r in second.ran] == ["va"] and [r.name for r in second.skipped] == ["expr"]
    assert all(r.status == DONE for r in plan_sweep(grid, out, registry))


def test_a_preempted_inline_sweep_stops_and_its_rerun_continues_the_run(toy_root, tmp_path, monkeypatch):
    monkeypatch.setenv("FBN_TEST_STOP_EPOCH", "1")
    monkeypatch.setenv("FBN_TEST_STOP_SIGNAL", "USR1")
    monkeypatch.setenv("FBN_TEST_STOP_ONCE", str(tmp_path / "stopped-once"))
    stopping = build_registry(extra_modules=["engine_toy_plugin", "stop_plugin"])
    grid = _pair(toy_root, steps=30, batch_size=16, val_every=5)  # the toy's epoch 1 ends at step 12, before the end
    whole = tmp_path / "whole"
    execute(plan_sweep(grid, whole, stopping), "pair", run_experiment, echo=lambda _: None,
            registry=build_registry(extra_modules=["engine_toy_plugin"]), progress=False, cpu=True)  # fmt: skip
    out, lines = tmp_path / "pair", []
    first = execute(plan_sweep(grid, out, stopping), "pair", run_experiment, echo=lines.append, registry=stopping,
                    progress=False, cpu=True)  # fmt: skip
    assert [r.name for r, _ in first.preempted] == ["va"] and first.stopped_early and not first.ran
    assert (out / "va" / "seed-0" / STATE_FILE).is_file() and not (out / "expr").exists()  # the sweep stopped
    assert any("va seed 0 stopped: stopped by SIGUSR1 after step" in line for line in lines)
    second = execute(plan_sweep(grid, out, stopping), "pair", run_experiment, echo=lines.append, registry=stopping,
                     progress=False, cpu=True)  # fmt: skip
    assert [r.name for r in second.ran] == ["va", "expr"]
    assert "[1/2] va seed 0: continuing from its saved state ..." in lines
    for name in ("va", "expr"):
        assert _records(out / name / "seed-0") == _records(whole / name / "seed-0")


@pytest.mark.slow
def test_a_preempted_local_job_requeues_and_continues_from_its_state(toy_root, tmp_path, child_plugins, monkeypatch):
    grid = Grid("one", _pair(toy_root, steps=30, batch_size=16, val_every=5).entries[:1], (0,))
    whole = tmp_path / "whole"
    toy = build_registry(extra_modules=["engine_toy_plugin"])
    execute(plan_sweep(grid, whole, toy), "one", run_experiment, echo=lambda _: None, registry=toy, progress=False,
            cpu=True)  # fmt: skip
    child_plugins("engine_toy_plugin", "stop_plugin")
    monkeypatch.setenv("FBN_TEST_STOP_EPOCH", "1")
    monkeypatch.setenv("FBN_TEST_STOP_SIGNAL", "USR2")  # submitit's time-limit / preemption signal
    monkeypatch.setenv("FBN_TEST_STOP_ONCE", str(tmp_path / "stopped-once"))
    out, lines = tmp_path / "one", []
    outcome = execute_jobs(plan_sweep(grid, out, toy), "one", out, "local", Resources(), toy, echo=lines.append,
                           progress=False, cpu=True)  # fmt: skip
    assert (tmp_path / "stopped-once").is_file()  # the job was stopped at the end of epoch 1 ...
    assert [r.name for r in outcome.ran] == ["va"], lines  # ... requeued by submitit, and finished
    assert "[1/1] va seed 0: continuing from its saved state ..." in lines
    assert _records(out / "va" / "seed-0") == _records(whole / "va" / "seed-0")
    assert not (out / "va" / "seed-0" / STATE_FILE).exists() and (out / "va" / "seed-0" / DONE_FILE).is_file()
    logs = "".join(p.read_text() for p in (out / ".submitit").rglob("*_log.*"))
    assert "Requeued job" in logs


def test_slurm_resources_from_the_grid_file_and_the_command_line_become_sbatch_options(tmp_path, monkeypatch):
    path = tmp_path / "cluster.toml"
    path.write_text(
        'executor = "slurm"\n[resources]\npartition = "gpu"\ntime = 240\ngpus = 1\ncpus = 8\njobs = 4\n'
        'sbatch = { exclude = "node12" }\n[grid]\ncoupling = ["co", "dm"]\n'
    )
    grid = load_grid(path)
    assert grid.executor == "slurm" and grid.resources.partition == "gpu"
    chosen = Resources(time=60, qos="high").over(grid.resources)  # the command line wins
    params = slurm_parameters(chosen, grid.name)
    assert params["timeout_min"] == 60 and params["slurm_partition"] == "gpu" and params["slurm_qos"] == "high"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/sh\n")
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    executor = require_submitit("slurm").AutoExecutor(tmp_path / "jobs", cluster="slurm")
    executor.update_parameters(**params)  # submitit checks every name
    sbatch = executor._executor._make_submission_file_text("python -m x", "uid")
    for line in ("--partition=gpu", "--time=60", "--gpus-per-node=1", "--cpus-per-task=8", "--qos=high",
                 "--exclude=node12", "--job-name=fbn-cluster", "--signal=USR2@"):  # fmt: skip
        assert f"#SBATCH {line}" in sbatch, line
    with pytest.raises(FbnError, match=r"--executor slurm needs a time limit per job: pass --time MINUTES"):
        slurm_parameters(Resources(partition="gpu"), "x")


@pytest.mark.parametrize(
    "text, message",
    [
        ('executor = "pbs"', r"executor = 'pbs'; choose one of inline, local, slurm"),
        ("[resources]\npartiton = 'gpu'", r"\[resources\]: unknown resource 'partiton'"),
        ("[resources]\ntime = '4h'", r"time = '4h' should be a positive integer"),
    ],
)
def test_executor_settings_of_a_grid_file_are_checked(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(f"{text}\n[grid]\ncoupling = ['co']\n")
    with pytest.raises(FbnError, match=message):
        load_grid(path)


def test_without_submitit_the_executor_is_one_line_naming_the_extra(monkeypatch, toy_root, tmp_path, registry):
    monkeypatch.setitem(sys.modules, "submitit", None)  # as if not installed
    with pytest.raises(FbnError, match=r'--executor local needs submitit: pip install "fbn-bench\[cluster\]"'):
        require_submitit("local")
    monkeypatch.setattr("fbn_bench.registry._REGISTRY", registry)
    grid = tmp_path / "g.toml"
    grid.write_text(f'seeds = 1\n[base]\ndatasets = ["toy:root={toy_root}"]\n[grid]\ntasks = ["va"]\n')
    result = CliRunner().invoke(
        cli, ["sweep", "--grid", str(grid), "--out", str(tmp_path / "o"), "--executor", "slurm"]
    )
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "fbn-bench[cluster]" in result.output


def test_the_cluster_extra_and_the_dev_extra_carry_submitit():
    extras = tomllib.loads((TESTS.parent / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("submitit") for d in extras["cluster"])
    assert any(d.startswith("submitit") for d in extras["dev"])


def test_local_jobs_get_a_gpu_each_unless_told_otherwise(monkeypatch):
    from fbn_bench.sweep_jobs import _local_gpus

    monkeypatch.setattr("torch.cuda.device_count", lambda: 4)
    assert _local_gpus(Resources(), cpu=False) == Resources(gpus=1, jobs=4)  # else they would train on the CPU
    assert _local_gpus(Resources(jobs=2), cpu=False) == Resources(gpus=1, jobs=2)
    assert _local_gpus(Resources(), cpu=True) == Resources()
    assert _local_gpus(Resources(gpus=2), cpu=False) == Resources(gpus=2)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    assert _local_gpus(Resources(), cpu=False) == Resources()
