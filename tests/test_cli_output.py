"""Output a person can read: the results table `run` and `evaluate` print, `run --help`, and no progress
bars in a redirected stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.metrics import f1_score

from fbn_bench.cli import cli
from fbn_bench.cli.results_table import results_table
from fbn_bench.results import write_predictions
from fbn_bench.tasks import EXPRESSIONS

EXPR = ["neutral", "neutral", "neutral", "anger", "happiness", "neutral"]
AU1 = [1, 0, 0, 0, 1, np.nan]  # one sample not AU-labelled: the AU task's n is 5, the expression task's 6
PRED_EXPR = ["anger", "neutral", "neutral", "anger", "anger", "neutral"]


def _record(task, metric, value, n):
    return {"dataset": "db", "task": task, "metric": metric, "value": value, "n_samples": n}


@pytest.fixture
def scored_run(tmp_path):
    frame = pd.DataFrame(
        {"expression": EXPR, "pred_expression": PRED_EXPR, "AU1": AU1, "prob_AU1": [0.9, 0.2, 0.7, 0.1, 0.6, 0.5]}
    )
    write_predictions(tmp_path, "db", frame)
    records = [  # in the order the scorer does not promise: the headline must still come first
        _record("expr", "accuracy", 4 / 6, 6),
        _record("expr", "macro_f1", 0.56789, 6),
        _record("au", "f1_AU1", 0.8, 5),
        _record("au", "f1_mean", 0.8, 5),
    ]
    return records, tmp_path


def _rows(text):
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()[2:] if line.startswith("|")]


def test_headline_first_three_decimals_and_a_trivial_baseline_beside_each_score(scored_run):
    records, run_dir = scored_run
    rows = _rows(results_table(records, run_dir))
    assert [(r[1], r[2]) for r in rows] == [("expr", "macro_f1"), ("expr", "accuracy"), ("au", "f1_mean")]
    assert [r[3] for r in rows] == ["0.568", "0.667", "0.800"]
    labelled = ~np.isnan(AU1)
    majority = ["neutral"] * len(EXPR)  # the most frequent expression, scored by sklearn
    declared = list(EXPRESSIONS)  # macro-F1 is over the declared classes (docs/metrics.md)
    expected = [
        f1_score(EXPR, majority, labels=declared, average="macro", zero_division=0),
        EXPR.count("neutral") / len(EXPR),
        f1_score(np.array(AU1)[labelled], np.ones(labelled.sum()), zero_division=0),  # every AU present
    ]
    assert [float(r[4]) for r in rows] == pytest.approx(expected, abs=5e-4)
    assert all(len(r[4].split(".")[1]) == 3 for r in rows)


def test_per_class_scores_only_on_request_and_partial_labels_explained(scored_run):
    records, run_dir = scored_run
    records = records + [
        _record("au", "ap_AU1", 0.7, 5),
        _record("au", "auc_AU1", 0.6, 5),
        _record("au", "f1_AU1@0.5", 0.5, 5),
        _record("expr", "f1_anger", 0.8, 6),
        _record("expr", "recall_anger", 1.0, 6),
        _record("au", "ap_mean", 0.7, 5),  # a summary after per-AU ones: printed before them
    ]
    short = results_table(records, run_dir)
    assert "f1_AU1" not in short and "f1_anger" not in short and "--per-class" in short
    assert "partial labels" in short and "db label only some" in short  # n is 6 for expr, 5 for au
    printed = [(r[1], r[2]) for r in _rows(results_table(records, run_dir, per_class=True))]
    assert [m for t, m in printed if t == "au"] == ["f1_mean", "ap_mean", "f1_AU1", "ap_AU1"]
    assert [m for t, m in printed if t == "expr"] == ["macro_f1", "accuracy", "f1_anger", "recall_anger"]
    full = set(printed)
    assert {("au", "f1_AU1"), ("au", "ap_AU1"), ("expr", "f1_anger"), ("expr", "recall_anger")} <= full
    assert not {("au", "auc_AU1"), ("au", "f1_AU1@0.5")} & full  # in results.jsonl, not printed
    same_n = [r for r in records if r["task"] == "expr"]
    assert "partial labels" not in results_table(same_n, run_dir)


def test_run_help_shows_every_default_and_each_preset():
    text = " ".join(CliRunner().invoke(cli, ["run", "--help"]).output.split())
    for needle in ("Optimiser steps; wins over --epochs (default 800; paper preset: none)",
                   "(default 96; paper preset: 192)", "(default 0.0005; paper preset: 0.0001)",
                   "(default 64; paper preset: 96", "quick: a compact CNN", "paper: the paper's setting"):  # fmt: skip
        assert needle in text, needle


def test_run_with_a_redirected_stderr_writes_no_progress_bars(tmp_path):
    from engine_toy_plugin import write_toy

    root = write_toy(tmp_path / "toy", n_train=24, n_test=8)
    tests = str(Path(__file__).parent)
    env = {**os.environ, "FBN_BENCH_PLUGINS": "engine_toy_plugin",
           "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    with open(tmp_path / "err.log", "w") as err:  # a file, not a terminal
        proc = subprocess.run(
            [sys.executable, "-m", "fbn_bench", "run", "--datasets", f"toy:root={root}", "--tasks", "expr",
             "--steps", "3", "--batch-size", "8", "--image-size", "16", "--cpu", "--out", str(tmp_path / "run")],
            stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=tmp_path,
        )  # fmt: skip
    log = (tmp_path / "err.log").read_text()
    assert proc.returncode == 0, log
    assert "\r" not in log and "it/s" not in log and "train:" not in log
    assert "run " in log and "EXPR-Set" in log  # the run's one-line summary still goes to the log
    assert "macro_f1" in proc.stdout
