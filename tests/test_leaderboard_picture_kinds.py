"""The forest, per-AU and learning-curve pictures of `leaderboard build`: the interval of a paired difference
against an independent bootstrap, each picture's description against the numbers it stands for, and the
staleness check on every kind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from leaderboard_helpers import predictions, write_run

from fbn_bench.confusion import read_description
from fbn_bench.errors import FbnError
from fbn_bench.leaderboard import bootstrap
from fbn_bench.leaderboard.build import build_tables, render_all, stale_files, write_all
from fbn_bench.leaderboard.long_form import to_records
from fbn_bench.leaderboard.paired import compare
from fbn_bench.leaderboard.pictures import AUPicture, CurvesPicture, ForestPicture
from fbn_bench.leaderboard.records import load_entries
from fbn_bench.leaderboard.render import to_markdown
from fbn_bench.leaderboard.samples import Clusters
from fbn_bench.leaderboard.tables import Settings
from fbn_bench.registry import get_registry
from fbn_bench.results import RESULTS_FILE, SELECTION_FIELDS, read_records
from fbn_bench.selection import Selector
from fbn_bench.tasks import EXPRESSIONS

FOREST, AU, CURVES = "forest/lb.png", "au/lb.png", "curves/lb.png"
BASELINE = Settings(resamples=40, baseline="tasks=expr+au")


def _content(picture) -> dict:
    return json.loads(picture.description())


def _rewrite(run_dir: Path, change) -> None:
    """Apply `change(record)` (in place) to every record of a run."""
    path = run_dir / RESULTS_FILE
    records = list(read_records(path))
    for record in records:
        change(record)
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


# ---- the interval of a paired difference ---------------------------------------------------------------------


def _expr_frames(qualities, seed0):
    return [
        predictions(n_subjects=20, per_subject=1, tasks=("expr",), quality=q, seed=seed0 + i)
        for i, q in enumerate(qualities)
    ]


def test_the_interval_is_the_percentile_interval_of_an_independent_hierarchical_bootstrap():
    a, b = _expr_frames((0.8, 0.6, 0.7), 0), _expr_frames((0.5, 0.55, 0.4), 10)
    n, resamples, confidence = 20, 500, 0.9
    clusters = Clusters.of("subject", a + b)  # one sample per subject: cluster i is row i
    weights = bootstrap.resample_weights(n, resamples, np.random.default_rng(7))
    shares = tuple(bootstrap.seed_weights(3, resamples, np.random.default_rng(s)) for s in (1, 2))
    found = compare(a, b, clusters, weights, ("expr",), (), "accuracy", shares=shares, confidence=confidence)

    # The same draws, made again with numpy: rows by index, seeds by index; accuracy by hand.
    rows = np.random.default_rng(7).integers(0, n, (resamples, n))
    seeds = [np.random.default_rng(s).integers(0, 3, (resamples, 3)) for s in (1, 2)]

    def arm(frames, drawn):
        right = np.array([(f["expression"] == f["pred_expression"]).to_numpy() for f in frames], dtype=float)
        per_seed = right[:, rows].mean(axis=2)  # (seed, resample): each seed on each resample's rows
        return np.array([per_seed[drawn[k], k].mean() for k in range(resamples)])

    d = arm(a, seeds[0]) - arm(b, seeds[1])
    low, high = np.percentile(d, [5, 95])
    assert found.interval == pytest.approx((low, high), abs=1e-12)
    assert found.interval[0] < found.difference < found.interval[1]
    assert found.p_hierarchical == bootstrap.paired_p_value(d)


def test_a_constant_difference_has_a_degenerate_interval_and_one_seed_has_none():
    a, b = _expr_frames((1.0, 1.0), 0), _expr_frames((0.0, 0.0), 5)
    for f in a:
        f["pred_expression"] = f["expression"]
    for f in b:  # wrong everywhere: every resample of every seed draw differs by exactly 1
        f["pred_expression"] = [EXPRESSIONS[(EXPRESSIONS.index(e) + 1) % 7] for e in f["expression"]]
    clusters = Clusters.of("subject", a + b)
    weights = bootstrap.resample_weights(len(clusters), 100, np.random.default_rng(0))
    shares = tuple(bootstrap.seed_weights(2, 100, np.random.default_rng(s)) for s in (1, 2))
    found = compare(a, b, clusters, weights, ("expr",), (), "accuracy", shares=shares)
    assert found.difference == 1.0 and found.interval == (1.0, 1.0)
    alone = compare(a[:1], b[:1], clusters, weights, ("expr",), (), "accuracy", shares=shares)
    assert alone.interval is None  # one seed: no hierarchical p, and no interval either


# ---- a store: a holistic and a two-task configuration, two seeds each -------------------------------------------


def _curve(seed: int, shift: float) -> list[list]:
    return [[step, round(0.2 + shift + 0.001 * step + 0.01 * seed, 6)] for step in (10, 20, 30)]


@pytest.fixture
def store(tmp_path):
    runs = tmp_path / "runs"
    for seed in range(2):
        good = {"lb": predictions(tasks=("expr", "au"), quality=0.8, seed=seed), "plain": predictions(seed=seed)}
        write_run(runs, f"mt-{seed}", good, seed=seed)
        weak = {"lb": predictions(tasks=("expr", "au"), quality=0.5, seed=20 + seed)}
        write_run(runs, f"st-{seed}", weak, tasks=("expr", "au"), seed=seed)

    def with_curves(run_id, shift):
        seed = int(run_id[-1])

        def change(record):
            if record["dataset"] == "lb":  # "plain" keeps records without a curve, as the committed store
                record.update(
                    val_curve=_curve(seed, shift + (0.1 if record["task"] == "au" else 0.0)),
                    samples_seen={"va": 300, "expr": 300, "au": 600},
                    steps_run=30,
                )

        _rewrite(runs / run_id, change)

    for run_id, shift in (("mt-0", 0.0), ("mt-1", 0.0), ("st-0", 0.3), ("st-1", 0.3)):
        with_curves(run_id, shift)
    return runs


def _table(store, settings=BASELINE, database="lb"):
    (table,) = build_tables([store], settings, [], database, registry=get_registry())
    return table


def test_the_forest_picture_draws_the_tables_comparisons(store, tmp_path):
    table = _table(store)
    files = render_all(tmp_path / "boards", [store], BASELINE, registry=get_registry())
    forest = files[FOREST]
    assert isinstance(forest, ForestPicture) and "forest/plain.png" not in files  # plain: no baseline there
    content = _content(forest)
    assert [p["metric"] for p in content["panels"]] == ["macro_f1", "f1_mean"]  # one panel per task headline
    (row,) = [r for r in table.rows if not r.is_baseline]
    assert [r["config"] for r in content["rows"]] == [row.key.config_hash]
    assert row.key.label() in content["rows"][0]["label"]
    for panel in content["panels"]:
        found = row.comparisons[panel["metric"]]
        (drawn,) = panel["rows"]
        assert drawn["difference"] == pytest.approx(found.difference, abs=1e-6)
        assert drawn["interval"] == pytest.approx(list(found.interval), abs=1e-6)
        assert drawn["p_value"] == pytest.approx(found.p_value, abs=1e-6)
        assert found.interval[0] <= found.difference <= found.interval[1]
    # The interval is in the long form and in the table's Δ cell too.
    (long,) = [r for r in to_records(table) if r["metric"] == "f1_mean" and r["config"] == row.key.config_hash]
    assert (long["diff_ci_low"], long["diff_ci_high"]) == pytest.approx(row.comparisons["f1_mean"].interval, abs=1e-6)
    low, high = row.comparisons["f1_mean"].interval
    assert f"{row.comparisons['f1_mean'].difference:+.3f} [{low:+.3f}, {high:+.3f}]" in to_markdown(table)
    assert f"]({FOREST})" in files["lb.md"]


def test_the_au_picture_draws_the_seed_means_and_intervals_of_best_and_baseline(store, tmp_path):
    table = _table(store)
    entries = {e.key.config_hash: e for e in load_entries([store]) if e.database == "lb"}
    files = render_all(tmp_path / "boards", [store], BASELINE, registry=get_registry())
    picture = files[AU]
    assert isinstance(picture, AUPicture) and f"]({AU})" in files["lb.md"]
    panels = {p["metric"]: p for p in _content(picture)["panels"]}
    assert set(panels) == {"f1", "ap"}  # the helpers' records hold AP per AU as well
    best = max(table.rows, key=lambda r: r.cells["f1_mean"].mean)
    assert not best.is_baseline  # here the holistic row is best: two bars, best then baseline
    chosen = [best, next(r for r in table.rows if r.is_baseline)]
    for prefix, panel in panels.items():
        assert panel["aus"] == [1, 2, 12]
        for bars, row in zip(panel["bars"], chosen, strict=True):
            assert bars["config"] == row.key.config_hash and bars["seeds"] == 2
            for au, mean, interval in zip(panel["aus"], bars["means"], bars["intervals"]):
                values = entries[row.key.config_hash].values(f"{prefix}_AU{au}")
                assert mean == pytest.approx(np.mean(values), abs=1e-6)
                assert interval == pytest.approx(list(bootstrap.seed_interval(values, BASELINE.confidence)), abs=1e-6)

    # Records without AP per AU (the committed ablation's): the F1 panel alone.
    for run in store.iterdir():
        path = run / RESULTS_FILE
        kept = [r for r in read_records(path) if not r["metric"].startswith("ap_")]
        path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))
    files = render_all(tmp_path / "again", [store], BASELINE, registry=get_registry())
    assert [p["metric"] for p in _content(files[AU])["panels"]] == ["f1"]


def test_the_curve_picture_draws_the_seed_means_of_the_records_curves(store, tmp_path):
    files = render_all(tmp_path / "boards", [store], BASELINE, registry=get_registry())
    picture = files[CURVES]
    assert isinstance(picture, CurvesPicture) and f"]({CURVES})" in files["lb.md"]
    assert "curves/plain.png" not in files and "curves" not in files["plain.md"]  # records without val_curve
    panels = {p["task"]: p for p in _content(picture)["panels"]}
    assert set(panels) == {"expr", "au"} and panels["au"]["metric"] == "f1_mean"
    table = _table(store)
    shifts = {r.key.config_hash: 0.0 if "va" in r.key.tasks else 0.3 for r in table.rows}
    for task, per_sample in (("expr", 10), ("au", 20)):  # samples_seen / steps_run per step
        lines = panels[task]["lines"]
        assert [line["config"] for line in lines] == [r.key.config_hash for r in table.rows]  # the table's order
        for line in lines:
            shift = shifts[line["config"]] + (0.1 if task == "au" else 0.0)
            seeds = np.array([[v for _, v in _curve(seed, shift)] for seed in range(2)])
            for k, (step, samples, mean, low, high, n) in enumerate(line["points"]):
                assert step == (10, 20, 30)[k] and samples == per_sample * step and n == 2
                assert mean == pytest.approx(seeds[:, k].mean(), abs=1e-6)
                assert (low, high) == pytest.approx((seeds[:, k].min(), seeds[:, k].max()), abs=1e-6)


def test_the_check_flags_stale_and_no_longer_built_pictures_of_every_kind(store, tmp_path):
    out = tmp_path / "boards"
    files = render_all(out, [store], BASELINE, registry=get_registry())
    write_all(out, files)
    for name in (FOREST, AU, CURVES):
        assert read_description(out / name) == files[name].description()
    assert stale_files(out, files) == []

    # A changed record: the AU picture (record values) and the curve picture (val_curve) go stale.
    def change(record):
        if record["dataset"] == "lb":
            record["val_curve"][0][1] += 0.01
            record["value"] += 0.01 if record["metric"] == "f1_AU1" else 0.0

    _rewrite(store / "mt-0", change)
    problems = stale_files(out, render_all(out, [store], BASELINE, registry=get_registry()))
    assert f"{out / AU} is stale" in problems and f"{out / CURVES} is stale" in problems
    assert f"{out / FOREST} is stale" not in problems  # its numbers come from the predictions, unchanged

    # Other predictions under a run: the forest goes stale.
    write_run(
        store, "st-1", {"lb": predictions(tasks=("expr", "au"), quality=0.3, seed=77)}, tasks=("expr", "au"), seed=1
    )
    assert f"{out / FOREST} is stale" in stale_files(out, render_all(out, [store], BASELINE, registry=get_registry()))

    # Without a baseline no forest is built: the one on disk is flagged, and the next build removes it.
    plain = Settings(resamples=40)
    files = render_all(out, [store], plain, registry=get_registry())
    assert FOREST not in files and f"{out / FOREST} is no longer built" in stale_files(out, files)
    write_all(out, files)
    assert not (out / FOREST).exists() and stale_files(out, files) == []


def test_a_malformed_val_curve_is_one_line_naming_the_record(store):
    _rewrite(store / "mt-0", lambda r: r.update(val_curve=[[10, "0.5"]]) if r["dataset"] == "lb" else None)
    with pytest.raises(FbnError, match=r"mt-0/results.jsonl:\d+: 'val_curve' must be a list of \[step, finite"):
        load_entries([store])
    _rewrite(store / "mt-0", lambda r: r.update(val_curve=[[10, 0.5]], steps_run=0) if r["dataset"] == "lb" else None)
    with pytest.raises(FbnError, match="'val_curve' needs 'samples_seen' of task"):
        load_entries([store])


# ---- val_curve in the records --------------------------------------------------------------------------------


def test_annotate_writes_each_records_own_headline_at_every_validation():
    selector = Selector(val_splits=[], accelerator=None, config=None)
    selector.observe(10, 0.3, {"d/va": 0.123456789, "d/au": 0.2, "e/va": 0.9})
    selector.observe(20, 0.4, {"d/va": 0.5})  # au not scored at this validation: no point there
    selector.observe(30, None, {})
    selector.observe(40, 0.6, {"d/va": 0.25, "d/au": 0.4})
    test = [
        {"dataset": "d", "task": "va", "metric": "ccc_mean", "value": 0.1},
        {"dataset": "d", "task": "va", "metric": "ccc_valence", "value": 0.1},
        {"dataset": "d", "task": "au", "metric": "f1_AU1", "value": 0.1},
        {"dataset": "f", "task": "va", "metric": "ccc_mean", "value": 0.1},
    ]
    records = selector.annotate(test, {"va": 400, "au": 400}, 40)
    assert records[0]["val_curve"] == [[10, 0.123457], [20, 0.5], [40, 0.25]]  # 6 significant digits
    assert records[1]["val_curve"] == records[0]["val_curve"]  # every metric of a task: the task's headline
    assert records[2]["val_curve"] == [[10, 0.2], [40, 0.4]]
    assert records[3]["val_curve"] == []
    json.dumps(records)  # plain JSON, as results.jsonl holds
    assert set(records[0]) - set(test[0]) == set(SELECTION_FIELDS)  # the fields docs/protocol.md lists
