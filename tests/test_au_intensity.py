"""AU intensity, the opt-in `au_int` task: ICC(3,1), PCC and MAE against pingouin and a hand-computed case, the
label contract, batches, loss, task parsing, and an au_int-only run on a tiny synthetic DISFA."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from fbn_bench import DatasetSpec, FbnError, metrics
from fbn_bench.collapse import BLIND_METRIC, image_blind_value
from fbn_bench.data.batches import collate
from fbn_bench.data.streams import budget_batch_size, stream_members
from fbn_bench.data.table import label_arrays, normalize_table
from fbn_bench.losses import au_int_loss
from fbn_bench.metrics.families import AUIntFamily
from fbn_bench.scoring import make_scope, score_predictions, task_of
from fbn_bench.tasks import AUS, TASKS, parse_tasks

pg = pytest.importorskip("pingouin")


def _pingouin_icc3(t: np.ndarray, p: np.ndarray) -> float:
    """pingouin's ICC(3,1), two-way mixed consistency ("ICC3", in pingouin 0.5.5+ "ICC(C,1)"), with truth and
    prediction as the two raters."""
    n = len(t)
    long = pd.DataFrame({"target": np.tile(np.arange(n), 2), "rater": ["t"] * n + ["p"] * n, "score": [*t, *p]})
    table = pg.intraclass_corr(long, targets="target", raters="rater", ratings="score").set_index("Type")
    return float(table.loc["ICC3" if "ICC3" in table.index else "ICC(C,1)", "ICC"])


@pytest.mark.parametrize("seed", range(4))
def test_icc_pcc_mae_match_pingouin_on_random_intensities(seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 6, 40).astype(float)
    p = 0.8 * t + rng.normal(1.5, 1.0, 40)  # offset, noisy: ICC(3,1) ignores the offset, CCC does not
    assert metrics.icc(t, p) == pytest.approx(_pingouin_icc3(t, p), abs=1e-10)
    assert metrics.intensity_pearson(t, p) == pytest.approx(float(pg.corr(t, p)["r"].iloc[0]), abs=1e-10)
    assert metrics.mae(t, p) == pytest.approx(np.abs(t - p).mean(), abs=1e-12)
    # the claim the implementation rests on: for two raters ICC(3,1) = 2 cov / (var_t + var_p), not CCC
    assert metrics.icc(t, p) != pytest.approx(metrics.ccc(t, p), abs=1e-3)


def test_icc_of_a_hand_computed_case():
    # t = 0, 2, 4 and p = 1, 1, 4: subject means 0.5, 1.5, 4 around 2, so BMS = 2 (2.25 + 0.25 + 4) / 2 = 6.5;
    # rater means are equal (JMS 0), SS_total 14, SS_error 14 - 13 = 1, EMS = 1 / 2; ICC(3,1) = 6 / 7.
    t, p = np.array([0.0, 2.0, 4.0]), np.array([1.0, 1.0, 4.0])
    assert metrics.icc(t, p) == pytest.approx(6 / 7, abs=1e-12)
    assert metrics.icc(t, p) == pytest.approx(_pingouin_icc3(t, p), abs=1e-12)
    assert metrics.mae(t, p) == pytest.approx(2 / 3)
    assert metrics.icc([0, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(1.0)  # a constant offset: consistent raters
    assert metrics.icc([0, 1, 2, 3], [2, 2, 2, 2]) == 0.0  # an image-blind constant: the collapse check's 0
    assert np.isnan(metrics.intensity_pearson([0, 1, 2, 3], [2, 2, 2, 2]))


def _frame(rng, n=60, aus=(1, 12, 25)) -> pd.DataFrame:
    frame = pd.DataFrame({"subject": [f"S{i % 6}" for i in range(n)]})
    for au in aus:
        t = rng.integers(0, 6, n).astype(float)
        t[rng.random(n) < 0.3] = np.nan  # unlabelled entries are never scored
        frame[f"AU{au}_int"] = t
        frame[f"pred_int_AU{au}"] = np.clip(np.nan_to_num(t, nan=2.0) * 0.5 + rng.normal(1, 1, n), 0, 5)
    return frame


def test_scoring_per_au_on_the_labelled_rows_matches_pingouin_and_sums_add():
    rng = np.random.default_rng(7)
    aus = (1, 12, 25)
    frame = _frame(rng, aus=aus)
    scores = score_predictions(frame, ("au_int",), aus)
    for au in aus:
        ok = frame[f"AU{au}_int"].notna().to_numpy()
        t, p = frame[f"AU{au}_int"].to_numpy()[ok], frame[f"pred_int_AU{au}"].to_numpy()[ok]
        assert scores[("au_int", f"icc_AU{au}")] == (pytest.approx(_pingouin_icc3(t, p), abs=1e-10), ok.sum())
        assert scores[("au_int", f"pcc_AU{au}")][0] == pytest.approx(float(pg.corr(t, p)["r"].iloc[0]), abs=1e-10)
        assert scores[("au_int", f"mae_AU{au}")][0] == pytest.approx(np.abs(t - p).mean())
    per_au = [scores[("au_int", f"icc_AU{a}")][0] for a in aus]
    assert scores[("au_int", "icc_mean")][0] == pytest.approx(np.mean(per_au))
    assert scores[("au_int", "icc_mean")][1] == frame[[f"AU{a}_int" for a in aus]].notna().any(axis=1).sum()
    # sufficient statistics: per-subject sums add up to the split's value (what the leaderboard bootstrap relies on)
    bound = AUIntFamily("icc", "au_int").bind(frame, make_scope(("au_int",), aus))
    codes = pd.factorize(frame["subject"])[0]
    by_subject = np.zeros((codes.max() + 1, bound.width))
    np.add.at(by_subject, codes, bound.features)
    assert bound.compute(by_subject.sum(axis=0))["icc_mean"] == pytest.approx(scores[("au_int", "icc_mean")][0])
    assert task_of("icc_AU12") == "au_int" and task_of("mae_mean") == "au_int" and task_of("f1_AU12") == "au"


def test_a_constant_prediction_scores_icc_zero_and_leaves_pcc_out_with_a_warning():
    frame = _frame(np.random.default_rng(1), aus=(4,))
    frame["pred_int_AU4"] = 1.0
    with pytest.warns(UserWarning, match="AU4 intensity"):
        scores = score_predictions(frame, ("au_int",), (4,))
    assert scores[("au_int", "icc_AU4")][0] == 0.0 == image_blind_value("au_int", frame)
    assert ("au_int", "pcc_AU4") not in scores and ("au_int", "mae_AU4") in scores
    assert BLIND_METRIC["au_int"] == "icc_mean"


def test_all_stays_the_three_basic_tasks_and_their_batches_keep_their_split():
    assert parse_tasks("all") == TASKS == ("va", "expr", "au")
    assert parse_tasks("au_int,va") == ("va", "au_int")
    with pytest.raises(FbnError, match="au_int"):
        parse_tasks("intensity")
    # the leftover sample goes to va, first in canonical order, as before au_int existed
    assert [budget_batch_size(64, t, "samples") for t in (TASKS, ("va",), ("expr",), ("au",))] == [64, 22, 21, 21]
    assert budget_batch_size(64, ("au_int",), "samples") == budget_batch_size(64, ("au",), "samples")


def _spec(tasks) -> DatasetSpec:
    return DatasetSpec("toy-int", load=lambda root, split: None, tasks=tasks, aus=(1, 12))


def test_intensity_columns_are_labels_only_for_a_database_declaring_au_int():
    raw = pd.DataFrame({"image": ["a", "b", "c"], "AU1": [1, 0, None], "AU1_int": [3, 0, None], "AU12_int": [5, 1, 2]})
    plain = normalize_table(raw, _spec({"au"}), "train")
    assert not [c for c in plain.columns if c.endswith("_int")]  # other databases' tables keep their shape
    assert np.isnan(label_arrays(plain)["au_int"]).all()
    with_int = normalize_table(raw, _spec({"au", "au_int"}), "train")
    labels = label_arrays(with_int)["au_int"]
    assert labels.shape == (3, len(AUS))
    assert labels[:, AUS.index(1)].tolist()[:2] == [3.0, 0.0] and np.isnan(labels[2, AUS.index(1)])
    assert labels[:, AUS.index(12)].tolist() == [5.0, 1.0, 2.0] and np.isnan(labels[:, AUS.index(4)]).all()
    assert stream_members({"au_int": labels}, "au_int").tolist() == [0, 1, 2]
    with pytest.raises(FbnError, match="AU12_int = 6.0 at row 0 is not an intensity 0-5"):
        normalize_table(raw.assign(AU12_int=[6, 1, 2]), _spec({"au", "au_int"}), "train")
    with pytest.raises(FbnError, match="'au_int' needs 'au'"):
        _spec({"au_int"})


class _Split:
    def __init__(self, labels):
        self.images = np.zeros((len(labels["au"]), 4, 4, 3), np.uint8)
        self.labels, self.name = labels, "toy"


def test_batches_carry_intensities_only_for_au_int_and_the_loss_is_masked():
    au_int = np.full((2, len(AUS)), np.nan)
    au_int[0, 0], au_int[1, 3] = 5.0, 2.0
    labels = {
        "va": np.full((2, 2), np.nan),
        "expr": np.array([-1, -1]),
        "au": np.zeros((2, len(AUS))),
        "au_int": au_int,
    }
    split = _Split(labels)
    plain = collate([split], np.zeros(2, np.int64), np.arange(2), ("va", "expr", "au"))
    assert "au_int" not in plain and "au_int_mask" not in plain  # other runs' batches are as they were
    batch = collate([split], np.zeros(2, np.int64), np.arange(2), ("au_int",))
    assert batch["au_int_mask"].sum() == 2 and batch["au_int"][0, 0] == 5.0 and batch["au_int"][1, 3] == 2.0
    assert not batch["au_mask"].any()  # au not chosen: its labels stay masked
    pred = torch.zeros(2, len(AUS), requires_grad=True)
    loss = au_int_loss(pred, batch["au_int"], batch["au_int_mask"])
    assert loss.item() == pytest.approx(((1.0 - 0.0) ** 2 + (0.4 - 0.0) ** 2) / 2)  # on intensity / 5
    empty = au_int_loss(pred, batch["au_int"], torch.zeros_like(batch["au_int_mask"]))
    assert empty.item() == 0.0 and empty.requires_grad


def test_an_au_int_only_run_on_a_tiny_synthetic_disfa_records_icc_per_au(tmp_path):
    from fbn_bench.config import resolve_config
    from fbn_bench.experiment import run_experiment
    from fbn_bench.registry import get_registry

    registry = get_registry()
    spec = registry.dataset("synth-disfa")
    assert "au_int" in spec.tasks and spec.headline["au_int"] == "icc_mean"
    config = resolve_config(
        "quick",
        datasets=("synth-disfa:scale=0.05",),
        tasks="au_int",
        steps=4,
        val_every=2,
        batch_size=16,
        image_size=32,
        hidden=16,
        eval_batch_size=64,
        seed=0,
        out=str(tmp_path / "run"),
        data_root=str(tmp_path / "data"),
    )
    with pytest.warns(UserWarning):  # a few steps in, some AUs' predictions are still constant (no PCC)
        outcome = run_experiment(config, registry, progress=False)
    records = [r for r in outcome.records if r["split"] == "test"]
    assert {r["task"] for r in records} == {"au_int"}
    icc = {r["metric"]: r for r in records if r["metric"].startswith("icc_")}
    assert set(icc) == {"icc_mean", *(f"icc_AU{a}" for a in spec.aus)}
    assert all(np.isfinite(r["value"]) and -1 <= r["value"] <= 1 for r in icc.values())
    assert {"mae_mean", "pcc_mean"} <= {r["metric"] for r in records}
    assert np.isfinite(records[0]["selection_score"])  # selected on val by icc_mean
    frame = pd.read_csv(outcome.run_dir / "predictions" / "synth-disfa_scale=0.05.csv.gz")
    assert frame[[f"pred_int_AU{a}" for a in spec.aus]].stack().between(0, 5).all()
    assert "prob_AU1" not in frame


def test_leaderboards_show_intensity_only_where_a_record_holds_it_and_resample_it():
    from fbn_bench.leaderboard.store import compact_predictions
    from fbn_bench.leaderboard.sums import layout_for, metrics_from_sums, row_features
    from fbn_bench.leaderboard.tables import database_metrics
    from fbn_bench.registry import get_registry

    spec = get_registry().dataset("synth-disfa")
    assert not [m for m in database_metrics({"f1_mean", "f1_AU1"}, spec) if m.startswith("icc")]  # tables unchanged
    assert "icc_mean" in database_metrics({"icc_mean", "icc_AU1"}, spec)
    frame = _frame(np.random.default_rng(3), aus=(1, 12))
    stored = compact_predictions(frame.assign(image=[f"i{i}" for i in range(len(frame))]))
    assert {"AU1_int", "pred_int_AU1"} <= set(stored.columns)
    layout = layout_for(stored, ("au_int",), (1, 12))
    assert layout.aus == (1, 12)
    resampled = metrics_from_sums(row_features(stored, layout).sum(axis=0), layout)
    expected = score_predictions(frame, ("au_int",), (1, 12))
    assert float(resampled["icc_mean"]) == pytest.approx(expected[("au_int", "icc_mean")][0])
