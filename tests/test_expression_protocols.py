"""Databases' own expression protocols (`classes=8`: AffectNet-8's contempt, ABAW's Other): the spec's
`classes` option, the batch's class masks, the second head, scoring over each split's own classes, and a
run end to end on the toy database's two protocols (tests/engine_toy_plugin.py: `toy8`)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import f1_score
from test_engine import toy_config

from fbn_bench import DatasetSpec, FbnError
from fbn_bench.data.batches import collate
from fbn_bench.evaluate import evaluate_checkpoint, predictions_frame
from fbn_bench.experiment import run_experiment
from fbn_bench.leaderboard.sums import layout_for
from fbn_bench.model import FaceBehaviorNet, class_logits, state_classes
from fbn_bench.results import read_predictions
from fbn_bench.tasks import EXPRESSION_VOCABULARY, EXPRESSIONS

EIGHT = (*EXPRESSIONS, "contempt")


def _load(root, split, *, classes):
    return pd.DataFrame({"image": [], "expression": []})


# --- the spec -----------------------------------------------------------------------------------------------


def test_a_spec_with_protocols_gets_a_classes_option_defaulting_to_the_first():
    spec = DatasetSpec("p8", tasks={"expr"}, load=_load, expression_protocols={"7": EXPRESSIONS, "8": EIGHT})
    (option,) = [o for o in spec.options if o.name == "classes"]
    assert option.default == "7" and option.choices == ("7", "8") and "contempt" in option.help
    assert spec.expression_classes() == EXPRESSIONS and spec.expression_classes({"classes": "8"}) == EIGHT
    plain = DatasetSpec("p7", tasks={"expr"}, load=lambda root, split: None)
    assert plain.expression_classes({"classes": "8"}) == EXPRESSIONS  # no protocols: the 7, whatever is asked


@pytest.mark.parametrize(
    "protocols, message",
    [
        ({"8": (*EXPRESSIONS[:6], "contempt")}, "the 7 basic expressions"),  # one of the 7 missing
        ({"8": (*EXPRESSIONS, "other", "contempt")}, "in that order"),  # extras out of order
        ({"8": (*EXPRESSIONS, "smirk")}, "contempt, other"),  # not an extra class
    ],
)
def test_a_malformed_protocol_is_refused_with_what_a_protocol_is(protocols, message):
    with pytest.raises(FbnError, match=message):
        DatasetSpec("bad", tasks={"expr"}, load=_load, expression_protocols=protocols)


def test_protocols_need_expressions_among_the_tasks():
    with pytest.raises(FbnError, match="needs 'expr'"):
        DatasetSpec("va-only", tasks={"va"}, load=_load, expression_protocols={"7": EXPRESSIONS})


# --- batches, the head, the frame ---------------------------------------------------------------------------


def _split(name, classes, expr):
    expr = np.asarray(expr, dtype=np.int64)
    n = len(expr)
    labels = {"va": np.full((n, 2), np.nan), "expr": expr, "au": np.full((n, 17), np.nan)}
    return SimpleNamespace(name=name, images=np.zeros((n, 4, 4, 3), np.uint8), labels=labels, classes=classes)


def test_a_batch_carries_each_samples_classes_only_in_a_run_with_an_extra_class():
    seven, eight = _split("a", EXPRESSIONS, [0, 1]), _split("b", EIGHT, [7, 2])
    batch = collate([seven, eight], np.array([0, 1, 1]), np.array([1, 0, 1]), ("expr",))
    assert batch["expr"].tolist() == [1, 7, 2]
    want = [[c in EXPRESSIONS for c in EXPRESSION_VOCABULARY]] + [[c in EIGHT for c in EXPRESSION_VOCABULARY]] * 2
    assert batch["expr_classes"].tolist() == want
    assert "expr_classes" not in collate([seven], np.array([0]), np.array([0]), ("expr",))  # 7-class runs as before


def test_the_extra_head_and_its_classes_travel_in_the_state_dict():
    backbone = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 8))
    backbone.out_features = 8
    model = FaceBehaviorNet(backbone, ("expr",), hidden=4, expr_classes=EIGHT)
    out = model(torch.zeros(2, 3, 4, 4))
    assert out["expr"].shape == (2, 7) and out["expr_extra"].shape == (2, 2)
    assert state_classes(model.state_dict()) == EIGHT
    plain = FaceBehaviorNet(backbone, ("expr",), hidden=4)
    assert state_classes(plain.state_dict()) == EXPRESSIONS and "expr_extra" not in plain(torch.zeros(1, 3, 4, 4))
    both = class_logits(out, (*EXPRESSIONS, "contempt"))
    assert torch.equal(both[:, 7], out["expr_extra"][:, 0]) and torch.equal(both[:, :7], out["expr"])


def test_the_frame_predicts_over_the_splits_own_classes():
    """An 8-class model on a 7-class split never predicts contempt, however high its logit; on an 8-class
    split it does; a 7-class model on an 8-class split is refused."""
    table = pd.DataFrame({"image": ["x", "y"], "expression": ["anger", "contempt"]})
    outputs = {
        "expr": np.array([[0.0, 2.0, 0, 0, 0, 0, 0], [3.0, 0, 0, 0, 0, 0, 0]]),
        "expr_extra": np.full((2, 2), 9.0),
    }

    def split(classes):
        return SimpleNamespace(table=table, rows=np.arange(2), classes=classes)

    seven = predictions_frame(split(EXPRESSIONS), outputs)
    assert list(seven["pred_expression"]) == ["anger", "neutral"] and "logit_contempt" not in seven
    eight = predictions_frame(split(EIGHT), outputs)
    assert list(eight["pred_expression"]) == ["contempt", "contempt"] and list(eight["logit_contempt"]) == [9.0, 9.0]
    assert "logit_other" not in eight
    with pytest.raises(FbnError, match="no logits for contempt"):
        predictions_frame(split(EIGHT), {"expr": outputs["expr"]})


# --- a run end to end ---------------------------------------------------------------------------------------


def _config(toy_root, out, datasets, **overrides):
    """The engine tests' toy configuration, on `datasets` and the expression task, seed 5, 30 steps."""
    return toy_config(toy_root, out, **{"datasets": datasets, "tasks": ("expr",), "steps": 30, "seed": 5, **overrides})


@pytest.fixture(scope="module")
def eight_class_run(toy_root, registry, tmp_path_factory):
    datasets = (f"toy8:root={toy_root},classes=8", f"toy-expr:root={toy_root}")
    return run_experiment(
        _config(toy_root, tmp_path_factory.mktemp("runs") / "eight", datasets), registry, progress=False
    )


def test_a_run_on_an_eight_class_protocol_scores_each_database_over_its_own_classes(eight_class_run, toy_root):
    run = eight_class_run
    assert state_classes(torch.load(run.run_dir / "checkpoint.pt", weights_only=False)["model"]) == EIGHT
    by = {(r["dataset"], r["metric"]): r["value"] for r in run.records}
    names = {r["dataset"] for r in run.records}
    eight_name = next(n for n in names if n.startswith("toy8"))
    assert "classes=8" in eight_name  # its own leaderboard row: never pooled with the 7-class protocol
    frame = read_predictions(run.run_dir, eight_name)
    assert frame["expression"].eq("contempt").any() and "logit_contempt" in frame
    labelled = frame[frame["expression"].notna()]
    want = f1_score(labelled["expression"], labelled["pred_expression"], labels=list(EIGHT), average="macro")
    assert by[(eight_name, "macro_f1")] == pytest.approx(want, abs=1e-12)
    assert (eight_name, "f1_contempt") in by
    # The leaderboards' resampling reads the classes back from the stored frame's logit columns.
    assert layout_for(frame, ("expr",), ()).scope.classes == EIGHT
    other = read_predictions(run.run_dir, "toy-expr")
    assert "logit_contempt" not in other and not other["pred_expression"].eq("contempt").any()
    assert ("toy-expr", "f1_contempt") not in by


def test_evaluate_rescores_the_eight_class_run_and_refuses_a_seven_class_model(
    eight_class_run, toy_root, registry, tmp_path
):
    again = evaluate_checkpoint(eight_class_run.run_dir, out=tmp_path / "again", registry=registry, progress=False)
    assert {(r["dataset"], r["metric"]): r["value"] for r in again.records} == pytest.approx(
        {(r["dataset"], r["metric"]): r["value"] for r in eight_class_run.records}
    )
    seven = run_experiment(
        _config(toy_root, tmp_path / "seven", (f"toy8:root={toy_root}",), steps=2), registry, progress=False
    )
    with pytest.raises(FbnError, match="no contempt"):
        evaluate_checkpoint(
            seven.run_dir, datasets=(f"toy8:root={toy_root},classes=8",), out=tmp_path / "x", registry=registry
        )


def test_predict_gives_the_extra_class_a_column_and_a_share_of_one_softmax(eight_class_run, registry, tmp_path):
    from fbn_bench.faces.frontend import FaceFrontEnd
    from fbn_bench.predict import EXPRESSION_COLUMNS, load_model, predict_media

    Image = pytest.importorskip("PIL.Image")
    Image.fromarray(np.full((16, 16, 3), 200, np.uint8)).save(tmp_path / "face.png")
    model, config, device = load_model(eight_class_run.run_dir, registry, cpu=True)
    table, _ = predict_media([tmp_path / "face.png"], model, FaceFrontEnd(None), config.image_size, progress=False)
    columns = list(table.columns)
    assert columns.index("contempt") == columns.index(EXPRESSION_COLUMNS[-1]) + 1  # right after the 7
    np.testing.assert_allclose(table[[*EXPRESSION_COLUMNS, "contempt"]].sum(axis=1), 1.0, atol=1e-5)
    assert "other" not in table  # a class none of its databases labels gets no column


def test_the_extra_head_learns_the_extra_class(toy_root, registry, tmp_path):
    """toy8's contempt is a neutral face with the AU12 stripe: a class the picture shows. Seeded, 80 steps on
    toy8:classes=8 alone; chance F1 of one class of eight is about 0.1, the margin is wide."""
    datasets = (f"toy8:root={toy_root},classes=8",)
    run = run_experiment(_config(toy_root, tmp_path / "learn", datasets, steps=80), registry, progress=False)
    by = {r["metric"]: r for r in run.records}
    assert by["f1_contempt"]["value"] >= 0.8 and by["accuracy"]["value"] >= 0.8
    frame = read_predictions(run.run_dir, by["accuracy"]["dataset"])
    assert frame["expression"].eq("contempt").sum() >= 2  # the score is over real test samples of the class
