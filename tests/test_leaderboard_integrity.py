"""`leaderboard build --check` re-scores every record from its stored predictions; the store prunes runs
that a later run of the same configuration and seed replaces."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from leaderboard_helpers import predictions, write_run
from sklearn.metrics import f1_score

from fbn_bench.cli import cli
from fbn_bench.leaderboard.store import superseded_runs
from fbn_bench.results import RESULTS_FILE, read_predictions, read_records


def _invoke(*args):
    return CliRunner().invoke(cli, list(map(str, args)), obj={"debug": False})


def _edit(results: Path, metric: str, dataset: str, value: float) -> int:
    """Set `metric` of `dataset` to `value` in a results file; returns the 1-based line edited."""
    lines = results.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        record = json.loads(line)
        if record["metric"] == metric and record["dataset"] == dataset:
            record["value"] = value
            lines[number - 1] = json.dumps(record, sort_keys=True)
            results.write_text("\n".join(lines) + "\n")
            return number
    raise AssertionError(f"no {metric} record of {dataset} in {results}")


def test_check_fails_on_a_record_its_stored_predictions_contradict(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "boards"
    for seed in range(2):
        frames = {"lb_all": predictions(quality=0.6, seed=seed), "lb_expr": predictions(tasks=("expr",), seed=seed)}
        write_run(runs, f"r{seed}", frames, seed=seed)
    assert _invoke("leaderboard", "add", *sorted(runs.iterdir()), "--out", out).exit_code == 0
    assert _invoke("leaderboard", "build", "--out", out, "--resamples", 20).exit_code == 0
    # The store's predictions are rounded (CCC, AU probabilities) and still give back every record's value.
    clean = _invoke("leaderboard", "build", "--out", out, "--check", "--resamples", 20)
    assert clean.exit_code == 0, clean.output
    n_records = sum(1 for _ in read_records(out / "records"))
    assert f"{n_records} record value(s) match their stored predictions" in clean.output

    line = _edit(out / "records" / "r1" / RESULTS_FILE, "macro_f1", "lb_all", 0.95)
    edited = _invoke("leaderboard", "build", "--out", out, "--check", "--resamples", 20)
    assert edited.exit_code == 2
    assert len(edited.output.strip().splitlines()) == 1
    assert f"records/r1/{RESULTS_FILE}:{line}: run r1 records macro_f1 = 0.95 for lb_all" in edited.output
    frame = read_predictions(out / "records" / "r1", "lb_all")
    truth = f1_score(frame["expression"], frame["pred_expression"], average="macro")  # independent of fbn_bench
    assert f"score {truth:.4f}" in edited.output
    assert "more record" not in edited.output  # one record was edited, one is named


def test_check_names_the_first_of_several_wrong_records_and_counts_the_rest(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "boards"
    write_run(runs, "r0", {"lb_va": predictions(tasks=("va",))}, tasks=("va",))
    _invoke("leaderboard", "add", runs / "r0", "--out", out)
    _invoke("leaderboard", "build", "--out", out, "--resamples", 20)
    _edit(out / "records" / "r0" / RESULTS_FILE, "ccc_valence", "lb_va", 0.99)
    _edit(out / "records" / "r0" / RESULTS_FILE, "ccc_mean", "lb_va", 0.99)
    result = _invoke("leaderboard", "build", "--out", out, "--check", "--resamples", 20)
    assert result.exit_code == 2 and "(and 1 more record(s))" in result.output


def _seed_run(root: Path, run_id: str, created: str, seed: int = 0, quality: float = 0.6) -> Path:
    frames = {"lb_expr": predictions(tasks=("expr",), quality=quality, seed=seed)}
    return write_run(root, run_id, frames, tasks=("expr",), seed=seed, created=created)


def test_add_removes_stored_runs_a_later_run_of_the_same_seed_replaces(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "boards"
    _seed_run(runs, "old-s0", "2024-01-01T00:00:00")
    _seed_run(runs, "old-s1", "2024-01-01T00:00:00", seed=1)
    assert _invoke("leaderboard", "add", runs / "old-s0", runs / "old-s1", "--out", out).exit_code == 0
    _seed_run(runs, "new-s0", "2024-02-01T00:00:00", quality=0.9)
    added = _invoke("leaderboard", "add", runs / "new-s0", "--out", out)
    assert added.exit_code == 0, added.output
    assert "removed" in added.output and "old-s0: superseded by new-s0" in added.output
    # seed 1 has no newer run: it stays, and the table still pools two seeds
    assert sorted(p.name for p in (out / "records").iterdir()) == ["new-s0", "old-s1"]
    assert _invoke("leaderboard", "build", "--out", out, "--resamples", 20).exit_code == 0
    assert _invoke("leaderboard", "build", "--out", out, "--check", "--resamples", 20).exit_code == 0


def test_a_run_is_kept_while_any_of_its_records_counts(tmp_path):
    store = tmp_path / "records"
    both = {"lb_expr": predictions(tasks=("expr",)), "lb_au": predictions(tasks=("au",))}
    write_run(store, "both", both, created="2024-01-01T00:00:00")
    write_run(store, "expr-only", {"lb_expr": predictions(tasks=("expr",))}, created="2024-02-01T00:00:00")
    assert superseded_runs(store) == {}  # its AU records are the only ones of their seed
    write_run(store, "au-later", {"lb_au": predictions(tasks=("au",))}, created="2024-03-01T00:00:00")
    assert superseded_runs(store) == {"both": "au-later"}


def test_check_flags_a_committed_store_that_keeps_a_superseded_run_and_build_prunes_it(tmp_path):
    out = tmp_path / "boards"
    _seed_run(out / "records", "old", "2024-01-01T00:00:00")
    _invoke("leaderboard", "build", "--out", out, "--resamples", 20)
    shutil.copytree(_seed_run(tmp_path / "runs", "new", "2024-02-01T00:00:00"), out / "records" / "new")
    check = _invoke("leaderboard", "build", "--out", out, "--check", "--resamples", 20)
    assert check.exit_code == 2 and "records/old is superseded by new" in check.output
    built = _invoke("leaderboard", "build", "--out", out, "--resamples", 20)
    assert built.exit_code == 0 and not (out / "records" / "old").exists()
    assert _invoke("leaderboard", "build", "--out", out, "--check", "--resamples", 20).exit_code == 0


def test_an_interrupted_add_keeps_the_stored_copy_whole(tmp_path, monkeypatch):
    import fbn_bench.leaderboard.store as store_mod

    runs, store = tmp_path / "runs", tmp_path / "records"
    run = _seed_run(runs, "r0", "2024-01-01T00:00:00")
    store_mod.add_runs([run], store)
    before = (store / "r0" / RESULTS_FILE).read_text()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as a Ctrl-C while the predictions are compacted

    monkeypatch.setattr(store_mod, "write_predictions", killed)
    with pytest.raises(KeyboardInterrupt):
        store_mod.add_runs([run], store)
    assert sorted(p.name for p in store.iterdir()) == ["r0"]  # no temporary left, the old copy in place
    assert (store / "r0" / RESULTS_FILE).read_text() == before
    assert read_predictions(store / "r0", "lb_expr").shape[0] == 50


def test_a_temporary_copy_a_killed_add_left_is_never_read_and_is_removed_later(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "boards"
    _seed_run(runs, "r0", "2024-01-01T00:00:00")
    _invoke("leaderboard", "add", runs / "r0", "--out", out)
    _invoke("leaderboard", "build", "--out", out, "--resamples", 20)
    table = (out / "lb_expr.md").read_text()
    half = out / "records" / ".tmp-r1.abc123"
    newer = _seed_run(runs, "r1", "2024-02-01T00:00:00", quality=0.95)  # would replace r0 if it were read
    shutil.copytree(newer, half)  # what SIGKILL mid-add leaves
    built = _invoke("leaderboard", "build", "--out", out, "--resamples", 20)
    assert built.exit_code == 0 and "superseded" not in built.output and (out / "records" / "r0").is_dir()
    assert (out / "lb_expr.md").read_text() == table
    assert _invoke("leaderboard", "build", "--out", out, "--check", "--resamples", 20).exit_code == 0
    old = time.time() - 7200
    os.utime(half, (old, old))
    _invoke("leaderboard", "add", runs / "r0", "--out", out)
    assert not half.exists()


def test_a_leaderboards_folder_that_cannot_be_written_is_one_line(tmp_path):
    runs = tmp_path / "runs"
    _seed_run(runs, "r0", "2024-01-01T00:00:00")
    out = tmp_path / "boards"
    out.write_text("a file, not a folder")
    result = _invoke("leaderboard", "build", "--results", runs, "--out", out, "--resamples", 20)
    assert result.exit_code == 2 and result.output.startswith(f"Error: --out {out} is a file")
    boards = tmp_path / "ok"
    boards.mkdir()
    (boards / "README.md").mkdir()  # a folder where the index goes
    result = _invoke("leaderboard", "build", "--results", runs, "--out", boards, "--resamples", 20)
    assert result.exit_code == 2 and result.output.startswith("Error: cannot write "), result.output
    assert len(result.output.strip().splitlines()) == 1


def test_check_scores_au_f1_at_the_thresholds_the_records_name(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "boards"
    frame = predictions(tasks=("au",), quality=0.6)
    run = write_run(runs, "r0", {"lb_au": frame}, tasks=("au",))
    thresholds = {1: 0.3, 2: 0.65, 12: 0.3}  # as chosen on validation
    per_au = {}
    for au, t in thresholds.items():  # sklearn on the labelled rows, at each AU's threshold
        rows = frame[f"AU{au}"].notna()
        per_au[au] = f1_score(frame.loc[rows, f"AU{au}"], frame.loc[rows, f"prob_AU{au}"] >= t)
    lines = []
    for record in read_records(run / RESULTS_FILE):
        if record["metric"] == "f1_mean":
            record.update(value=sum(per_au.values()) / 3, thresholds={str(a): t for a, t in thresholds.items()})
            record["threshold_source"] = "val"
        elif record["metric"] in {f"f1_AU{a}" for a in thresholds}:
            au = int(record["metric"][5:])
            record.update(value=per_au[au], threshold=thresholds[au], threshold_source="val")
        lines.append(json.dumps(record, sort_keys=True))
    (run / RESULTS_FILE).write_text("\n".join(lines) + "\n")
    _invoke("leaderboard", "add", run, "--out", out)
    _invoke("leaderboard", "build", "--out", out, "--resamples", 20)
    checked = _invoke("leaderboard", "build", "--out", out, "--check", "--resamples", 20)
    assert checked.exit_code == 0, checked.output
    # The same values claimed at 0.5 are not what the predictions give.
    stored = out / "records" / "r0" / RESULTS_FILE
    stored.write_text(stored.read_text().replace('"threshold_source": "val"', '"threshold_source": "fixed-0.5"'))
    at_half = _invoke("leaderboard", "build", "--out", out, "--check", "--resamples", 20)
    assert at_half.exit_code == 2 and "run r0 records f1_" in at_half.output


def test_stored_predictions_give_back_every_float32_output_exactly(tmp_path):
    # A barely trained model's probabilities differ in the sixth digit; stored with fewer digits they tie, and
    # the ranking metrics of its records no longer re-score from the file (the check then fails on a true record).
    import numpy as np
    import pandas as pd

    from fbn_bench.results import read_predictions, write_predictions

    rng = np.random.default_rng(0)
    probs = (0.5 + rng.normal(0, 1e-5, 500)).astype(np.float32)
    write_predictions(tmp_path, "db", pd.DataFrame({"image": [f"{i}.png" for i in range(500)], "prob_AU1": probs}))
    back = read_predictions(tmp_path, "db")["prob_AU1"].to_numpy()
    assert np.array_equal(back.astype(np.float32), probs) and len(np.unique(back)) == len(np.unique(probs))
