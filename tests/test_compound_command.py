"""`fbn-bench compound` end to end on a toy run and a small synthetic compound database: records, their
replacement on a second scoring, the table, and one-line errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_engine import toy_config

from fbn_bench import FbnError
from fbn_bench.cli import cli
from fbn_bench.compound import COMPOUND_FILE, compound_evaluation
from fbn_bench.experiment import run_experiment

SMALL = "synth-rafdb-compound:scale=0.2"


@pytest.fixture(scope="module")
def toy_run(toy_root, registry, tmp_path_factory):
    return run_experiment(toy_config(toy_root, tmp_path_factory.mktemp("runs") / "mt"), registry, progress=False)


def test_records_cover_every_scorer_learner_and_k_and_a_rescoring_replaces_them(toy_run, registry):
    kwargs = dict(shots=(1, 3), episodes=2, progress=False)
    first = compound_evaluation(toy_run.run_dir, (SMALL,), registry, **kwargs)
    methods = {(r["features"], r["protocol"], r["method"], r["k"]) for r in first.records}
    for features in ("trained", "untrained"):
        for scorer in ("pair", "au-template", "au-components", "mix"):
            assert (features, "zero-shot", scorer, 0) in methods
        for learner in ("logreg-features", "ncm-cosine", "logreg-probs", "finetune-last"):
            assert {(features, "few-shot", learner, 1), (features, "few-shot", learner, 3)} <= methods
    few = [r for r in first.records if r["protocol"] == "few-shot"]
    assert all(len(r["per_episode"]) == 2 and r["episodes"] == 2 for r in few)
    assert {r["run_id"] for r in first.records} == {toy_run.records[0]["run_id"]}
    compound_evaluation(toy_run.run_dir, (SMALL,), registry, **kwargs)
    lines = (toy_run.run_dir / COMPOUND_FILE).read_text().splitlines()
    assert len(lines) == len(first.records)  # scored again: replaced, not appended
    (picture,) = first.pictures
    assert picture.parent == toy_run.run_dir / "compound" and picture.name.endswith("-confusion.png")
    assert picture.read_bytes()[:4] == b"\x89PNG"


def test_a_database_without_compound_classes_is_one_line(toy_run, registry):
    with pytest.raises(FbnError, match="dataset 'synth-rafdb' declares no compound classes; compound databases: "):
        compound_evaluation(toy_run.run_dir, ("synth-rafdb",), registry, progress=False)


def test_an_unknown_learner_is_one_line(toy_run, registry):
    with pytest.raises(FbnError, match="few-shot learner 'svm' is unknown"):
        compound_evaluation(toy_run.run_dir, (SMALL,), registry, learners=("svm",), progress=False)


def test_the_command_prints_a_table_and_json(toy_run, monkeypatch):
    monkeypatch.setenv("FBN_BENCH_PLUGINS", "engine_toy_plugin")
    args = ["compound", str(toy_run.run_dir), "--datasets", SMALL, "--few-shot", "2", "--episodes", "2"]
    table = CliRunner().invoke(cli, [*args, "--zero-shot", "pair", "--no-progress"])
    assert table.exit_code == 0, table.output
    assert "| synth-rafdb-compound" in table.output and "chance UAR" in table.output
    as_json = CliRunner().invoke(cli, [*args, "--zero-shot", "", "--json", "--no-baseline"])
    assert as_json.exit_code == 0, as_json.output
    records = json.loads(as_json.output)["records"]
    assert {r["protocol"] for r in records} == {"few-shot"} and {r["features"] for r in records} == {"trained"}
    bad = CliRunner().invoke(cli, [*args, "--few-shot", "one"])
    assert bad.exit_code == 2 and "--few-shot takes whole numbers" in bad.output


def test_a_va_network_skips_what_needs_expression_or_au_heads_and_says_so(toy_root, registry, tmp_path):
    """A single-task VA network is a baseline the compound table compares with: its features are scored,
    and the scorers and the learner of probabilities, which need heads it lacks, are skipped with a note."""
    run = run_experiment(toy_config(toy_root, tmp_path / "va", tasks=("va",)), registry, progress=False)
    outcome = compound_evaluation(run.run_dir, (SMALL,), registry, shots=(1,), episodes=2, progress=False)
    methods = {(r["features"], r["protocol"], r["method"]) for r in outcome.records}
    assert {("trained", "few-shot", m) for m in ("logreg-features", "ncm-cosine", "finetune-last")} <= methods
    assert not {m for m in methods if m[1] == "zero-shot" or m[2] == "logreg-probs"}
    assert any(n.startswith("few-shot logreg-probs: skipped") for n in outcome.notes)
    assert any(n.startswith("zero-shot pair: skipped") for n in outcome.notes)
