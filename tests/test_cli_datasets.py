"""`fbn-bench datasets list / prepare / stats / gallery`, run through click."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner
from PIL import Image

from fbn_bench.cli import cli
from fbn_bench.tasks import EXPRESSIONS


def _run(*args):
    result = CliRunner().invoke(cli, list(args), obj={"debug": False})
    return result


def test_list_json_has_every_synthetic_database():
    result = _run("datasets", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["synth-disfa"]["aus"] == [1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26]
    assert rows["synth-affwild2"]["tasks"] == ["va", "expr", "au"]
    assert rows["synth-rafdb-compound"]["tasks"] == []
    assert all(rows[n]["splits"] == ["train", "val", "test"] for n in rows if n.startswith("synth-"))
    text = _run("datasets", "list")
    assert text.exit_code == 0 and "synth-bp4d" in text.output


def test_prepare_then_stats_json_matches_the_csv(tmp_path):
    result = _run("datasets", "prepare", "synth-affectnet:scale=0.05", "--data-root", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "synth-affectnet: ready" in result.output
    out = _run(
        "datasets", "stats", "synth-affectnet:scale=0.05", "--data-root", str(tmp_path), "--split", "test", "--json"
    )
    assert out.exit_code == 0, out.output
    stats = json.loads(out.output)
    csv = pd.read_csv(next((tmp_path / "synth-affectnet").glob("v*/test.csv")))
    assert stats["n_samples"] == len(csv) and stats["missing_images"] == 0
    assert list(stats["expr"]["counts"]) == list(EXPRESSIONS)
    assert stats["expr"]["counts"] == {e: int((csv["expression"] == e).sum()) for e in EXPRESSIONS}
    assert stats["va"]["n"] == len(csv) and "au" not in stats
    readable = _run("datasets", "stats", "synth-disfa:scale=0.05", "--root", str(tmp_path / "disfa-here"))
    assert readable.exit_code == 0 and "AU12" in readable.output


def test_gallery_writes_a_png(tmp_path):
    out = tmp_path / "g.png"
    result = _run("datasets", "gallery", "synth-rafdb:scale=0.05", "--out", str(out), "--samples", "8")
    assert result.exit_code == 0, result.output
    with Image.open(out) as im:
        assert im.width >= 700 and im.height > 17 * 88  # the samples plus one ladder row per AU


def test_gallery_takes_root_like_check_and_stats(tmp_path):
    out, here = tmp_path / "g.png", tmp_path / "rafdb-here"
    result = _run(
        "datasets", "gallery", "synth-rafdb:scale=0.05", "--root", str(here), "--out", str(out), "--samples", "4"
    )
    assert result.exit_code == 0, result.output
    assert out.is_file() and list(here.glob("v*/train.csv"))  # generated, and read, in the folder given


def test_gallery_title_says_all_shown_and_uses_ordinals():
    from fbn_bench.cli.datasets_gallery import _title

    assert _title("db", "train", 8, 8) == "db / train: 8 images, all shown"
    assert _title("db", "train", 48, 24) == "db / train: 48 images, 24 shown, about every 2nd"
    assert _title("db", "test", 72, 24).endswith("about every 3rd")
    assert _title("db", "test", 1500, 24).endswith("about every 62nd")
    assert _title("db", "test", 264, 24).endswith("about every 11th")
    assert _title("db", "test", 30, 24) == "db / test: 30 images, 24 shown"  # not "every 1st"


def test_gallery_caption_tells_absent_aus_from_unlabelled_ones():
    from fbn_bench.cli.datasets_gallery import _caption

    nan = float("nan")
    aus = (1, 2, 4)
    assert _caption({"AU1": 0.0, "AU2": 0.0, "AU4": 0.0}, aus) == ["no AU present"]
    assert _caption({"AU1": 0.0, "AU2": nan, "AU4": nan}, aus) == ["no AU; 2 unlabelled"]
    assert _caption({"AU1": nan, "AU2": nan, "AU4": nan}, aus) == ["AUs not labelled"]
    assert _caption({"AU1": 1.0, "AU2": nan, "AU4": 1.0}, aus) == ["AU 1,4"]
    assert _caption({"expression": "anger", "AU1": nan}, ()) == ["anger"]  # a database without AUs


def test_unknown_dataset_and_bad_option_are_one_line_errors():
    result = _run("datasets", "stats", "synth-rafbd")
    assert result.exit_code == 2 and "did you mean 'synth-rafdb'" in result.output
    result = _run("datasets", "stats", "synth-rafdb:colour=3")
    assert result.exit_code == 2 and "has no option 'colour'" in result.output


def test_gallery_bad_arguments_are_one_line_errors(tmp_path):
    for args, message in (
        (["--out", str(tmp_path / "g.jpgg")], "write a .png (or .jpg / .jpeg) file"),
        (["--out", str(tmp_path / "g.png"), "--samples", "-3"], "-3 is not in the range x>=1"),
    ):
        result = _run("datasets", "gallery", "synth-rafdb:scale=0.05", *args)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    result = _run("datasets", "gallery", "synth-rafdb:scale=0.05", "--out", str(tmp_path / "g.jpg"), "--samples", "4")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "g.jpg") as im:
        assert im.format == "JPEG"


def test_stats_count_the_compound_classes_and_run_refuses_a_database_without_a_basic_task(tmp_path):
    result = _run("datasets", "stats", "synth-rafdb-compound:scale=0.05", "--json")
    assert result.exit_code == 0, result.output
    compound = json.loads(result.stdout)["compound"]
    assert compound["n"] == sum(compound["counts"].values()) > 0 and "happily surprised" in compound["counts"]
    refused = _run("run", "--datasets", "synth-rafdb-compound", "--steps", "1")
    assert refused.exit_code == 2 and "labels no basic task" in refused.output


def test_gallery_faces_are_cropped_like_the_run_and_skipped_ones_say_why(tmp_path):
    import numpy as np
    import pandas as pd

    from fbn_bench.cli.datasets_gallery import _faces
    from fbn_bench.data.images import decode_face
    from fbn_bench.specs import DatasetSpec

    spec = DatasetSpec("pics", {"au"}, lambda root, split: None, aus=(1,))

    picture = np.zeros((40, 60, 3), dtype=np.uint8)
    picture[10:30, 20:40] = 255  # the face box is the white square
    Image.fromarray(picture).save(tmp_path / "a.png")
    box = {"bbox_x": 20, "bbox_y": 10, "bbox_w": 20, "bbox_h": 20}
    rows = pd.DataFrame(
        [{"image": "a.png", **box}, {"image": "gone.png", **box}, {"image": "a.png", **box, "bbox_x": 500}]
    )
    (face, problem), *bad = _faces(spec, rows, tmp_path, 16)
    assert problem is None and np.array_equal(np.asarray(face), decode_face(tmp_path / "a.png", 16, (20, 10, 20, 20)))
    assert np.asarray(face).min() == 255  # only the box, not the black frame around it
    for (face, problem), reason in zip(bad, ("missing", "bad bbox")):
        assert problem == reason and np.asarray(face)[0, 0].tolist() == [200, 60, 60]
