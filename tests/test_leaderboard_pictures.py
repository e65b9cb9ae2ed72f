"""The leaderboard's expression confusion picture: counts against sklearn on the stored predictions of the
best configuration and the baseline, the link in the table, and the staleness check on its counts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from leaderboard_helpers import predictions, write_run
from sklearn.metrics import confusion_matrix, f1_score

from fbn_bench.confusion import read_description
from fbn_bench.leaderboard.build import render_all, stale_files, write_all
from fbn_bench.leaderboard.pictures import ConfusionPicture
from fbn_bench.leaderboard.tables import Settings
from fbn_bench.registry import get_registry
from fbn_bench.tasks import EXPRESSIONS

NAME = "confusion/lb_expr.png"


@pytest.fixture
def runs(tmp_path):
    frames = {}
    for seed in range(2):
        frames["mt", seed] = predictions(tasks=("expr",), quality=0.8, seed=seed)
        frames["st", seed] = predictions(tasks=("expr",), quality=0.4, seed=9 + seed)
        au = {"lb_au": predictions(tasks=("au",), seed=seed)}
        write_run(tmp_path / "runs", f"mt-{seed}", {"lb_expr": frames["mt", seed], **au}, seed=seed)
        write_run(tmp_path / "runs", f"st-{seed}", {"lb_expr": frames["st", seed]}, tasks=("expr",), seed=seed)
    return tmp_path / "runs", frames


def _pooled(frames, config):
    return sum(
        confusion_matrix(f["expression"], f["pred_expression"], labels=list(EXPRESSIONS))
        for (c, _), f in frames.items()
        if c == config
    )


def _macro(frames, config):
    return np.mean(
        [
            f1_score(f["expression"], f["pred_expression"], labels=list(EXPRESSIONS), average="macro")
            for (c, _), f in frames.items()
            if c == config
        ]
    )


def test_best_configuration_and_baseline_counts_match_sklearn(runs, tmp_path):
    root, frames = runs
    assert _macro(frames, "mt") > _macro(frames, "st")  # the multi-task rows are the better ones here
    files = render_all(tmp_path / "a", [root], Settings(resamples=20), registry=get_registry())
    picture = files[NAME]
    assert isinstance(picture, ConfusionPicture) and "confusion/lb_au.png" not in files  # no expressions, no picture
    (best,) = picture.panels
    assert np.array(best[1]).tolist() == _pooled(frames, "mt").tolist()
    assert best[0].startswith("best: va+expr+au") and f"macro_f1 {_macro(frames, 'mt'):.3f}" in best[0]
    assert f"]({NAME})" in files["lb_expr.md"] and "confusion" not in files["lb_au.md"]

    with_baseline = Settings(resamples=20, baseline="tasks=expr")
    _, base = render_all(tmp_path / "b", [root], with_baseline, registry=get_registry())[NAME].panels
    assert base[0].startswith("baseline: expr") and np.array(base[1]).tolist() == _pooled(frames, "st").tolist()


def test_the_check_reads_the_counts_back_from_the_png(runs, tmp_path):
    root, frames = runs
    out = tmp_path / "boards"
    files = render_all(out, [root], Settings(resamples=20), registry=get_registry())
    write_all(out, files)
    stored = json.loads(read_description(out / NAME))
    assert stored["panels"][0]["counts"] == _pooled(frames, "mt").tolist()
    assert stale_files(out, files) == []

    other = ConfusionPicture((("best: other", tuple(tuple(int(i == j) for j in range(7)) for i in range(7))),))
    other.write(out / NAME)  # another picture under the same name: its counts differ
    assert stale_files(out, files) == [f"{out / NAME} is stale"]
    (out / NAME).write_bytes(b"not a png")
    assert stale_files(out, files) == [f"{out / NAME} is stale"]
    (out / NAME).unlink()
    assert stale_files(out, files) == [f"{out / NAME} is missing"]

    other.write(out / "confusion" / "gone.png")  # a picture of a database no longer built: flagged, then removed
    write_all(out, files)
    assert not (out / "confusion" / "gone.png").exists() and stale_files(out, files) == []
