"""A sweep trusts no marker over its records, never runs a configuration twice at once, and resolves every
configuration's plugins before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fbn_bench import FbnError
from fbn_bench.cli import cli
from fbn_bench.experiment import run_experiment
from fbn_bench.results import RESULTS_FILE, read_records
from fbn_bench.sweep import Grid, GridEntry
from fbn_bench.sweep_folder import DONE, DONE_FILE, TODO
from fbn_bench.sweep_run import execute, plan_sweep, run_lock

TOY = dict(image_size=16, hidden=32, steps=2, batch_size=6, eval_batch_size=64)


def two_configurations(toy_root, seeds=(0, 1)) -> Grid:
    base = {**TOY, "datasets": (f"toy:root={toy_root}",), "coupling": "none"}
    entries = [GridEntry("va", {**base, "tasks": ("va",)}), GridEntry("expr", {**base, "tasks": ("expr",)})]
    return Grid("pair", entries, tuple(seeds), base)


class Counting:
    def __init__(self, then=None):
        self.calls, self.then = [], then

    def __call__(self, config, **options):
        self.calls.append(Path(config.out))
        if self.then is not None:
            then, self.then = self.then, None
            then()  # what happens elsewhere while this run is under way
        return run_experiment(config, **options)


def _execute(plan, registry, runner):
    lines = []
    outcome = execute(plan, "pair", runner, echo=lines.append, registry=registry, progress=False)
    return outcome, lines


@pytest.fixture(scope="module")
def finished(toy_root, registry, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "pair"
    grid = two_configurations(toy_root)
    _execute(plan_sweep(grid, out, registry), registry, Counting())
    return grid, out


def test_the_marker_holds_the_records_hash_run_id_and_count(finished):
    _, out = finished
    for run_dir in sorted(out.glob("*/seed-*")):
        marker = json.loads((run_dir / DONE_FILE).read_text())
        records = list(read_records(run_dir / RESULTS_FILE))
        assert marker["n_records"] == len(records) > 0
        assert {r["config_hash"] for r in records} == {marker["config_hash"]}
        assert {r["run_id"] for r in records} == {marker["run_id"]}


@pytest.mark.parametrize(
    "damage, why",
    [
        (lambda f: f.write_text(""), f"its {RESULTS_FILE} is empty"),
        (lambda f: f.write_text("".join(f.read_text().splitlines(True)[1:])), "holds "),
        (lambda f: f.write_text(f.read_text()[:-40]), f"its {RESULTS_FILE} is damaged"),
        (lambda f: f.unlink(), f"its {RESULTS_FILE} is missing"),
    ],
    ids=["emptied", "a-line-lost", "cut-short", "deleted"],
)
def test_a_marked_run_whose_records_were_damaged_runs_again(finished, registry, tmp_path, damage, why):
    import shutil

    grid, out = finished
    out = Path(shutil.copytree(out, tmp_path / "pair"))
    damaged = out / "expr" / "seed-1"
    damage(damaged / RESULTS_FILE)
    plan = plan_sweep(grid, out, registry)
    assert [(r.name, r.seed) for r in plan if r.status != DONE] == [("expr", 1)]
    assert why in plan[-1].note and plan[-1].status == TODO
    runner = Counting()
    outcome, lines = _execute(plan, registry, runner)
    assert runner.calls == [damaged] and len(outcome.skipped) == 3
    assert any("expr seed 1: marked finished, but" in line and "running it again" in line for line in lines)
    assert json.loads((damaged / DONE_FILE).read_text())["n_records"] == len(list(read_records(damaged)))


def test_a_finished_run_of_other_training_code_runs_again(finished, registry, tmp_path, monkeypatch):
    """A sweep committed in one session and resumed after a loss or a loader changed must not pool the two."""
    import dataclasses
    import shutil

    import fbn_bench.identity

    grid, out = finished
    out = Path(shutil.copytree(out, tmp_path / "pair"))
    assert all(r.status == DONE for r in plan_sweep(grid, out, registry))
    then = fbn_bench.identity.training_code()
    monkeypatch.setattr(fbn_bench.identity, "training_code", lambda: {**then, "task_losses": "changed"})
    plan = plan_sweep(grid, out, registry)
    assert {r.status for r in plan} == {TODO}
    expected = f"other code (training code task_losses version {then['task_losses']}, now changed)"
    assert all(expected in r.note for r in plan)
    monkeypatch.undo()
    original = registry.dataset
    monkeypatch.setattr(registry, "dataset", lambda name: dataclasses.replace(original(name), loader_version="9"))
    plan = plan_sweep(grid, out, registry)
    assert all(r.status == TODO and "database toy loader version 1, now 9" in r.note for r in plan)


def test_dry_run_says_why_a_marked_run_will_run_again(finished, toy_root, tmp_path, registry, monkeypatch):
    import shutil

    grid, out = finished
    out = Path(shutil.copytree(out, tmp_path / "pair"))
    (out / "va" / "seed-0" / RESULTS_FILE).write_text("")
    monkeypatch.setattr("fbn_bench.registry._REGISTRY", registry)
    grid_file = tmp_path / "pair.toml"
    grid_file.write_text(
        f'seeds = 2\n[base]\ndatasets = ["toy:root={toy_root}"]\ncoupling = "none"\n'
        + "".join(f"{k} = {v}\n" for k, v in TOY.items())
        + '[[run]]\nname = "va"\ntasks = "va"\n[[run]]\nname = "expr"\ntasks = "expr"\n'
    )
    result = CliRunner().invoke(cli, ["sweep", "--grid", str(grid_file), "--out", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "(3 finished, 1 to run)" in result.output
    assert f"va seed 0: to run (marked finished, but its {RESULTS_FILE} is empty)" in result.output


def test_two_sweeps_on_one_folder_never_run_a_configuration_twice(toy_root, registry, tmp_path):
    """Sweep B starts while sweep A runs its first configuration (deterministic: A's runner starts B)."""
    out, grid = tmp_path / "pair", two_configurations(toy_root)
    second = Counting()
    b_lines = []

    def start_b():
        b_plan = plan_sweep(grid, out, registry)
        b_outcome, lines = _execute(b_plan, registry, second)
        b_lines.extend(lines)
        assert [(r.name, r.seed) for r in b_outcome.busy] == [("va", 0)]

    first = Counting(then=start_b)
    outcome, lines = _execute(plan_sweep(grid, out, registry), registry, first)
    every = sorted(out.glob("*/seed-*"))
    assert len(every) == 4 and sorted(first.calls + second.calls) == every  # each run ran exactly once
    assert first.calls == [out / "va" / "seed-0"]
    assert any("va seed 0: running in another sweep (pid" in line and "skipped" in line for line in b_lines)
    assert sum("finished by another sweep, skipped" in line for line in lines) == 3
    assert all((d / DONE_FILE).is_file() for d in every)


def test_a_lock_is_released_with_its_holder(tmp_path):
    run_dir = tmp_path / "cfg" / "seed-0"
    with run_lock(run_dir) as holder:
        assert holder is None
        with run_lock(run_dir) as other:  # another open file description: flock says no
            assert other is not None and "pid" in other
    with run_lock(run_dir) as again:
        assert again is None


@pytest.mark.parametrize(
    "setting, message",
    [
        ('coupling = "cuople"', "unknown coupling 'cuople'"),
        ('coupling = "soft:wieght=2"', "coupling 'soft' has no option 'wieght'"),
        ('tasks = "va"\ncoupling = "dm"', "coupling 'dm' needs the au and expr head(s)"),
        ('backbone = "resnet"', "resnet"),
        ('backbone = "small:widht=3"', "has no option 'widht'"),
        ('relatedness = "du2015"', "unknown relatedness source 'du2015'"),
        ('relatedness = "empirical:nosuchdb"', "nosuchdb"),
        ('datasets = ["toy:root=/x,fold=2"]', "dataset 'toy' has no option 'fold'"),
        ('datasets = ["toyy"]', "toyy"),
    ],
)
def test_dry_run_resolves_every_configuration_of_a_grid(toy_root, registry, tmp_path, monkeypatch, setting, message):
    monkeypatch.setattr("fbn_bench.registry._REGISTRY", registry)
    grid_file = tmp_path / "typo.toml"
    grid_file.write_text(
        f'seeds = 1\n[base]\ndatasets = ["toy:root={toy_root}"]\ntasks = ["va", "expr", "au"]\n'
        + "".join(f"{k} = {v}\n" for k, v in TOY.items())
        + f'[[run]]\nname = "fine"\n[[run]]\nname = "last"\n{setting}\n'
    )
    result = CliRunner().invoke(cli, ["sweep", "--grid", str(grid_file), "--out", str(tmp_path / "o"), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: sweep run 'last': ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_a_grid_of_known_plugins_plans_without_error(toy_root, registry, tmp_path):
    grid = two_configurations(toy_root)
    grid.entries.append(
        GridEntry("all-soft", {**grid.base, "tasks": ("va", "expr", "au"), "coupling": "soft:weight=2"})
    )
    assert len(plan_sweep(grid, tmp_path / "o", registry)) == 6
    bad = Grid("b", [GridEntry("x", {**grid.base, "tasks": ("va",), "coupling": "co"})], (0,), grid.base)
    with pytest.raises(FbnError, match="sweep run 'x': coupling 'co' needs"):
        plan_sweep(bad, tmp_path / "o", registry)


def test_processes_of_one_distributed_sweep_do_not_lock_each_other_out(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")  # as accelerate launch sets it in every process
    run_dir = tmp_path / "cfg" / "seed-0"
    with run_lock(run_dir) as holder, run_lock(run_dir) as other:
        assert holder is None and other is None


def test_a_sweep_folder_that_cannot_be_written_is_one_line(tmp_path):
    blocker = tmp_path / "cfg"
    blocker.write_text("a file where the configuration's folder should be")
    with pytest.raises(FbnError, match=r"cannot write the sweep's lock .*cfg/\.seed-0\.lock"):
        with run_lock(blocker / "seed-0"):
            pass
