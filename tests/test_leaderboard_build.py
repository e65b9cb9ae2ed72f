"""`fbn-bench leaderboard build/show/add`: files written, the staleness check, the record store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from leaderboard_helpers import predictions, write_run

from fbn_bench.cli import cli
from fbn_bench.leaderboard.build import render_all, stale_files
from fbn_bench.leaderboard.store import compact_predictions
from fbn_bench.registry import get_registry
from fbn_bench.results import read_predictions, read_records
from fbn_bench.scoring import per_item, score_predictions

REPO = Path(__file__).resolve().parents[1]


def _invoke(*args):
    return CliRunner().invoke(cli, list(map(str, args)), obj={"debug": False}, catch_exceptions=False)


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    for seed in range(2):
        write_run(
            root,
            f"mt-{seed}",
            {
                "lb_expr": predictions(tasks=("expr",), quality=0.7, seed=seed),
                "lb_au": predictions(tasks=("au",), quality=0.6, seed=5 + seed),
            },
            seed=seed,
        )
        write_run(
            root,
            f"st-{seed}",
            {"lb_expr": predictions(tasks=("expr",), quality=0.5, seed=9 + seed)},
            tasks=("expr",),
            seed=seed,
        )
    return root


def test_empty_store_builds_an_index_and_passes_the_check(tmp_path):
    out = tmp_path / "leaderboards"
    result = _invoke("leaderboard", "build", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md"]
    assert "No results yet" in (out / "README.md").read_text()
    check = _invoke("leaderboard", "build", "--out", out, "--check")
    assert check.exit_code == 0 and "match their records" in check.output


def test_add_build_check_and_a_stale_table(runs, tmp_path):
    out = tmp_path / "leaderboards"
    added = _invoke("leaderboard", "add", *sorted(runs.iterdir()), "--store", out / "records")
    assert added.exit_code == 0, added.output
    assert _invoke("leaderboard", "build", "--out", out, "--resamples", 50).exit_code == 0
    assert sorted(p.name for p in out.glob("*.md")) == ["README.md", "lb_au.md", "lb_expr.md"]
    index = (out / "README.md").read_text()
    assert "[lb_expr](lb_expr.md)" in index and "macro_f1" in index and "F1 per AU" in index

    # The check builds with the same settings, so it needs the same --resamples...
    assert _invoke("leaderboard", "build", "--out", out, "--check", "--resamples", 50).exit_code == 0
    # ...and a table that no longer matches its records fails, naming the table.
    table = out / "lb_expr.md"
    table.write_text(table.read_text().replace("0.", "0,", 1))
    stale = CliRunner().invoke(
        cli, ["leaderboard", "build", "--out", str(out), "--check", "--resamples", "50"], obj={"debug": False}
    )
    assert stale.exit_code != 0
    assert "lb_expr.md is stale" in stale.output and "lb_au.md" not in stale.output
    # A generated table whose database has left the records is flagged too, and removed by build.
    (out / "gone.md").write_text((out / "README.md").read_text())
    files = render_all(out, settings=None, registry=get_registry())
    assert any("gone.md is no longer built" in p for p in stale_files(out, files))
    _invoke("leaderboard", "build", "--out", out, "--resamples", 50)
    assert not (out / "gone.md").exists()


def test_settings_file_fixes_the_committed_build(runs, tmp_path):
    out = tmp_path / "leaderboards"
    _invoke("leaderboard", "add", *sorted(runs.iterdir()), "--store", out / "records")
    (out / "leaderboards.toml").write_text('resamples = 40\nseed = 7\nbaseline = "tasks=expr"\n')
    assert _invoke("leaderboard", "build", "--out", out).exit_code == 0
    text = (out / "lb_expr.md").read_text()
    assert "40 resamples" in text and "seed 7" in text and "baseline" in text
    assert _invoke("leaderboard", "build", "--out", out, "--check").exit_code == 0
    # The same records under another bootstrap seed give other intervals: the check notices.
    assert _invoke("leaderboard", "build", "--out", out, "--check", "--seed", 8).exit_code != 0
    (out / "leaderboards.toml").write_text("resamples = 3\n")
    bad = CliRunner().invoke(cli, ["leaderboard", "build", "--out", str(out)], obj={"debug": False})
    assert bad.exit_code == 2 and "resamples must be an integer >= 10" in bad.output


def test_builds_are_reproducible_bit_for_bit(runs, tmp_path):
    first = render_all(tmp_path / "a", [runs], registry=get_registry())
    second = render_all(tmp_path / "b", [runs], registry=get_registry())
    assert first == second


def test_show_formats(runs, tmp_path):
    md = _invoke("leaderboard", "show", "lb_expr", "--results", runs, "--resamples", 30)
    assert md.exit_code == 0 and md.output.startswith("<!--") and "| # | backbone" in md.output
    csv = _invoke("leaderboard", "show", "lb_expr", "--results", runs, "--resamples", 30, "--format", "csv")
    frame = pd.read_csv(pd.io.common.StringIO(csv.output))
    summaries = {m for m in frame["metric"] if not per_item(m)}
    assert summaries == {"macro_f1", "accuracy", "mean_class_accuracy"} and set(frame["seeds"]) == {2}
    assert "recall_fear" in set(frame["metric"])  # per-class rows are in the CSV too
    assert (frame["boot_ci_low"] <= frame["boot_ci_high"]).all()
    js = json.loads(
        _invoke("leaderboard", "show", "lb_au", "--results", runs, "--resamples", 30, "--format", "json").output
    )
    assert js["headline"] == "f1_mean" and js["resampling_unit"] == "subject"
    per_au = {f"{m}_AU{a}{at}" for m, at in (("f1", ""), ("f1", "@0.5"), ("ap", ""), ("auc", "")) for a in (1, 2, 12)}
    assert {r["metric"] for r in js["rows"]} == {"f1_mean", "f1_mean@0.5", "ap_mean", "auc_mean"} | per_au
    missing = CliRunner().invoke(cli, ["leaderboard", "show", "nope", "--results", str(runs)], obj={"debug": False})
    assert missing.exit_code == 2 and "lb_expr" in missing.output


def test_add_takes_a_folder_of_runs_like_a_sweep_output(runs, tmp_path):
    store = tmp_path / "records"
    result = _invoke("leaderboard", "add", runs, "--store", store)
    assert result.exit_code == 0
    assert sorted(p.name for p in store.iterdir()) == ["mt-0", "mt-1", "st-0", "st-1"]
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = CliRunner().invoke(cli, ["leaderboard", "add", str(empty), "--store", str(store)], obj={"debug": False})
    assert bad.exit_code == 2 and "holds no results.jsonl" in bad.output


def test_add_writes_into_the_records_of_the_out_folder_that_build_reads(runs, tmp_path):
    out = tmp_path / "boards"
    _invoke("leaderboard", "add", runs / "mt-0", "--out", out)
    assert (out / "records" / "mt-0" / "results.jsonl").is_file()
    built = _invoke("leaderboard", "build", "--out", out, "--resamples", 20)
    assert str(out / "lb_expr.md") in built.output and "small" in (out / "lb_expr.md").read_text()


def test_store_keeps_compact_predictions_that_score_the_same(runs, tmp_path):
    store = tmp_path / "records"
    _invoke("leaderboard", "add", runs / "mt-0", "--store", store)
    assert sorted(p.name for p in (store / "mt-0").rglob("*") if p.is_file()) == [
        "lb_au.csv.gz",
        "lb_expr.csv.gz",
        "results.jsonl",
    ]
    for dataset, tasks in (("lb_expr", ("expr",)), ("lb_au", ("au",))):
        original, stored = read_predictions(runs / "mt-0", dataset), read_predictions(store / "mt-0", dataset)
        assert list(stored.columns) == list(original.columns)  # the helper writes nothing extra
        assert score_predictions(stored, tasks, (1, 2, 12)) == score_predictions(original, tasks, (1, 2, 12))
    assert list(read_records(store / "mt-0")) == list(read_records(runs / "mt-0"))


def test_compaction_drops_extra_columns_and_never_crosses_the_au_threshold():
    frame = pd.DataFrame(
        {
            "image": ["a", "b", "c"],
            "frame": [1, 2, 3],
            "logit_AU1": [0.1, 0.2, 0.3],
            "AU1": [1.0, 0.0, 1.0],
            "prob_AU1": [0.49996, 0.500001, 0.123456789],
            "valence": [0.1234567, 0.0, 0.0],
            "pred_valence": [0.333333333, 0.0, 0.0],
        }
    )
    out = compact_predictions(frame)
    assert list(out.columns) == ["image", "AU1", "prob_AU1", "valence", "pred_valence"]
    assert out["prob_AU1"].tolist() == [0.4999, 0.5, 0.1235]
    assert out["pred_valence"].iloc[0] == 0.3333


def test_compaction_keeps_the_sign_of_valence_and_arousal_so_sagr_comes_back():
    """Rounding 3e-5 to 0 would turn an agreeing sign into a disagreeing one (sign 0): SAGR must not move."""
    from fbn_bench.metrics.functional import sagr

    frame = pd.DataFrame(
        {
            "image": list("abcdef"),
            "valence": [0.5, -0.2, 0.3, -0.4, np.nan, 0.0],
            "pred_valence": [3e-5, -4.9e-5, -2e-5, 0.25, 0.1, 0.0],
            "arousal": [-3e-5, 0.2, 0.1, 0.1, 0.2, 0.3],
            "pred_arousal": [-0.1, 0.2, 0.1, 0.1, 0.2, 0.3],
        }
    )
    out = compact_predictions(frame)
    assert out["pred_valence"].tolist()[:4] == [1e-4, -1e-4, -1e-4, 0.25] and out["pred_valence"].iloc[5] == 0.0
    assert out["arousal"].iloc[0] == -1e-4 and np.isnan(out["valence"].iloc[4])
    # By hand: valence agrees on a, b and f (0 and 0), not on c or d, e is unlabelled: 3 of 5; arousal: 6 of 6.
    for dim, by_hand in (("valence", 3 / 5), ("arousal", 1.0)):
        before, after = frame.dropna(subset=[dim]), out.dropna(subset=[dim])
        assert sagr(before[dim], before[f"pred_{dim}"]) == pytest.approx(by_hand)
        assert sagr(after[dim], after[f"pred_{dim}"]) == sagr(before[dim], before[f"pred_{dim}"])


def test_the_committed_leaderboards_match_their_records():
    out = REPO / "leaderboards"
    assert stale_files(out, render_all(out, registry=get_registry())) == []


def test_refresh_workflow_runs_the_sweep_and_opens_a_pull_request():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "leaderboards.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    steps = workflow["jobs"]["refresh"]["steps"]
    script = "\n".join(s.get("run", "") for s in steps)
    assert "fbn-bench sweep" in script and "fbn-bench leaderboard add" in script
    assert "fbn-bench leaderboard build --check" in script
    assert any("create-pull-request" in s.get("uses", "") for s in steps)
    assert "gpu" in workflow["jobs"]["refresh"]["runs-on"]


def test_a_database_named_with_options_gets_a_safe_table_file(tmp_path):
    name = "lb_expr:fold=2,file=/abs/labels.csv"
    write_run(tmp_path / "runs", "r0", {name: predictions(tasks=("expr",))}, tasks=("expr",))
    files = render_all(tmp_path / "boards", [tmp_path / "runs"], registry=get_registry())
    table = "lb_expr_fold=2,file=_abs_labels.csv.md"
    assert table in files and f"]({table})" in files["README.md"]
    assert f"# {name}" in files[table]  # the table itself keeps the name as the records have it


def test_add_refuses_a_different_run_under_an_id_the_store_already_has(runs, tmp_path):
    store = tmp_path / "records"
    _invoke("leaderboard", "add", runs / "mt-0", "--store", store)
    _invoke("leaderboard", "add", runs / "mt-0", "--store", store)  # the same run again: an update
    impostor = write_run(tmp_path / "other", "mt-0", {"lb_expr": predictions(tasks=("expr",), seed=3)}, seed=7)
    result = CliRunner().invoke(cli, ["leaderboard", "add", str(impostor), "--store", str(store)], obj={"debug": False})
    assert result.exit_code == 2 and "already holds a different run named 'mt-0'" in result.output
    assert {r["seed"] for r in read_records(store / "mt-0")} == {0}  # the stored seed is still there


def test_the_index_says_its_note_and_lists_the_archived_stores_with_why(runs, tmp_path):
    out = tmp_path / "leaderboards"
    (out / "archive" / "v1").mkdir(parents=True)
    (out / "leaderboards.toml").write_text('resamples = 50\nnote = """Provisional: one seed.\nMore to come."""\n')
    (out / "archive" / "v1" / "leaderboards.toml").write_text('resamples = 50\nnote = "Superseded: circular world."\n')
    _invoke("leaderboard", "add", *sorted(runs.iterdir()), "--store", out / "archive" / "v1" / "records")
    for folder in (out / "archive" / "v1", out):
        assert _invoke("leaderboard", "build", "--out", folder).exit_code == 0
    index = (out / "README.md").read_text().splitlines()
    assert index[2:6] == ["# Leaderboards", "", "> Provisional: one seed.", "> More to come."]
    assert "| [archive/v1](archive/v1/README.md) | Superseded: circular world. |" in index
    archive = (out / "archive" / "v1" / "README.md").read_text()
    assert "> Superseded: circular world." in archive and "[lb_expr](lb_expr.md)" in archive
    # Each store is built and checked on its own: the live one holds none of the archived rows.
    assert not (out / "lb_expr.md").exists()
    assert _invoke("leaderboard", "build", "--out", out / "archive" / "v1", "--check").exit_code == 0
    (out / "leaderboards.toml").write_text("note = 3\n")
    result = CliRunner().invoke(cli, ["leaderboard", "build", "--out", str(out)], obj={"debug": False})
    assert result.exit_code == 2 and "note must be a string" in result.output
