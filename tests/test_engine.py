"""The training engine end to end on a toy database: records, predictions, heads, determinism, evaluate."""

import json

import pandas as pd
import pytest
import torch
from engine_toy_plugin import write_toy

from fbn_bench import FbnError
from fbn_bench.config import resolve_config
from fbn_bench.evaluate import evaluate_checkpoint
from fbn_bench.experiment import run_experiment
from fbn_bench.model import FaceBehaviorNet
from fbn_bench.results import RECORD_FIELDS, file_stem, read_predictions


def toy_config(toy_root, out, **overrides):
    settings = dict(
        datasets=(f"toy:root={toy_root}",),
        image_size=16,
        steps=12,
        batch_size=24,
        seed=3,
        out=str(out),
        hidden=32,
        eval_batch_size=16,
    )
    settings.update(overrides)
    return resolve_config("quick", **settings)


@pytest.fixture(scope="module")
def multitask_run(toy_root, registry, tmp_path_factory):
    config = toy_config(toy_root, tmp_path_factory.mktemp("runs") / "mt")
    return run_experiment(config, registry, progress=False)


def test_run_writes_records_predictions_checkpoint_and_log(multitask_run):
    run_dir = multitask_run.run_dir
    for name in ("config.json", "checkpoint.pt", "results.jsonl", "train_log.csv"):
        assert (run_dir / name).is_file(), name
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert {(r["task"], r["metric"]) for r in records} >= {
        ("va", "ccc_mean"),
        ("va", "ccc_valence"),
        ("va", "ccc_arousal"),
        ("expr", "accuracy"),
        ("expr", "macro_f1"),
        ("au", "f1_mean"),
        ("au", "f1_AU4"),
        ("au", "f1_AU12"),
    }
    for r in records:
        assert set(RECORD_FIELDS) <= set(r)
        assert r["n_samples"] == 40 and r["n_skipped"] == 0 and r["seed"] == 3
        assert r["versions"]["torch"] == torch.__version__
        assert r["plugins"]["backbone"]["options"] == {"width": 32} and r["plugins"]["coupling"] == []
        assert [d["name"] for d in r["plugins"]["datasets"]] == ["toy"]
    log = pd.read_csv(run_dir / "train_log.csv")
    assert {"epoch", "step", "loss", "va", "expr", "au"} <= set(log.columns)
    assert log["step"].iloc[-1] == 12
    (picture,) = (run_dir / "confusion").glob("*.png")  # the test split's expression confusion matrix
    assert picture.name == f"{file_stem(records[0]['dataset'])}.png" and picture.read_bytes()[:4] == b"\x89PNG"


def test_scores_recomputed_from_stored_predictions(multitask_run):
    from sklearn.metrics import accuracy_score, f1_score

    frame = read_predictions(multitask_run.run_dir, multitask_run.records[0]["dataset"])
    assert len(frame) == 40
    by_metric = {r["metric"]: r for r in multitask_run.records}
    assert by_metric["accuracy"]["value"] == pytest.approx(
        accuracy_score(frame["expression"], frame["pred_expression"])
    )
    # The headline AU F1 is taken at the threshold chosen on val; the @0.5 one at 0.5.
    au12 = by_metric["f1_AU12"]
    assert au12["threshold_source"] == "val"
    assert au12["value"] == pytest.approx(
        f1_score(frame["AU12"], frame["prob_AU12"] >= au12["threshold"], zero_division=0)
    )
    fixed = f1_score(frame["AU12"], frame["prob_AU12"] >= 0.5, zero_division=0)
    assert by_metric["f1_AU12@0.5"]["value"] == pytest.approx(fixed)


def test_cpu_runs_are_deterministic(toy_root, registry, tmp_path, multitask_run):
    again = run_experiment(toy_config(toy_root, tmp_path / "again"), registry, progress=False)
    first = {(r["task"], r["metric"]): r["value"] for r in multitask_run.records}
    second = {(r["task"], r["metric"]): r["value"] for r in again.records}
    assert first == second
    assert again.records[0]["config_hash"] == multitask_run.records[0]["config_hash"]


def test_single_task_run_has_one_head_and_scores_one_task(toy_root, registry, tmp_path):
    outcome = run_experiment(toy_config(toy_root, tmp_path / "st", tasks="expr"), registry, progress=False)
    assert {r["task"] for r in outcome.records} == {"expr"}
    state = torch.load(outcome.run_dir / "checkpoint.pt", weights_only=True)["model"]
    assert {k.split(".")[1] for k in state if k.startswith("heads.")} == {"expr"}


def test_model_heads_follow_tasks():
    backbone = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 5))
    backbone.out_features = 5
    out = FaceBehaviorNet(backbone, ("va", "au"), hidden=4)(torch.zeros(2, 3, 8, 8))
    assert set(out) == {"va", "au"} and out["va"].shape == (2, 2) and out["au"].shape == (2, 17)
    assert out["va"].abs().max() <= 1


def test_evaluate_rescoring_matches_the_run(multitask_run, registry, tmp_path):
    outcome = evaluate_checkpoint(multitask_run.run_dir, out=tmp_path / "eval", registry=registry, progress=False)
    assert {(r["metric"], r["value"]) for r in outcome.records} == {
        (r["metric"], r["value"]) for r in multitask_run.records
    }


def test_dataset_without_the_chosen_task_is_a_clear_error(toy_root, registry, tmp_path):
    config = toy_config(toy_root, tmp_path / "x", tasks="va", datasets=(f"toy-expr:root={toy_root}",))
    with pytest.raises(FbnError, match="dataset 'toy-expr' labels expr, none of the run's tasks"):
        run_experiment(config, registry, progress=False)


def test_weights_file_loads_into_any_backbone(tmp_path, registry):
    from fbn_bench.model import build_model
    from fbn_plugins.backbones.vggface import build_vggface

    source = build_vggface(image_size=32, batch_norm=False)
    # A VGG-16-style file: torchvision key names plus a classifier the backbone does not have.
    state = {**source.state_dict(), "classifier.0.weight": torch.zeros(3, 3)}
    torch.save(state, tmp_path / "vgg.pt")
    config = resolve_config("quick", backbone="vggface", image_size=32, weights=str(tmp_path / "vgg.pt"))
    loaded = build_model(config, registry).backbone
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key

    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "wrong.pt")
    with pytest.raises(FbnError, match="wrong.pt: does not match the backbone's layers"):
        build_model(
            resolve_config("quick", backbone="vggface", image_size=32, weights=str(tmp_path / "wrong.pt")), registry
        )
    with pytest.raises(FbnError, match="does not exist; pass a local state dict"):
        build_model(resolve_config("quick", weights=str(tmp_path / "none.pt")), registry)
    # Files that are not a name -> tensor dict: a tensor, a dict with a number, a whole pickled module.
    for name, content, message in (
        ("tensor.pt", torch.zeros(3), "holds a Tensor, not a state dict"),
        ("mixed.pt", {"features.0.weight": 3}, "holds a dict, not a state dict"),
        ("module.pt", torch.nn.Linear(2, 2), "holds pickled Python objects"),
    ):
        torch.save(content, tmp_path / name)
        with pytest.raises(FbnError, match=message) as info:
            build_model(resolve_config("quick", weights=str(tmp_path / name)), registry)
        assert "model.state_dict()" in str(info.value) and "\n" not in str(info.value)


def test_where_a_database_lives_changes_no_name_file_or_hash(toy_root, registry, tmp_path, multitask_run):
    import shutil

    moved = tmp_path / "elsewhere"
    shutil.copytree(toy_root, moved)
    again = run_experiment(toy_config(moved, tmp_path / "moved"), registry, progress=False)
    assert {r["dataset"] for r in again.records} == {"toy"}  # not "toy:root=/..."
    assert again.records[0]["config_hash"] == multitask_run.records[0]["config_hash"]
    assert "root" not in again.records[0]["plugins"]["datasets"][0]["options"]
    # test predictions, and the val predictions of the selected checkpoint
    assert sorted(p.name for p in (again.run_dir / "predictions").iterdir()) == ["toy.csv.gz", "toy.val.csv.gz"]
    assert read_predictions(again.run_dir, "toy").shape == read_predictions(multitask_run.run_dir, "toy").shape


def test_dataset_names_with_options_make_safe_file_names():
    from fbn_bench.identity import canonical_dataset_text
    from fbn_bench.results import file_stem

    assert canonical_dataset_text("affectnet:root=/data/an,release=npy") == "affectnet:release=npy"
    assert (
        canonical_dataset_text("disfa:fold=2, root=/a/b") == "disfa:fold=2"
        and canonical_dataset_text("toy:root=/x") == "toy"
    )
    assert file_stem("synth-rafdb:scale=0.5") == "synth-rafdb_scale=0.5"
    assert "/" not in file_stem("emotionet:file=/abs/labels.csv")


def test_a_database_whose_test_images_are_all_unusable_is_reported_not_dropped(registry, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from fbn_bench.cli import cli

    broken = write_toy(tmp_path / "broken", n_train=48, n_test=8)
    for image in (broken / "images").glob("test_*.png"):
        image.write_bytes(b"not an image")
    good = write_toy(tmp_path / "good", n_train=48, n_test=8, seed=1)
    config = toy_config(good, tmp_path / "run", datasets=(f"toy:root={good}", f"toy-expr:root={broken}"), steps=2)
    outcome = run_experiment(config, registry, progress=False)
    assert {r["dataset"] for r in outcome.records} == {"toy"}
    assert outcome.unscored == {"toy-expr": "no usable test image (8 unreadable)"}

    monkeypatch.setattr("fbn_bench.registry.get_registry", lambda reload=False: registry)
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--datasets",
            f"toy:root={good},toy-expr:root={broken}",
            "--steps",
            "2",
            "--batch-size",
            "24",
            "--image-size",
            "16",
            "--no-progress",
            "--out",
            str(tmp_path / "cli"),
        ],
        obj={"debug": False},
    )
    assert result.exit_code == 2
    assert "Error: not scored: toy-expr: no usable test image (8 unreadable)" in result.output
    assert "| toy " in result.output  # the scores that exist are still printed first


def test_a_wrong_path_in_the_last_database_fails_before_any_image_is_decoded(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("FBN_BENCH_CACHE", str(tmp_path / "cache"))
    good = write_toy(tmp_path / "good", n_train=24, n_test=8)
    config = toy_config(good, tmp_path / "run", datasets=(f"toy:root={good}", f"toy-expr:root={tmp_path / 'nowhere'}"))
    with pytest.raises(FbnError, match="does not exist"):
        run_experiment(config, registry, progress=False)
    assert not list((tmp_path / "cache").glob("*.npy"))  # toy's images were never decoded


def test_evaluating_on_another_database_adds_records_of_the_same_run(multitask_run, registry, tmp_path, toy_root):
    import shutil

    run_dir = tmp_path / "seed-0"  # sweeps name run folders like this; the records keep the run's own id
    shutil.copytree(multitask_run.run_dir, run_dir)
    trained = json.loads((run_dir / "results.jsonl").read_text().splitlines()[0])
    outcome = evaluate_checkpoint(run_dir, datasets=(f"toy-expr:root={toy_root}",), registry=registry, progress=False)
    assert {r["dataset"] for r in outcome.records} == {"toy", "toy-expr"}  # the training database's records stay
    new = [r for r in outcome.records if r["dataset"] == "toy-expr"]
    assert new and all(r["run_id"] == trained["run_id"] and r["config_hash"] == trained["config_hash"] for r in new)
    assert all(r["config"]["datasets"] == trained["config"]["datasets"] for r in new)  # what it was trained on
    again = evaluate_checkpoint(run_dir, registry=registry, progress=False)  # its own database, scored again
    assert len(again.records) == len(outcome.records)  # replaced, not duplicated
    other = run_experiment(toy_config(toy_root, tmp_path / "other", seed=9), registry, progress=False)
    with pytest.raises(FbnError, match="is the folder of another run"):
        evaluate_checkpoint(run_dir, out=other.run_dir, registry=registry, progress=False)


def test_a_run_that_diverges_stops_instead_of_scoring_nan_outputs(toy_root, registry, tmp_path):
    # A learning rate this large turns the weights into inf/nan within a few steps.
    config = toy_config(toy_root, tmp_path / "nan", lr=1e30, steps=20)
    with pytest.raises(FbnError, match=r"training diverged by step \d+: the loss is nan"):
        run_experiment(config, registry, progress=False)
    assert not (tmp_path / "nan" / "results.jsonl").exists()


def test_a_nan_coupling_weight_is_refused(registry):
    from fbn_bench.coupling.compose import build_coupling
    from fbn_bench.coupling.relatedness import relatedness, relatedness_tensor

    table = relatedness_tensor(relatedness("du2014"))
    with pytest.raises(FbnError, match="option weight=nan is invalid; use a number >= 0"):
        build_coupling("soft:weight=nan", registry, table, ("expr", "au"))


def test_vggface_from_scratch_gives_different_faces_different_features():
    from fbn_plugins.backbones.vggface import build_vggface

    torch.manual_seed(0)
    net = build_vggface(image_size=96, batch_norm=False).eval()
    with torch.no_grad():
        features = net(torch.rand(8, 3, 96, 96) * 2 - 1)
    # PyTorch's default init left a spread of about 1e-6 after 13 convolutions: every face looked alike.
    assert features.std(dim=0).mean() > 1e-3
