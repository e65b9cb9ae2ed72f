"""`fbn-bench run --datasets affectnet,rafdb,disfa --data-root FIXTURES`: real-format loaders, the core's
decoding and bad-image accounting, training and scoring, end to end on tiny fixtures."""

import json

import pytest
from click.testing import CliRunner
from real_fixtures_affectnet import write_affectnet_csv
from real_fixtures_disfa import write_disfa
from real_fixtures_rafdb import write_rafdb

from fbn_bench.cli import cli


@pytest.mark.slow
def test_run_on_real_format_fixtures(tmp_path):
    data = tmp_path / "data"
    affectnet = write_affectnet_csv(data)  # writes data/affectnet
    write_rafdb(data / "rafdb")
    write_disfa(data / "disfa")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--datasets",
            "affectnet,rafdb,disfa",
            "--data-root",
            str(data),
            "--steps",
            "3",
            "--batch-size",
            "12",
            "--image-size",
            "16",
            "--no-progress",
            # DISFA ships full frames, but these fixture frames are colour fields, not faces: used whole here.
            # Its faces are found in tests/test_dataset_disfa_videos.py.
            "--face-detector",
            "none",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    scored = {(r["dataset"], r["task"]) for r in records}
    assert scored == {("affectnet", "va"), ("affectnet", "expr"), ("rafdb", "expr"), ("disfa", "au")}
    # The AffectNet fixture leaves a listed image off disk and has rows the loader drops (NULL, no face
    # box, uncertain): all are counted, never silently dropped.
    test_rows = affectnet.rows["test"]
    missing = sum(not row.image_exists for row in test_rows)
    assert missing >= 1
    by_affectnet = [r for r in records if r["dataset"] == "affectnet" and r["metric"] == "accuracy"]
    assert by_affectnet[0]["n_skipped"] == missing + sum(affectnet.skipped["test"].values())
    assert by_affectnet[0]["n_samples"] == sum(row.image_exists and row.expression is not None for row in test_rows)
