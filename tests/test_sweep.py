"""Sweeps: the ablation grid, grid files, resume, configuration mismatches, failures, the summary table."""

import json
import shutil
import statistics
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from fbn_bench import FbnError
from fbn_bench.cli import cli
from fbn_bench.config import RunConfig
from fbn_bench.experiment import run_experiment
from fbn_bench.results import read_records
from fbn_bench.sweep import Grid, GridEntry, load_grid, resolve_entry
from fbn_bench.sweep_folder import DONE, DONE_FILE, REPLACE, TODO
from fbn_bench.sweep_presets import ablation_grid
from fbn_bench.sweep_run import execute, plan_sweep
from fbn_bench.sweep_summary import sharing_groups, summary_tables

# The toy database at toy size: each run takes about a second on a CPU.
TOY = dict(image_size=16, hidden=32, steps=2, batch_size=6, eval_batch_size=64)
NAMES = ["va", "expr", "au", "all-none", "all-co", "all-soft", "all-dm", "all-soft+dm"]


def toy_ablation(toy_root, seeds=2, **overrides):
    datasets = (f"toy:root={toy_root}", f"toy-expr:root={toy_root}")
    return ablation_grid(seeds, datasets=datasets, **{**TOY, **overrides})


class Counting:
    """run_experiment, counting which run folders it was asked to run."""

    def __init__(self):
        self.calls = []

    def __call__(self, config, **options):
        self.calls.append(Path(config.out))
        return run_experiment(config, **options)


@pytest.fixture(scope="module")
def ablation(toy_root, registry, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "ablation"
    grid = toy_ablation(toy_root)
    plan = plan_sweep(grid, out, registry)
    runner, lines = Counting(), []
    outcome = execute(plan, grid.name, runner, echo=lines.append, registry=registry, progress=False)
    return grid, plan, out, outcome, runner, lines


@pytest.fixture
def sweep_copy(ablation, tmp_path):
    """A private copy of the finished ablation folder, for tests that change it."""
    return Path(shutil.copytree(ablation[2], tmp_path / "ablation"))


def test_ablation_grid_is_eight_configurations_with_one_budget(toy_root):
    grid = toy_ablation(toy_root, seeds=3, steps=None)
    assert [e.name for e in grid.entries] == NAMES and grid.seeds == (0, 1, 2)
    configs = {e.name: resolve_entry(e.overrides) for e in grid.entries}
    assert {n: (c.tasks, c.coupling) for n, c in configs.items()} == {
        "va": (("va",), "none"),
        "expr": (("expr",), "none"),
        "au": (("au",), "none"),
        **{f"all-{c}": (("va", "expr", "au"), c) for c in ("none", "co", "soft", "dm", "soft+dm")},
    }
    budgets = {(c.steps, c.epochs, c.batch_size, c.image_size, c.backbone, c.preset, c.lr) for c in configs.values()}
    quick = RunConfig()
    assert budgets == {
        (quick.steps, None, 6, 16, "small", "quick", quick.lr)
    }  # the quick preset's budget, for every run


def test_ablation_needs_a_fixed_number_of_steps():
    with pytest.raises(FbnError, match="fixed budget.*--steps"):
        ablation_grid(3, preset="paper")  # the paper preset counts epochs
    assert {resolve_entry(e.overrides).steps for e in ablation_grid(1, preset="paper", steps=50).entries} == {50}


GRID = """
seeds = [0, 5]

[base]
steps = 7
datasets = ["toy", "toy-expr"]
image_size = 16

[[run]]
name = "single-expr"
tasks = "expr"

[[run]]
name = "multi"
tasks = ["va", "expr", "au"]
lr = 1e-3

[grid]
coupling = ["none", "soft+dm"]
augment = [false]
"""


def test_grid_file_crosses_runs_with_the_grid_product(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GRID)
    grid = load_grid(path)
    assert grid.name == "mine" and grid.seeds == (0, 5)
    assert [e.name for e in grid.entries] == [
        "single-expr_coupling-none",
        "single-expr_coupling-soft+dm",
        "multi_coupling-none",
        "multi_coupling-soft+dm",
    ]
    multi = resolve_entry(grid.entries[3].overrides)
    assert (multi.tasks, multi.coupling, multi.lr, multi.steps, multi.augment) == (
        ("va", "expr", "au"),
        "soft+dm",
        1e-3,
        7,
        False,
    )
    assert multi.datasets == ("toy", "toy-expr") and multi.image_size == 16
    assert resolve_entry(grid.entries[0].overrides).lr == RunConfig().lr  # the preset's, since only `multi` sets lr
    path.write_text('seeds = 2\n[grid]\ncoupling = ["co", "dm"]\n')
    grid = load_grid(path)
    assert grid.seeds == (0, 1) and [e.name for e in grid.entries] == ["coupling-co", "coupling-dm"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("colour = 1\n[grid]\ncoupling = ['co']", r"unknown key 'colour'"),
        ("[base]\nstepz = 3\n[grid]\ncoupling = ['co']", r"\[base\]: unknown setting 'stepz'"),
        ("[[run]]\nname = 'a'\nlearning_rate = 1", r"\[\[run\]\] #1 \(a\): unknown setting 'learning_rate'"),
        ("[[run]]\nname = 'a'\nseed = 1", r"'seed' cannot be set per run; use seeds"),
        ("[[run]]\ntasks = 'va'", r"\[\[run\]\] #1: needs name"),
        ("[[run]]\nname = 'a/b'", r"needs name"),
        ("[[run]]\nname = 'a'\n[[run]]\nname = 'a'", r"two runs are named 'a'"),
        ("[grid]\ncoupling = 'soft'", r"\[grid\]: coupling must be a non-empty list"),
        ("[grid]\nsteps = ['many']", r"\[grid\]: steps = 'many' should be an integer"),
        ("[base]\naugment = 1\n[grid]\ncoupling = ['co']", r"augment = 1 should be true or false"),
        ("[[run]]\nname = 'a'\ntasks = 'vx'", r"run 'a': .*vx"),
        ("seeds = 0\n[grid]\ncoupling = ['co']", r"seeds = 0"),
        ("seeds = 2", r"no runs"),
        ("[grid\n", r"not valid TOML"),
    ],
)
def test_grid_file_errors_name_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(FbnError, match=message) as info:
        load_grid(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_every_run_writes_records_in_its_own_folder(ablation, toy_root):
    grid, plan, out, outcome, runner, lines = ablation
    assert len(plan) == 16 and len(outcome.ran) == 16 and not outcome.failed
    assert sorted(runner.calls) == sorted(out / n / f"seed-{s}" for n in NAMES for s in (0, 1))
    hashes, run_ids = {}, set()
    for run in plan:
        assert (run.run_dir / DONE_FILE).is_file() and (run.run_dir / "predictions").is_dir()
        records = list(read_records(run.run_dir / "results.jsonl"))
        assert {r["seed"] for r in records} == {run.seed}
        assert {r["task"] for r in records} == set(run.config.tasks)
        assert {r["coupling"] for r in records} == {run.config.coupling}
        run_ids |= {r["run_id"] for r in records}
        hashes.setdefault(run.name, set()).update(r["config_hash"] for r in records)
    assert len(run_ids) == 16 and all("+" not in i for i in run_ids)  # ids a leaderboard store accepts
    assert all(len(h) == 1 for h in hashes.values()) and len(set.union(*hashes.values())) == 8  # seeds pool
    # A single-task run keeps the databases that label its task: toy-expr has no valence labels.
    assert [r.config.datasets for r in plan if r.name == "va"][0] == (f"toy:root={toy_root}",)
    assert "[16/16] all-soft+dm seed 1 ..." in lines


def test_resume_runs_only_what_is_unfinished(ablation, sweep_copy, registry):
    grid = ablation[0]
    (sweep_copy / "all-dm" / "seed-1" / "results.jsonl").unlink()
    (sweep_copy / "au" / "seed-0" / DONE_FILE).unlink()  # interrupted after its records were written
    plan = plan_sweep(grid, sweep_copy, registry)
    assert [(r.name, r.seed) for r in plan if r.status == TODO] == [("au", 0), ("all-dm", 1)]
    runner, lines = Counting(), []
    outcome = execute(plan, grid.name, runner, echo=lines.append, registry=registry, progress=False)
    assert runner.calls == [sweep_copy / "au" / "seed-0", sweep_copy / "all-dm" / "seed-1"]
    assert len(outcome.skipped) == 14 and "[1/16] va seed 0: finished, skipped" in lines
    assert all(r.status == DONE for r in plan_sweep(grid, sweep_copy, registry))


def test_a_folder_of_another_configuration_is_an_error_unless_forced(ablation, sweep_copy, registry, toy_root):
    other = toy_ablation(toy_root, steps=3)
    with pytest.raises(FbnError, match=r"all-dm/seed-0 holds a run of another configuration \(steps 2 -> 3\).*--force"):
        plan_sweep(replace(other, entries=[e for e in other.entries if e.name == "all-dm"]), sweep_copy, registry)
    with pytest.raises(FbnError, match=r"va/seed-0 .*steps 2 -> 3\) \(and 15 more"):
        plan_sweep(other, sweep_copy, registry)
    plan = plan_sweep(other, sweep_copy, registry, force=True)
    assert {r.status for r in plan} == {REPLACE}
    stale = sweep_copy / "va" / "seed-0" / "stale.txt"
    stale.write_text("from the old configuration")
    calls = []
    execute(plan[:1], other.name, lambda config, **kw: calls.append(config.steps), echo=lambda line: None)
    assert calls == [3] and not stale.exists()  # replaced, not mixed


def test_summary_is_the_seed_mean_and_sd_of_each_headline(ablation):
    plan = ablation[1]
    ((headers, rows),) = summary_tables(plan)  # toy and toy-expr share the all-* runs: one table
    assert headers == ["database", "headline", *NAMES]
    table = {(row[0], row[1]): dict(zip(NAMES, row[2:])) for row in rows}
    assert set(table) == {
        ("toy", "va ccc_mean"),
        ("toy", "expr macro_f1"),
        ("toy", "au f1_mean"),
        ("toy-expr", "expr macro_f1"),
    }
    assert table[("toy", "va ccc_mean")]["expr"] == "" and table[("toy-expr", "expr macro_f1")]["va"] == ""
    values = [
        r["value"]
        for run in plan
        if run.name == "all-soft"
        for r in read_records(run.run_dir)
        if r["dataset"] == "toy" and r["metric"] == "f1_mean"
    ]
    assert len(values) == 2
    assert table[("toy", "au f1_mean")]["all-soft"] == f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def test_databases_sharing_no_configuration_get_tables_of_their_own():
    scored = {("a", "all-none"), ("b", "all-none"), ("b", "expr"), ("a:world=null", "null_all-none"), ("c", "expr")}
    assert sharing_groups(scored) == [["a", "b", "c"], ["a:world=null"]]


@pytest.fixture
def cli_registry(registry, monkeypatch):
    monkeypatch.setattr("fbn_bench.registry._REGISTRY", registry)


def test_cli_reports_a_failed_run_and_goes_on(tmp_path, toy_root, cli_registry):
    grid = tmp_path / "bad.toml"
    grid.write_text(
        f'seeds = 1\n[base]\ndatasets = ["toy:root={toy_root}"]\n'
        + "".join(f"{k} = {v}\n" for k, v in TOY.items())
        + f'[[run]]\nname = "va-gone"\ntasks = "va"\ndatasets = ["toy:root={tmp_path / "gone"}"]\n'
        + '[[run]]\nname = "va"\ntasks = "va"\n'
    )  # a database that is not there is found when its run starts (a sweep reads no data before)
    result = CliRunner().invoke(cli, ["sweep", "--grid", str(grid), "--out", str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "[1/2] va-gone seed 0 failed: " in result.output and str(tmp_path / "gone") in result.output
    assert "[2/2] va seed 0 done" in result.output and "2 runs: 1 ran, 0 already finished, 1 failed" in result.output
    assert "| toy " in result.output  # the summary table of what finished (names carry no root=)
    assert "Traceback" in (tmp_path / "out" / "va-gone" / "seed-0" / "error.log").read_text()
    assert (tmp_path / "out" / "va" / "seed-0" / "results.jsonl").is_file()

    result = CliRunner().invoke(cli, ["sweep", "--grid", str(grid), "--out", str(tmp_path / "ff"), "--fail-fast"])
    assert result.exit_code == 1 and "stopped at the first failure" in result.output
    assert not (tmp_path / "ff" / "va").exists()


def test_cli_dry_run_resume_and_mismatch(ablation, toy_root, cli_registry):
    out = ablation[2]
    result = CliRunner().invoke(
        cli,
        [
            "sweep",
            "--preset",
            "ablation",
            "--datasets",
            f"toy:root={toy_root}",
            "--seeds",
            "1",
            "--out",
            str(out),
            "--dry-run",
        ],
    )
    assert result.exit_code == 2 and "holds a run of another configuration" in result.output  # the --steps etc. differ
    result = CliRunner().invoke(
        cli,
        [
            "sweep",
            "--preset",
            "ablation",
            "--datasets",
            f"toy:root={toy_root}",
            "--seeds",
            "4",
            "--dry-run",
            "--out",
            str(out.parent / "fresh"),
        ],
    )
    assert result.exit_code == 0 and "8 configuration(s) x 4 seed(s) = 32 runs" in result.output
    assert "[32/32] all-soft+dm seed 3: to run" in result.output and not (out.parent / "fresh").exists()
    result = CliRunner().invoke(cli, ["sweep", "--out", str(out)])
    assert result.exit_code == 2 and "exactly one of --preset NAME or --grid" in result.output


def test_cli_resumes_a_finished_grid_without_running(ablation, tmp_path, toy_root, cli_registry):
    out = ablation[2]
    grid = tmp_path / "ablation.toml"
    base = "".join(f"{k} = {v}\n" for k, v in TOY.items())
    runs = "".join(
        f'[[run]]\nname = "{n}"\ntasks = "{"all" if n.startswith("all") else n}"\n'
        f'coupling = "{n[4:] if n.startswith("all") else "none"}"\n'
        for n in NAMES
    )
    grid.write_text(f'seeds = 2\n[base]\n{base}datasets = ["toy:root={toy_root}", "toy-expr:root={toy_root}"]\n{runs}')
    result = CliRunner().invoke(cli, ["sweep", "--grid", str(grid), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "16 runs: 0 ran, 16 already finished, 0 failed" in result.output
    assert json.loads((out / "va" / "seed-0" / DONE_FILE).read_text())["seed"] == 0


def test_runs_of_one_sweep_may_differ_in_mixed_precision(tmp_path, toy_root, registry):
    # Accelerate keeps one state per process; without a reset between runs the second one fails.
    grid = Grid(
        "mp",
        [
            GridEntry(m, {**TOY, "datasets": (f"toy:root={toy_root}",), "tasks": ("expr",), "mixed_precision": m})
            for m in ("no", "bf16")
        ],
        (0,),
    )
    outcome = execute(
        plan_sweep(grid, tmp_path, registry),
        grid.name,
        run_experiment,
        echo=lambda line: None,
        registry=registry,
        progress=False,
    )
    assert not outcome.failed and len(outcome.ran) == 2


def test_a_failed_run_of_another_configuration_is_replaced_without_force(sweep_copy, toy_root, registry):
    failed = sweep_copy / "va" / "seed-0"
    (failed / "results.jsonl").unlink()  # as if it had failed after writing its config
    (failed / "DONE").unlink(missing_ok=True)
    (failed / "error.log").write_text("Traceback ...")
    changed = toy_ablation(toy_root, steps=3)  # another configuration than the one that ran
    va = changed.entries[0]
    assert va.name == "va"
    plan = plan_sweep(Grid(changed.name, [va], (0,)), sweep_copy, registry)
    assert [(r.run_dir, r.status) for r in plan] == [(failed, REPLACE)]  # nothing finished there to lose
    with pytest.raises(FbnError, match="holds a run of another configuration"):
        plan_sweep(Grid(changed.name, [va], (1,)), sweep_copy, registry)  # seed-1 finished: --force only


def test_the_spelling_of_a_database_option_is_not_another_configuration():
    from fbn_bench.sweep_folder import config_difference

    stored = RunConfig(datasets=("synth-rafdb:scale=0.10,seed=0",)).to_dict()
    assert config_difference(stored, RunConfig(datasets=("synth-rafdb:seed=0,scale=0.1",)).to_dict()) is None
    assert config_difference(stored, RunConfig(datasets=("synth-rafdb:scale=0.2",)).to_dict()) is not None


def test_a_task_no_chosen_database_labels_fails_the_plan_not_the_run(registry):
    from fbn_bench.sweep import check_plugins

    config = RunConfig(tasks=("va", "expr"), datasets=("synth-rafdb",))
    with pytest.raises(FbnError, match=r"no chosen database labels valence-arousal \(synth-rafdb\); add one"):
        check_plugins(config, registry)
