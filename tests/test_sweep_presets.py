"""The built-in sweep grids: ablation v2's rows (controls, mismatch levels, convergence) and couplings
chosen on val, down to the configurations their runs resolve."""

import pytest
from click.testing import CliRunner

from fbn_bench import FbnError
from fbn_bench.cli import cli
from fbn_bench.run_datasets import resolve_datasets
from fbn_bench.sweep import resolve_entry
from fbn_bench.sweep_presets import ablation_grid, ablation_v2_grid, chosen_couplings
from fbn_bench.tuning import Choice, write_choices

SYNTH = ("synth-affwild2", "synth-rafdb:scale=0.5")
ALL = ("va", "expr", "au")


def configs(grid):
    return {e.name: resolve_entry(e.overrides) for e in grid.entries}


def test_v2_rows_in_order_with_five_seeds(registry):
    grid = ablation_v2_grid(datasets=SYNTH, registry=registry, steps=40)
    names = [e.name for e in grid.entries]
    primary = ["va", "expr", "au", "all-none", "all-co", "all-soft", "all-dm", "all-soft+dm"]
    assert names[:8] == primary and grid.seeds == (0, 1, 2, 3, 4)
    worlds = ("null", "shuffled", "du2014")
    assert names[8:20] == [f"{w}_all-{c}" for w in worlds for c in ("none", "soft", "dm", "soft+dm")]
    assert names[20:26] == [f"mismatch={m}_all-{c}" for m in (0, 2) for c in ("none", "soft", "soft+dm")]
    assert names[26:] == [f"conv_{n}" for n in primary]


def test_v2_controls_change_only_the_world(registry):
    found = configs(ablation_v2_grid(datasets=SYNTH, registry=registry, steps=40))
    assert found["all-soft"].datasets == SYNTH
    assert found["null_all-soft"].datasets == ("synth-affwild2:world=null", "synth-rafdb:scale=0.5,world=null")
    assert found["mismatch=2_all-soft+dm"].datasets == ("synth-affwild2:mismatch=2", "synth-rafdb:scale=0.5,mismatch=2")
    assert found["shuffled_all-dm"].datasets == (
        "synth-affwild2:world=shuffled",
        "synth-rafdb:scale=0.5,world=shuffled",
    )
    for name in ("null_all-soft", "shuffled_all-soft+dm", "du2014_all-dm", "mismatch=0_all-none"):
        control, primary = found[name], found[name.partition("_")[2]]
        assert (control.tasks, control.coupling, control.steps) == (primary.tasks, primary.coupling, primary.steps)
    # the option reaches the database each run resolves: its canonical name, hence its leaderboard
    names = [p.name for p in resolve_datasets(found["du2014_all-none"], registry)]
    assert names == ["synth-affwild2:world=du2014", "synth-rafdb:scale=0.5,world=du2014"]


def test_v2_without_datasets_controls_every_default_synthetic_database(registry):
    found = configs(ablation_v2_grid(registry=registry, steps=40))
    assert found["all-none"].datasets == ()  # the run's own default: every synthetic database of its tasks
    bases = [d.partition(":")[0] for d in found["null_all-none"].datasets]
    assert bases == [s.name for s in registry.specs("datasets") if s.synthetic and s.tasks & set(ALL)]
    assert len(bases) >= 7 and all(d.endswith(":world=null") for d in found["null_all-none"].datasets)


def test_v2_convergence_rows_stop_on_val_within_three_budgets(registry):
    found = configs(ablation_v2_grid(datasets=SYNTH, registry=registry, steps=40))
    for name in ("va", "all-soft+dm"):
        assert (found[name].steps, found[name].patience) == (40, None)
        assert (found[f"conv_{name}"].steps, found[f"conv_{name}"].patience) == (120, 3)
        assert found[f"conv_{name}"].budget == found[name].budget == "samples"


def test_chosen_couplings_reach_every_row_that_uses_them(registry, tmp_path):
    choices = [
        Choice("soft", "soft:temperature=2,weight=1", 0.5, 3, []),
        Choice("dm", "dm:weight=0.3", 0.4, 3, []),
    ]
    chosen = chosen_couplings(write_choices(choices, tmp_path))
    assert chosen == {"soft": "soft:temperature=2,weight=1", "dm": "dm:weight=0.3"}
    found = configs(ablation_v2_grid(datasets=SYNTH, registry=registry, couplings=chosen, steps=40))
    assert found["all-soft+dm"].coupling == "soft:temperature=2,weight=1+dm:weight=0.3"
    assert found["null_all-dm"].coupling == found["conv_all-dm"].coupling == "dm:weight=0.3"
    assert found["all-co"].coupling == "co" and found["all-none"].coupling == "none"  # not chosen: as they were
    v1 = configs(ablation_grid(1, datasets=SYNTH, registry=registry, couplings=chosen, steps=40))
    assert v1["all-soft"].coupling == "soft:temperature=2,weight=1"


def test_a_choice_naming_another_coupling_is_refused(tmp_path):
    path = tmp_path / "chosen.toml"
    path.write_text('[couplings]\nsoft = "dm:weight=1"\n')
    with pytest.raises(FbnError, match=r"soft = 'dm:weight=1' names another coupling"):
        chosen_couplings(path)
    path.write_text('soft = "soft"\n')
    with pytest.raises(FbnError, match=r"\[couplings\] table"):
        chosen_couplings(path)


def test_cli_dry_run_of_v2_with_couplings(tmp_path):
    chosen = write_choices([Choice("co", "co:weight=0.3", 0.5, 1, [])], tmp_path)
    args = ["sweep", "--preset", "ablation-v2", "--seeds", "1", "--steps", "5", "--dry-run", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, [*args, "--datasets", ",".join(SYNTH), "--couplings", str(chosen)])
    assert result.exit_code == 0, result.output
    assert "34 configuration(s) x 1 seed(s) = 34 runs" in result.output
    assert "all-co: tasks=va,expr,au, coupling=co:weight=0.3" in result.output
    assert "couplings take their defaults" not in result.output
    result = CliRunner().invoke(cli, [*args, "--datasets", ",".join(SYNTH)])
    assert result.exit_code == 0 and "couplings take their defaults, which are the committed tuning's" in result.output
    grid_file = tmp_path / "g.toml"
    grid_file.write_text('[[run]]\nname = "a"\ntasks = ["va"]\n')
    result = CliRunner().invoke(cli, ["sweep", "--grid", str(grid_file), "--couplings", str(chosen), "--dry-run"])
    assert result.exit_code == 2 and "--couplings goes with --preset" in result.output


def test_only_keeps_the_named_configurations_in_the_grids_order(tmp_path):
    args = ["sweep", "--preset", "ablation-v2", "--seeds", "2", "--steps", "5", "--dry-run", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, [*args, "--datasets", ",".join(SYNTH), "--only", "mismatch=2_*, expr,va"])
    assert result.exit_code == 0, result.output
    assert "5 configuration(s) x 2 seed(s) = 10 runs" in result.output
    planned = [line.split("] ")[1].split(" seed")[0] for line in result.output.splitlines() if line.startswith("[")]
    assert planned[::2] == ["va", "expr", "mismatch=2_all-none", "mismatch=2_all-soft", "mismatch=2_all-soft+dm"]
    result = CliRunner().invoke(cli, [*args, "--datasets", ",".join(SYNTH), "--only", "va,all-nothing"])
    assert result.exit_code == 2
    assert "--only 'all-nothing': no configuration of ablation-v2 has that name; it has va, expr" in result.output
