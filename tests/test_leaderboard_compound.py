"""Compound records in the leaderboards: `leaderboard add` keeps them, `build` makes one table per compound
database whose values and intervals resample seeds and episodes, and a later run of a seed replaces it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from leaderboard_helpers import predictions, write_run

from fbn_bench.compound import COMPOUND_FILE
from fbn_bench.leaderboard.build import render_all
from fbn_bench.leaderboard.compound_tables import mean_and_interval
from fbn_bench.leaderboard.store import add_runs
from fbn_bench.leaderboard.tables import Settings
from fbn_bench.registry import get_registry

DB = "synth-rafdb-compound"


def _compound(run_dir, episodes: list[float], zero: float):
    base = {"run_id": run_dir.name, "dataset": DB, "features": "trained", "chance": {"uar": 1 / 11}, "n": 100}
    records = [
        {**base, "protocol": "zero-shot", "method": "pair", "k": 0, "metric": "uar", "value": zero},
        {
            **base,
            "protocol": "few-shot",
            "method": "ncm-cosine",
            "k": 5,
            "metric": "uar",
            "value": float(np.mean(episodes)),
            "per_episode": episodes,
        },
    ]
    (run_dir / COMPOUND_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def store(tmp_path):
    runs = tmp_path / "runs"
    for seed, (episodes, zero) in enumerate((([0.2, 0.3], 0.25), ([0.4, 0.5, 0.6], 0.35))):
        run = write_run(runs, f"r{seed}", {"synth-rafdb": predictions(tasks=("expr",))}, tasks=("expr",), seed=seed)
        _compound(run, episodes, zero)
    store = tmp_path / "board" / "records"
    add_runs([runs], store)
    return store


def test_add_keeps_the_compound_records(store):
    assert sorted(p.parent.name for p in store.rglob(COMPOUND_FILE)) == ["r0", "r1"]


def test_the_compound_table_means_seeds_of_episode_means(store):
    files = render_all(store.parent, registry=get_registry())
    table = files[f"{DB}.md"]
    few = next(line for line in table.splitlines() if "ncm-cosine" in line)
    # seed 0: mean 0.25, seed 1: mean 0.5 -> 0.375, two seeds, up to three episodes
    assert "| few-shot | ncm-cosine | 5 | 2 | 3 | 0.375 [" in few
    zero = next(line for line in table.splitlines() if "| pair |" in line)
    assert "| zero-shot | pair | - | 2 | - | 0.300 [" in zero
    assert f"[{DB}]({DB}.md)" in files["README.md"]


def test_a_later_run_of_a_seed_replaces_it(store, tmp_path):
    again = write_run(
        tmp_path / "rerun",
        "r0-again",
        {"synth-rafdb": predictions(tasks=("expr",))},
        tasks=("expr",),
        seed=0,
        created="2025-01-01T00:00:00",
    )
    _compound(again, [0.9, 0.9], 0.9)
    add_runs([again], store)
    few = next(
        line for line in render_all(store.parent, registry=get_registry())[f"{DB}.md"].splitlines() if "ncm" in line
    )
    assert "| 2 | 3 | 0.700 [" in few  # (0.9 + 0.5) / 2: the old seed-0 run no longer counts


def test_the_interval_resamples_seeds_then_episodes():
    one = mean_and_interval({0: [0.5]}, 200, 0.95, 0)
    assert one == (0.5, None)  # one seed, one value: nothing to resample
    mean, (low, high) = mean_and_interval({0: [0.2, 0.3], 1: [0.4, 0.5, 0.6]}, 2000, 0.95, 0)
    assert mean == pytest.approx(0.375) and 0.2 <= low < mean < high <= 0.6
    settings = Settings()
    assert mean_and_interval({0: [0.1, 0.9]}, settings.resamples, settings.confidence, 1)[1][0] < 0.5


def test_a_table_never_mixes_records_scored_on_different_data(tmp_path):
    """Old-world and new-world runs of synth-rafdb share the name, not the test set."""
    from fbn_bench import FbnError
    from fbn_bench.leaderboard.records import load_entries

    runs = tmp_path / "runs"
    frame = predictions(tasks=("expr",))
    old = write_run(runs, "old", {"synth-rafdb": frame}, tasks=("expr",))
    new = write_run(runs, "new", {"synth-rafdb": frame}, tasks=("expr",), lr=0.01)
    lines = [json.loads(line) for line in (new / "results.jsonl").read_text().splitlines()]
    for r in lines:
        r["plugins"] = {
            "datasets": [
                {
                    "name": "synth-rafdb",
                    "text": "synth-rafdb",
                    "loader_version": "generator-2",
                    "options": {"world": "realistic"},
                }
            ]
        }
    (new / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    with pytest.raises(FbnError, match=r"records of synth-rafdb were scored on different data \('loader generator-2"):
        load_entries([runs])
    assert len(load_entries([old])) == 1  # one description (here: unrecorded) is fine


def _reference_rows(text: str) -> list[list[str]]:
    """The cells of the reported-in-papers table (header first, the |---| rule left out)."""
    lines = text.split("Reported in papers")[-1].splitlines()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines if line.startswith("|")]
    return [r for r in rows if not set("".join(r)) <= set("-:")]


def _references(board, body: str):
    (board / "references.toml").write_text(body)


PAPER = '[[reference]]\ndatabase = "{db}"\nmethod = "Paper net"\ncitation = "arXiv:0000.00000, Table 9"\nmetrics = {metrics}\n'


def test_reported_compound_numbers_sit_under_the_compound_table(store):
    from fbn_bench.leaderboard.build import build_tables

    _references(store.parent, PAPER.format(db=DB, metrics="{ uar = 0.483 }"))
    files = render_all(store.parent, registry=get_registry())
    measured, reported = files[f"{DB}.md"].split("## Reported in papers (not measured here)")
    assert "ncm-cosine" in measured and "Paper net" not in measured
    assert _reference_rows(reported) == [
        ["method", "UAR", "citation", "note"],
        ["Paper net", "0.483", "arXiv:0000.00000, Table 9", ""],
    ]
    # Never a basic-task table of its own (the file name is the compound page's).
    tables = build_tables([store], Settings(resamples=20), [], registry=get_registry())
    assert DB not in {t.database for t in tables}


def test_a_compound_database_with_reported_numbers_only_gets_a_page(tmp_path):
    board = tmp_path / "board"
    board.mkdir()
    _references(board, PAPER.format(db="rafdb-compound", metrics="{ uar = 0.483, accuracy = 0.5 }"))
    files = render_all(board, registry=get_registry())
    page = files["rafdb-compound.md"]
    assert "# rafdb-compound: compound expressions" in page and "No measured results yet." in page
    assert _reference_rows(page)[1:] == [["Paper net", "0.483", "0.500", "arXiv:0000.00000, Table 9", ""]]
    assert "[rafdb-compound](rafdb-compound.md)" in files["README.md"]


@pytest.mark.parametrize(
    "db, metrics, message",
    [
        ("rafdb-compound", "{ f1_mean = 0.5 }", r"f1_mean not reported on a compound database; use uar"),
        ("rafdb", "{ uar = 0.5 }", r"uar is a compound-expression metric and rafdb is no compound database"),
    ],
)
def test_a_reported_number_must_use_its_pages_metrics(tmp_path, db, metrics, message):
    from fbn_bench import FbnError

    board = tmp_path / "board"
    board.mkdir()
    _references(board, PAPER.format(db=db, metrics=metrics))
    with pytest.raises(FbnError, match=message):
        render_all(board, registry=get_registry())
