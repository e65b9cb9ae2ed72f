"""Leaderboards on damaged or odd input: seeds without usable predictions, malformed records and
prediction files, reference values out of range, few clusters, and cells that read the same."""

from __future__ import annotations

import gzip
import json
import re

import pandas as pd
import pytest
from leaderboard_helpers import predictions, write_run

from fbn_bench.errors import FbnError
from fbn_bench.leaderboard.build import build_tables
from fbn_bench.leaderboard.long_form import to_csv
from fbn_bench.leaderboard.records import ConfigKey, Entry, SeedRun, load_entries
from fbn_bench.leaderboard.references import read_references
from fbn_bench.leaderboard.render import to_markdown
from fbn_bench.leaderboard.tables import Settings, build_table
from fbn_bench.registry import get_registry
from fbn_bench.results import predictions_path
from fbn_bench.scoring import metric_names
from fbn_bench.tasks import TASKS

DB = "lbrobust_expr"  # not registered: metrics from the records, unit from the columns


@pytest.fixture
def two_configs(tmp_path):
    """mt (2 seeds) and the baseline st (2 seeds), 10 subjects each."""
    for seed in range(2):
        write_run(tmp_path, f"mt-{seed}", {DB: predictions(tasks=("expr",), quality=0.8, seed=seed)}, seed=seed)
        write_run(
            tmp_path,
            f"st-{seed}",
            {DB: predictions(tasks=("expr",), quality=0.5, seed=10 + seed)},
            tasks=("expr",),
            seed=seed,
        )
    return tmp_path


def _row(table, tasks):
    (row,) = [r for r in table.rows if r.key.tasks == tasks]
    return row


def _damage(path, how):
    if how == "missing":
        path.unlink()
    elif how == "fewer rows":
        frame = pd.read_csv(path)
        frame.head(len(frame) - 5).to_csv(path, index=False, compression="gzip")
    elif how == "fewer columns":
        pd.read_csv(path).drop(columns=["pred_expression"]).to_csv(path, index=False, compression="gzip")


@pytest.mark.parametrize(
    "how, reason",
    [
        ("missing", "no predictions file"),
        ("fewer rows", "45 labelled samples for macro_f1 where the records scored 50"),
        ("fewer columns", "without the expr columns"),
    ],
)
def test_a_row_whose_seeds_do_not_all_have_predictions_shows_no_interval_and_says_why(two_configs, how, reason):
    _damage(predictions_path(two_configs / "mt-1", DB), how)
    (table,) = build_tables([two_configs], Settings(resamples=50, baseline="tasks=expr"), [], registry=get_registry())
    mt = _row(table, ("va", "expr", "au"))
    assert mt.n_seeds == 2 and mt.cells["macro_f1"].n_seeds == 2
    assert all(cell.boot_ci is None for cell in mt.cells.values())
    assert mt.comparisons == {}
    text = to_markdown(table)
    main_table = text.split("\n## ")[0]  # not the per-AU and per-class sections below it
    (line,) = [x for x in main_table.splitlines() if mt.key.config_hash in x and x.startswith("| 1 ")]
    assert "[–]" in line and line.rstrip(" |").endswith("–")
    (note,) = [x for x in text.splitlines() if x.startswith("No bootstrap interval")]
    assert mt.key.config_hash in note and "seed 1, run mt-1" in note and reason in note and "mt-0" not in note
    # The other rows keep their intervals.
    assert all(c.boot_ci is not None for c in _row(table, ("expr",)).cells.values())


def test_a_baseline_without_every_seeds_predictions_compares_no_row(two_configs):
    _damage(predictions_path(two_configs / "st-0", DB), "missing")
    (table,) = build_tables([two_configs], Settings(resamples=50, baseline="tasks=expr"), [], registry=get_registry())
    assert all(r.comparisons == {} for r in table.rows)
    assert any("no row compared with it" in n and "seed 0, run st-0" in n for n in table.notes)


def _record_lines(run_dir):
    return (run_dir / "results.jsonl").read_text().splitlines()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: {k: v for k, v in r.items() if k != "dataset"}, "the record has no 'dataset'"),
        (lambda r: [r], "not a result record (a JSON list, not an object)"),
        (lambda r: {**r, "value": "abc"}, "'value' must be a finite number, got 'abc'"),
        (lambda r: {**r, "value": [0.1]}, "'value' must be a finite number, got [0.1]"),
        (lambda r: {**r, "value": None}, "'value' must be a finite number, got None"),
        (lambda r: {**r, "value": float("nan")}, "'value' must be a finite number, got nan"),
        (lambda r: {**r, "value": "0.5"}, "'value' must be a finite number, got '0.5'"),
        (lambda r: {**r, "value": True}, "'value' must be a finite number, got True"),
        (lambda r: {**r, "seed": "zero"}, "'seed' must be an integer, got 'zero'"),
        (lambda r: {**r, "n_samples": "50"}, "'n_samples' must be a non-negative integer"),
        (lambda r: {**r, "image_size": "big"}, "'image_size' must be an integer"),
        (lambda r: {**r, "config": [1]}, "'config' must be an object"),
    ],
)
def test_a_malformed_record_is_a_one_line_error_naming_its_line(two_configs, edit, message):
    run_dir = two_configs / "mt-1"
    lines = _record_lines(run_dir)
    lines[2] = json.dumps(edit(json.loads(lines[2])))
    (run_dir / "results.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(FbnError) as caught:
        load_entries([two_configs])
    text = str(caught.value)
    assert "\n" not in text and text.startswith(f"{run_dir / 'results.jsonl'}:3: ")
    assert message in text and "remove or fix the line" in text


def test_the_line_named_counts_blank_lines(two_configs):
    run_dir = two_configs / "mt-0"
    lines = _record_lines(run_dir)
    lines[1] = json.dumps({**json.loads(lines[1]), "value": None})
    (run_dir / "results.jsonl").write_text("\n\n".join(lines) + "\n")  # record 2 is on line 3
    with pytest.raises(FbnError, match=r"results\.jsonl:3: 'value'"):
        load_entries([two_configs])


@pytest.mark.parametrize(
    "content",
    [
        b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1234\n",  # a Git LFS pointer
        gzip.compress(b""),
        gzip.compress(b"image,expression\n")[:-6],  # cut short
    ],
)
def test_unreadable_predictions_are_a_one_line_error_naming_the_file(two_configs, content):
    path = predictions_path(two_configs / "st-1", DB)
    path.write_bytes(content)
    with pytest.raises(FbnError) as caught:
        build_tables([two_configs], Settings(resamples=20), [], registry=get_registry())
    text = str(caught.value)
    assert "\n" not in text and text.startswith(f"{path}: not readable predictions") and "git lfs pull" in text


def _reference(metrics: str) -> str:
    return f'[[reference]]\ndatabase = "x"\nmethod = "m"\ncitation = "c"\nmetrics = {{ {metrics} }}\n'


def test_references_accept_every_metric_the_tables_can_show(tmp_path):
    path = tmp_path / "references.toml"
    names = [m for _, m in metric_names(TASKS, (1, 12))]
    assert "mean_class_accuracy" in names
    path.write_text(_reference(", ".join(f'"{m}" = 0.5' for m in names)))  # quoted: f1_mean@0.5 is no bare key
    (ref,) = read_references(path)
    assert sorted(ref.metrics) == sorted(names)


@pytest.mark.parametrize(
    "metrics", ["macro_f1 = 85.2", "f1_AU12 = -0.1", "ccc_mean = 1.5", "accuracy = inf", "abaw_mtl = 149.4"]
)
def test_references_out_of_range_say_values_are_fractions(tmp_path, metrics):
    path = tmp_path / "references.toml"
    path.write_text(_reference(metrics))
    with pytest.raises(FbnError, match="outside .*values are fractions, not percent"):
        read_references(path)
    path.write_text(_reference("ccc_valence = -0.4, macro_f1 = 0.852"))  # in range: accepted
    assert read_references(path)[0].metrics == {"ccc_valence": -0.4, "macro_f1": 0.852}
    path.write_text(_reference("abaw_mtl = 1.494"))  # ABAW's sum of three scores: up to 3
    assert read_references(path)[0].metrics == {"abaw_mtl": 1.494}


def test_reference_rows_name_the_file_next_to_the_table_not_the_default_folder(tmp_path):
    from fbn_bench.leaderboard.build import render_all

    out = tmp_path / "boards"
    out.mkdir()
    (out / "references.toml").write_text(_reference("accuracy = 0.5").replace('"x"', '"refdb"'))
    text = render_all(out, registry=get_registry())["refdb.md"]
    assert "leaderboards/references.toml" not in text and "[`references.toml`](references.toml)" in text


@pytest.mark.parametrize("subjects, warned", [(2, True), (9, True), (10, False)])
def test_few_clusters_get_a_note_that_intervals_and_p_values_are_rough(tmp_path, subjects, warned):
    for seed in range(2):
        write_run(
            tmp_path, f"mt-{seed}", {DB: predictions(subjects, tasks=("expr",), quality=0.8, seed=seed)}, seed=seed
        )
        write_run(
            tmp_path,
            f"st-{seed}",
            {DB: predictions(subjects, tasks=("expr",), quality=0.5, seed=9 + seed)},
            tasks=("expr",),
            seed=seed,
        )
    (table,) = build_tables([tmp_path], Settings(resamples=50, baseline="tasks=expr"), [], registry=get_registry())
    text = to_markdown(table)
    note = f"bootstrap intervals and p-values rest on only {subjects} subjects and are rough"
    assert (note in text) is warned
    # Without predictions nothing is resampled, so nothing to warn about.
    for file in tmp_path.glob("*/predictions/*"):
        file.unlink()
    (table,) = build_tables([tmp_path], Settings(resamples=50), [], registry=get_registry())
    assert "rest on only" not in to_markdown(table)


def _entry(tmp_path, tasks, values):
    """A configuration whose seeds scored `values` in accuracy (no predictions stored)."""
    runs = [SeedRun(f"{'+'.join(tasks)}-{s}", s, tmp_path, {"accuracy": v}) for s, v in enumerate(values)]
    return Entry(DB, "test", ConfigKey("+".join(tasks), "small", tasks, "none", None, 64), runs)


def test_cells_that_read_the_same_are_all_bold(tmp_path):
    entries = [_entry(tmp_path, ("expr",), [1e-6, 1e-6]), _entry(tmp_path, ("va", "expr"), [0.0, 0.0])]
    table = build_table(DB, entries, Settings(resamples=20))
    cells = re.findall(r"\| +(\*\*)?0\.000(\*\*)? ±", to_markdown(table))
    assert len(cells) == 2 and all(bold == ("**", "**") for bold in cells)


def test_csv_has_no_negative_zero(tmp_path):
    table = build_table(DB, [_entry(tmp_path, ("expr",), [0.0, -1e-9])], Settings(resamples=20))
    csv = to_csv(table)
    assert "-0.0" not in csv and ",0.0," in csv


def test_rows_differing_only_in_budget_are_told_apart():
    """Ablation v2 holds all-none at the equal budget and to convergence: labels, the steps column and a
    baseline must keep them apart."""
    from fbn_bench.leaderboard.records import _key
    from fbn_bench.leaderboard.render import budget_text
    from fbn_bench.leaderboard.tables import matches_baseline

    base = {"config_hash": "aaa", "tasks": ["va", "expr", "au"], "coupling": "none", "backbone": "small"}
    equal = _key({**base, "config": {"steps": 800, "patience": None}}, "r")
    longer = _key({**base, "config_hash": "bbb", "config": {"steps": 2400, "patience": 3}}, "r")
    assert equal.label() != longer.label() and longer.label().endswith("<= 2400 steps, patience 3")
    assert (budget_text(equal), budget_text(longer)) == ("800", "<= 2400, patience 3")
    text = "tasks=va+expr+au,coupling=none"
    assert matches_baseline(equal, text) and matches_baseline(longer, text)  # ambiguous: build refuses it
    assert matches_baseline(equal, text + ",patience=") and not matches_baseline(longer, text + ",patience=")
    assert matches_baseline(longer, text + ",steps=2400") and not matches_baseline(equal, text + ",steps=2400")
    with pytest.raises(FbnError, match="'steps' must be an integer"):
        _key({**base, "config": {"steps": "many"}}, "r")


def test_a_leaderboard_built_outside_the_repository_links_docs_that_exist(tmp_path):
    import re

    from fbn_bench.leaderboard.build import render_all

    out = tmp_path / "elsewhere" / "boards"
    out.mkdir(parents=True)
    (out / "references.toml").write_text(_reference("accuracy = 0.5").replace('"x"', '"refdb"'))
    files = render_all(out, registry=get_registry())
    for name in ("README.md", "refdb.md"):
        (link,) = re.findall(r"\[docs/leaderboards\.md\]\(([^)]+)\)", files[name])
        assert (out / link).resolve().is_file(), (name, link)
    assert "`records/` holds no result records" in files["README.md"]  # built from its own (empty) store
