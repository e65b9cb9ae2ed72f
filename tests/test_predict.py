"""`fbn-bench predict` on a real photograph and a generated video: one CSV row per face per frame with the
py-feat-like columns, probabilities that are probabilities, faces not found reported, annotated outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from face_scenes import ASTRONAUT_FACE, astronaut, astronaut_scene, background, write_video
from PIL import Image
from test_engine import toy_config

from fbn_bench.cli import cli
from fbn_bench.experiment import run_experiment
from fbn_bench.faces.detection import iou
from fbn_bench.faces.frontend import FaceFrontEnd
from fbn_bench.predict import AU_INT_NAMES, AU_NAMES, COLUMNS, EXPRESSION_COLUMNS, predict_media
from fbn_bench.predict_draw import label_of

pytest.importorskip("av")
pytest.importorskip("cv2")
N_FRAMES, NO_FACE_FRAMES = 12, (7,)


@pytest.fixture(scope="module")
def toy_run(toy_root, registry, tmp_path_factory):
    return run_experiment(toy_config(toy_root, tmp_path_factory.mktemp("runs") / "mt"), registry, progress=False)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    Image.fromarray(astronaut()).save(folder / "photo.jpg", quality=92)
    Image.fromarray(background(200, 160)).save(folder / "empty.png")
    frames, boxes = [], []
    for k in range(N_FRAMES):
        scene, face = astronaut_scene(320, 240, (40 + 5 * k, 30))
        frames.append(background(320, 240) if k in NO_FACE_FRAMES else scene)
        boxes.append(face)
    write_video(folder / "video.mp4", frames)
    return folder, boxes


def test_photo_and_video_give_one_row_per_face_per_frame(toy_run, media, tmp_path, monkeypatch):
    monkeypatch.setenv("FBN_BENCH_PLUGINS", "engine_toy_plugin")
    folder, boxes = media
    out = tmp_path / "pred.csv"
    args = ["predict", str(folder / "photo.jpg"), str(folder / "video.mp4"), str(folder / "empty.png")]
    result = CliRunner().invoke(cli, [*args, "--run", str(toy_run.run_dir), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert tuple(table.columns) == COLUMNS
    photo = table[table["input"].str.endswith("photo.jpg")]
    assert len(photo) == 1 and photo["frame"].tolist() == [0]
    assert iou(photo[["FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight"]].iloc[0], ASTRONAUT_FACE) > 0.6
    video = table[table["input"].str.endswith("video.mp4")]
    # the frame with no face is bridged by the track (a one-frame gap), so every frame has its face
    assert video["frame"].tolist() == list(range(N_FRAMES))
    for _, row in video.iterrows():
        assert iou(row[["FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight"]], boxes[row["frame"]]) > 0.5
    # probabilities: the 7 expressions sum to one, AUs in [0, 1], valence and arousal in [-1, 1]
    np.testing.assert_allclose(table[list(EXPRESSION_COLUMNS)].sum(axis=1), 1.0, atol=1e-4)
    assert table[list(AU_NAMES)].stack().between(0, 1).all()
    assert table[["valence", "arousal"]].stack().between(-1, 1).all()
    assert "no face found in 1" in result.output and "empty.png" in result.output


def test_annotated_outputs_and_largest_only(toy_run, media, tmp_path, monkeypatch):
    monkeypatch.setenv("FBN_BENCH_PLUGINS", "engine_toy_plugin")
    folder, _ = media
    drawn = tmp_path / "drawn"
    out = tmp_path / "pred.csv"
    args = ["predict", str(folder), "--run", str(toy_run.run_dir / "checkpoint.pt"), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--annotate", str(drawn), "--largest", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in drawn.iterdir()) == ["empty.png", "photo.png", "video.mp4"]
    photo = np.asarray(Image.open(drawn / "photo.png"))
    assert (photo != astronaut()).any()  # the box was drawn
    import av

    with av.open(str(drawn / "video.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == N_FRAMES
    assert pd.read_csv(out).groupby(["input", "frame"]).size().max() == 1


def test_a_folder_without_media_and_a_bad_run_are_one_line(toy_run, tmp_path, monkeypatch):
    monkeypatch.setenv("FBN_BENCH_PLUGINS", "engine_toy_plugin")
    (tmp_path / "notes.txt").write_text("x")
    result = CliRunner().invoke(cli, ["predict", str(tmp_path), "--run", str(toy_run.run_dir)])
    assert result.exit_code == 2 and "holds no pictures" in result.output
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "notes.txt"), "--run", str(tmp_path)])
    assert result.exit_code == 2 and "no checkpoint" in result.output


class _IntensityNet(torch.nn.Module):
    """Fixed outputs, as a model with AU and AU-intensity heads gives them: intensity / 5, unbounded."""

    tasks = ("au", "au_int")

    def forward(self, images):
        b = images.shape[0]
        au_int = torch.full((b, len(AU_NAMES)), 0.2)
        au_int[:, :3] = torch.tensor([-0.1, 0.5, 1.3])  # below 0, mid-scale, above the top of the scale
        return {"au": torch.full((b, len(AU_NAMES)), -10.0), "au_int": au_int}  # every AU surely absent


def test_a_model_with_an_intensity_head_writes_intensities_0_to_5(tmp_path):
    Image.fromarray(background(64, 64)).save(tmp_path / "face.png")
    table, report = predict_media([tmp_path], _IntensityNet(), FaceFrontEnd(), 32, progress=False)
    assert tuple(table.columns) == (*COLUMNS, *AU_INT_NAMES) and report.faces == 1  # the picture used whole
    row = table.iloc[0]
    assert [row["AU01_int"], row["AU02_int"], row["AU04_int"]] == [0.0, 2.5, 5.0]  # clipped to FACS's 0-5
    assert row[list(AU_INT_NAMES[3:])].tolist() == pytest.approx([1.0] * (len(AU_NAMES) - 3))
    assert label_of(row.to_dict()) == ""  # intensities are not AU probabilities: none is drawn as present
    plain, _ = predict_media([tmp_path], _Plain(), FaceFrontEnd(), 32, progress=False)
    assert tuple(plain.columns) == COLUMNS  # a model without the head: py-feat's columns only


class _Plain(_IntensityNet):
    tasks = ("au",)

    def forward(self, images):
        return {"au": torch.zeros(images.shape[0], len(AU_NAMES))}
