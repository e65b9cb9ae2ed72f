"""Coupling options chosen on val: one grid for every coupling, the choice by mean val selection score over
seeds, test scores never consulted."""

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from engine_toy_plugin import write_toy

from fbn_bench.cli import cli
from fbn_bench.experiment import run_experiment
from fbn_bench.registry import build_registry
from fbn_bench.sweep import resolve_entry
from fbn_bench.sweep_presets import coupling_tuning_grid
from fbn_bench.sweep_run import execute, plan_sweep
from fbn_bench.tomlfile import read_toml
from fbn_bench.tuning import CHOSEN_FILE, TUNED, WEIGHTS, candidates, choose_on_val, write_choices

TOY = dict(image_size=16, hidden=16, steps=2, batch_size=6, eval_batch_size=64)


def test_every_coupling_gets_the_same_weight_grid_and_soft_its_temperatures():
    found = candidates()
    assert len(found) == len(WEIGHTS) * (1 + 3 + 1)  # co, soft (x 3 temperatures), dm
    for coupling in TUNED:
        weights = {text.split("weight=")[1] for _, c, text in found if c == coupling}
        assert weights == {f"{w:g}" for w in WEIGHTS}
    assert "soft:temperature=0.5,weight=0.1" in {text for _, _, text in found}
    grid = coupling_tuning_grid(1, **TOY)
    configs = [resolve_entry(e.overrides) for e in grid.entries]
    assert {c.steps for c in configs} == {2} and {c.tasks for c in configs} == {("va", "expr", "au")}


def fake_run(tmp_path, coupling, seed, val, test):
    """A finished run whose records carry its val selection score and a test value."""
    run_dir = tmp_path / f"{coupling}-{seed}"
    run_dir.mkdir()
    records = [{"dataset": "d", "metric": "f1_mean", "value": test, "selection_score": val, "seed": seed}]
    (run_dir / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return SimpleNamespace(run_dir=run_dir, config=SimpleNamespace(coupling=coupling))


def test_the_choice_follows_the_mean_val_score_and_ignores_test(tmp_path, monkeypatch):
    low, high = "co:weight=0.1", "co:weight=1"
    # weight=1 is better on val on average (0.6 vs 0.5) though worse on test and worse on one seed.
    runs = [
        fake_run(tmp_path, low, 0, val=0.55, test=0.9),
        fake_run(tmp_path, low, 1, val=0.45, test=0.9),
        fake_run(tmp_path, high, 0, val=0.50, test=0.1),
        fake_run(tmp_path, high, 1, val=0.70, test=0.1),
    ]
    monkeypatch.setattr("fbn_bench.sweep_run.finished_runs", lambda plan: plan)
    [choice] = choose_on_val(runs)
    assert (choice.coupling, choice.text, choice.seeds) == ("co", high, 2)
    assert choice.score == pytest.approx(0.6)
    assert sorted(choice.table) == [(low, pytest.approx(0.5), 2), (high, pytest.approx(0.6), 2)]
    written = read_toml(write_choices([choice], tmp_path))
    assert written == {"couplings": {"co": high}}


@pytest.mark.slow
def test_a_tuning_sweep_writes_a_choice_every_later_run_can_use(tmp_path):
    root = write_toy(tmp_path / "toy", n_train=48, n_test=16)
    registry = build_registry(extra_modules=["engine_toy_plugin"])
    grid = coupling_tuning_grid(1, datasets=(f"toy:root={root}",), **TOY)
    plan = plan_sweep(grid, tmp_path / "sweep", registry)
    outcome = execute(plan, grid.name, run_experiment, echo=lambda *_: None, registry=registry, progress=False)
    assert not outcome.failed and len(outcome.ran) == len(candidates())
    choices = choose_on_val(plan)
    assert {c.coupling for c in choices} == set(TUNED)
    chosen = read_toml(write_choices(choices, tmp_path / "sweep"))["couplings"]
    for text in chosen.values():  # each choice is a coupling text a run resolves as it is
        assert resolve_entry({**TOY, "coupling": text, "datasets": (f"toy:root={root}",)}, registry).coupling == text


def test_the_cli_dry_run_lists_the_tuning_grid(tmp_path, monkeypatch):
    root = write_toy(tmp_path / "toy", n_train=24, n_test=8)
    monkeypatch.setattr("fbn_bench.registry._REGISTRY", build_registry(extra_modules=["engine_toy_plugin"]))
    args = ["sweep", "--preset", "coupling-tuning", "--seeds", "1", "--steps", "2", "--datasets", f"toy:root={root}"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "sw"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"{len(candidates())} configuration(s) x 1 seed(s)" in result.output
    assert "coupling=soft:temperature=2,weight=0.3" in result.output
    assert not (tmp_path / "sw" / CHOSEN_FILE).exists()


def test_a_tie_goes_to_the_first_candidate_of_the_grid(tmp_path, monkeypatch):
    runs = [
        fake_run(tmp_path, "dm:weight=0.1", 0, val=0.5, test=0.1),
        fake_run(tmp_path, "dm:weight=1", 0, val=0.5 + 1e-12, test=0.9),
    ]
    monkeypatch.setattr("fbn_bench.sweep_run.finished_runs", lambda plan: plan)
    assert choose_on_val(runs)[0].text == "dm:weight=0.1"
