"""Leaderboard tables against hand-computed aggregates: seed means, t-intervals, the seed-averaged
cluster bootstrap, grouping, ranking, best markers, baselines and reference rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from leaderboard_helpers import predictions, write_run
from scipy import stats
from sklearn.metrics import f1_score

from fbn_bench.errors import FbnError
from fbn_bench.leaderboard import bootstrap
from fbn_bench.leaderboard.build import build_tables
from fbn_bench.leaderboard.references import Reference, read_references
from fbn_bench.leaderboard.render import to_markdown
from fbn_bench.leaderboard.tables import Settings
from fbn_bench.registry import get_registry
from fbn_bench.scoring import per_item

DB = "lbtest_expr"  # not registered by any plugin: metrics come from the records, unit from the columns


def _macro_f1(frame):
    return f1_score(
        frame["expression"],
        frame["pred_expression"],
        average="macro",
        labels=sorted(set(frame["expression"])),
        zero_division=0,
    )


@pytest.fixture
def runs(tmp_path):
    frames = {}
    for seed, quality in enumerate((0.8, 0.7, 0.75)):
        frames[("mt", seed)] = predictions(tasks=("expr",), quality=quality, seed=seed)
        write_run(tmp_path, f"mt-{seed}", {DB: frames[("mt", seed)]}, seed=seed)
    for seed, quality in enumerate((0.5, 0.55)):
        frames[("st", seed)] = predictions(tasks=("expr",), quality=quality, seed=10 + seed)
        write_run(tmp_path, f"st-{seed}", {DB: frames[("st", seed)]}, tasks=("expr",), seed=seed)
    frames[("one", 0)] = predictions(tasks=("expr",), quality=0.6, seed=20)
    write_run(tmp_path, "one-0", {DB: frames[("one", 0)]}, tasks=("expr",), coupling="soft", seed=0)
    return tmp_path, frames


def _row(table, tasks, coupling="none"):
    (row,) = [r for r in table.rows if r.key.tasks == tasks and r.key.coupling == coupling]
    return row


def test_cells_are_the_hand_computed_seed_aggregates_and_bootstrap(runs):
    root, frames = runs
    settings = Settings(resamples=60, seed=3)
    (table,) = build_tables([root], settings, [], registry=get_registry())
    main = [m for m in table.metrics if not per_item(m)]
    assert table.headline == "macro_f1" and main == ["macro_f1", "accuracy", "mean_class_accuracy"]
    assert {"f1_anger", "recall_anger"} <= set(table.metrics)  # per-class views, below the main table
    assert table.unit == "subject" and table.n_clusters == 10

    mt = [frames[("mt", s)] for s in range(3)]
    cell = _row(table, ("va", "expr", "au")).cells["macro_f1"]
    values = [_macro_f1(f) for f in mt]
    assert cell.mean == pytest.approx(np.mean(values), abs=1e-12)
    assert cell.n_seeds == 3
    low, high = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert cell.seed_ci == pytest.approx((low, high), abs=1e-12)

    # The bootstrap by hand: draw subjects once per resample, score every seed on that resample with
    # sklearn, average over seeds, take the 2.5 and 97.5 percentiles.
    subjects = sorted(set(mt[0]["subject"]))
    rng = bootstrap.database_rng(3, DB)
    draws = rng.integers(0, len(subjects), (60, len(subjects)))
    parts = [{s: f[f["subject"] == s] for s in subjects} for f in mt]
    dist = []
    for draw in draws:
        picked = [subjects[j] for j in draw]
        per_seed = [_macro_f1(pd.concat([by[s] for s in picked])) for by in parts]
        dist.append(np.mean(per_seed))
    assert cell.boot_ci == pytest.approx(tuple(np.percentile(dist, [2.5, 97.5])), abs=1e-12)

    single = _row(table, ("expr",), "soft").cells["accuracy"]
    assert single.n_seeds == 1 and single.seed_ci is None and single.boot_ci is not None
    assert "± –" in to_markdown(table)


def test_rows_are_ranked_by_headline_and_best_marked_per_column(runs):
    root, _ = runs
    (table,) = build_tables([root], Settings(resamples=20), [], registry=get_registry())
    means = [r.cells["macro_f1"].mean for r in table.rows]
    assert means == sorted(means, reverse=True)
    for metric in ("macro_f1", "accuracy", "mean_class_accuracy"):
        best = [r for r in table.rows if r.cells[metric].best]
        assert [r.cells[metric].mean for r in best] == [max(r.cells[metric].mean for r in table.rows)]
    main_table = to_markdown(table).split("\n## ")[0]  # the per-class sections below mark their own best
    table_lines = [line for line in main_table.splitlines() if line.startswith("| ")]
    assert sum(line.count("**") for line in table_lines) == 3 * 2  # one bold mean per metric column
    assert "Every row ties" not in main_table


def test_a_table_whose_rows_all_tie_says_so(runs):
    root, _ = runs
    (table,) = build_tables([root], Settings(resamples=20), [], registry=get_registry())
    for row in table.rows:  # as at a budget too small to learn: every headline reads the same
        row.cells[table.headline].best = True
    assert f"Every row ties on {table.headline}" in to_markdown(table)


def test_configurations_group_by_hash_and_a_rerun_replaces_its_seed(tmp_path):
    f = predictions(tasks=("expr",), quality=0.7, seed=1)
    write_run(tmp_path, "a0", {DB: f}, seed=0)
    write_run(tmp_path, "a1", {DB: predictions(tasks=("expr",), quality=0.6, seed=2)}, seed=1)
    write_run(tmp_path, "lr", {DB: f}, seed=0, lr=0.01)  # same label, other hyper-parameters
    better = predictions(tasks=("expr",), quality=1.0, seed=3)
    write_run(tmp_path, "a0-rerun", {DB: better}, seed=0, created="2024-06-01T00:00:00")
    (table,) = build_tables([tmp_path], Settings(resamples=20), [], registry=get_registry())
    assert len(table.rows) == 2
    pooled = max(table.rows, key=lambda r: r.n_seeds)
    assert pooled.n_seeds == 2
    expected = np.mean(
        [1.0, (predictions(tasks=("expr",), quality=0.6, seed=2).eval("expression == pred_expression")).mean()]
    )
    assert pooled.cells["accuracy"].mean == pytest.approx(expected)


def test_paired_columns_against_a_baseline(runs):
    root, _ = runs
    (table,) = build_tables(
        [root], Settings(resamples=200, baseline="tasks=expr,coupling=none"), [], registry=get_registry()
    )
    base = _row(table, ("expr",))
    assert base.is_baseline and base.comparisons == {}
    assert table.compared == ["macro_f1"]
    mt = _row(table, ("va", "expr", "au"))
    found = mt.comparisons["macro_f1"]
    assert found.difference == pytest.approx(mt.cells["macro_f1"].mean - base.cells["macro_f1"].mean, abs=1e-9)
    assert found.p_value < 0.05
    text = to_markdown(table)
    assert "baseline" in text and "Δ macro_f1" in text
    # By config hash prefix too.
    (again,) = build_tables(
        [root], Settings(resamples=200, baseline=base.key.config_hash[:6]), [], registry=get_registry()
    )
    assert _row(again, ("expr",)).is_baseline
    with pytest.raises(FbnError, match="matches 2 configurations"):
        build_tables([root], Settings(resamples=20, baseline="tasks=expr"), [], registry=get_registry())
    with pytest.raises(FbnError, match="unknown field 'model'"):
        build_tables([root], Settings(resamples=20, baseline="model=small"), [], registry=get_registry())
    with pytest.raises(FbnError, match="matches no configuration"):
        build_tables([root], Settings(resamples=20, baseline="backbone=vggface"), [], registry=get_registry())


def test_reference_rows_are_separate_and_never_ranked(runs, tmp_path):
    root, _ = runs
    ref = Reference(DB, "Paper method", "arXiv:0000.00000, Table 1", {"macro_f1": 0.99})
    (table,) = build_tables([root], Settings(resamples=20), [ref], registry=get_registry())
    assert all(not r.key.backbone == "Paper method" for r in table.rows)
    text = to_markdown(table)
    measured, reported = text.split("## Reported in papers")
    assert "Paper method" not in measured and "Paper method" in reported
    assert "0.990" in reported and "**0.990**" not in text and "arXiv:0000.00000" in reported
    # Reference-only databases get a table too.
    (only,) = build_tables(
        [], Settings(), [Reference("other_db", "M", "C", {"accuracy": 0.5})], registry=get_registry()
    )
    assert only.rows == [] and "No measured results yet" in to_markdown(only)


@pytest.mark.parametrize(
    "body, message",
    [
        ('[[reference]]\ndatabase = "x"\nmethod = "m"\nmetrics = { accuracy = 0.5 }\n', "citation"),
        (
            '[[reference]]\ndatabase = "x"\nmethod = "m"\ncitation = "c"\nmetrics = { accuracy = "high" }\n',
            "must be a number",
        ),
        (
            '[[reference]]\ndatabase = "x"\nmethod = "m"\ncitation = "c"\nscore = 1\nmetrics = { a = 1 }\n',
            "unknown key",
        ),
        ("[[reference]\n", "not valid TOML"),
        (
            '[[reference]]\ndatabase = "x"\nmethod = "m"\ncitation = "c"\nmetrics = { "macro-f1" = 0.5 }\n',
            "not a leaderboard metric",
        ),
    ],
)
def test_bad_reference_files_name_the_problem(tmp_path, body, message):
    path = tmp_path / "references.toml"
    path.write_text(body)
    with pytest.raises(FbnError, match=message):
        read_references(path)


def test_multi_task_database_compares_each_task_the_baseline_was_scored_on(tmp_path):
    # The baseline learnt expressions and AUs only: its VA outputs (here present in the file) must not
    # be compared, since it has no VA records.
    db = "lbtest_all"
    for seed in range(2):
        write_run(tmp_path, f"mt-{seed}", {db: predictions(quality=0.8, seed=seed)}, seed=seed)
        frame = predictions(quality=0.5, seed=10 + seed)
        write_run(
            tmp_path,
            f"ea-{seed}",
            {db: frame[[c for c in frame if "valence" not in c and "arousal" not in c]]},
            tasks=("expr", "au"),
            seed=seed,
        )
    (table,) = build_tables([tmp_path], Settings(resamples=100, baseline="tasks=expr+au"), [], registry=get_registry())
    assert table.headline == "ccc_mean" and table.compared == ["macro_f1", "f1_mean"]
    mt = _row(table, ("va", "expr", "au"))
    assert set(mt.comparisons) == {"macro_f1", "f1_mean"}
    assert all(c.difference > 0 for c in mt.comparisons.values())
    header = [line for line in to_markdown(table).splitlines() if line.startswith("| # ")][0]
    assert "Δ macro_f1" in header and "Δ f1_mean" in header and "Δ ccc_mean" not in header


def test_runs_without_predictions_get_no_bootstrap_interval(runs):
    root, _ = runs
    for folder in root.glob("*/predictions"):
        for file in folder.iterdir():
            file.unlink()
    (table,) = build_tables([root], Settings(resamples=20), [], registry=get_registry())
    assert all(c.boot_ci is None for r in table.rows for c in r.cells.values())
    assert all(c.seed_ci is not None for r in table.rows if r.n_seeds > 1 for c in r.cells.values())
    assert "[–]" in to_markdown(table)


def test_a_metric_no_record_holds_gets_no_column_but_the_headline_always_does():
    from fbn_bench.leaderboard.tables import database_metrics
    from fbn_bench.registry import get_registry

    spec = get_registry().dataset("synth-affectnet")
    # Records from before mean_class_accuracy was scored: no empty column for it.
    assert database_metrics({"macro_f1", "accuracy"}, spec) == ["ccc_mean", "macro_f1", "accuracy"]
    assert database_metrics({"macro_f1", "accuracy", "mean_class_accuracy", "ccc_valence"}, spec) == [
        "ccc_mean",
        "ccc_valence",
        "macro_f1",
        "accuracy",
        "mean_class_accuracy",
    ]
    assert database_metrics({"macro_f1", "my_metric"}, spec) == ["ccc_mean", "macro_f1", "my_metric"]


def test_a_lower_is_better_plugin_metric_marks_its_smallest_mean_best(tmp_path, monkeypatch):
    import json

    for run_id, seed, err in (("a", 0, 0.3), ("b", 1, 0.1)):
        run_dir = write_run(tmp_path, run_id, {DB: predictions(tasks=("expr",), seed=seed)}, tasks=("expr",), lr=seed)
        first = json.loads((run_dir / "results.jsonl").read_text().splitlines()[0])
        with (run_dir / "results.jsonl").open("a") as fh:  # what a metric plugin "err" adds to a run's records
            fh.write(json.dumps({**first, "task": "expr", "metric": "err", "value": err}) + "\n")
    monkeypatch.setattr("fbn_bench.leaderboard.build.lower_is_better", lambda specs: frozenset({"err"}))
    (table,) = build_tables([tmp_path], Settings(resamples=20), [], registry=get_registry())
    best = [r.cells["err"].mean for r in table.rows if r.cells["err"].best]
    assert best == [pytest.approx(0.1)]
    assert table.rows[0].cells["err"].boot_ci is None  # no registered metric "err" to recompute on resamples
