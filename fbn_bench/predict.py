"""`fbn-bench predict`: a trained model applied to anyone's photos and videos. Faces are found by the face front
end (the run's detector and crop unless told otherwise), cropped exactly as the run's training data was, and
scored in batches; one CSV row per face per frame, columns named like py-feat's Fex (docs/faces.md)."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from tqdm.auto import tqdm

from .data.images import BadImageError, open_picture
from .errors import FbnError
from .faces.detection import Face, largest
from .faces.frontend import FaceFrontEnd
from .faces.tracks import follow_faces
from .faces.video import VideoReport, is_video, read_frames
from .model import class_logits, intensities
from .tasks import AUS, EXPRESSIONS

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm")
BOX_COLUMNS = ("FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight", "FaceScore")  # py-feat's names
EXPRESSION_COLUMNS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")  # py-feat's order
AU_NAMES = tuple(f"AU{a:02d}" for a in AUS)  # py-feat writes AU01, AU02, ...
COLUMNS = ("input", "frame", "face", *BOX_COLUMNS, "valence", "arousal", *EXPRESSION_COLUMNS, *AU_NAMES)
# AU intensities 0-5 (py-feat has no such columns): only from a model trained with the opt-in au_int task.
AU_INT_NAMES = tuple(f"{name}_int" for name in AU_NAMES)


def output_columns(model) -> list[str]:
    """COLUMNS, with the model's extra expression classes (contempt, other) after the 7 and its AU intensities
    at the end, for a model that has them."""
    extra = [c for c in getattr(model, "expr_classes", EXPRESSIONS) if c not in EXPRESSIONS]
    at = COLUMNS.index(EXPRESSION_COLUMNS[-1]) + 1
    intensity = AU_INT_NAMES if "au_int" in getattr(model, "tasks", ()) else ()
    return [*COLUMNS[:at], *extra, *COLUMNS[at:], *intensity]


@dataclass
class PredictReport:
    """What a prediction saw: pictures and frames read, faces scored, and what was skipped (with examples)."""

    frames: int = 0
    faces: int = 0
    no_face: list[str] = field(default_factory=list)  # "input [frame k]" without a face
    unreadable: list[str] = field(default_factory=list)  # inputs that could not be read, with why

    def summary(self) -> str:
        parts = [f"{self.faces} faces in {self.frames} pictures/frames"]
        if self.no_face:
            parts.append(f"no face found in {len(self.no_face)} (e.g. {self.no_face[0]})")
        if self.unreadable:
            parts.append(f"{len(self.unreadable)} inputs unreadable (e.g. {self.unreadable[0]})")
        return "; ".join(parts)


def media_files(paths: Sequence[str | Path]) -> list[Path]:
    """The pictures and videos named, folders searched recursively (sorted), in the order given."""
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            inside = sorted(p for p in given.rglob("*") if p.is_file() and _media(p))
            if not inside:
                raise FbnError(f"{given} holds no pictures ({', '.join(IMAGE_SUFFIXES)}) or videos")
            found += inside
        elif given.is_file():
            found.append(given)
        else:
            raise FbnError(f"{given}: no such file or folder")
    return found


def _media(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES or is_video(path)


class _Scorer:
    """Crops in, scored rows out, `batch_size` at a time on the model's device."""

    def __init__(self, model, device, batch_size: int, size: int) -> None:
        self.model, self.device, self.batch_size, self.size = model, device, batch_size, size
        self.crops: list[np.ndarray] = []
        self.meta: list[dict] = []
        self.rows: list[dict] = []

    def add(self, crop: np.ndarray, meta: dict) -> None:
        self.crops.append(crop)
        self.meta.append(meta)
        if len(self.crops) >= self.batch_size:
            self.flush()

    @torch.no_grad()
    def flush(self) -> None:
        if not self.crops:
            return
        from .data.augment import normalize

        images = torch.from_numpy(np.stack(self.crops)).permute(0, 3, 1, 2).contiguous().to(self.device)
        outputs = self.model(normalize(images))
        va = outputs["va"].float().cpu().numpy() if "va" in outputs else None
        classes = getattr(self.model, "expr_classes", EXPRESSIONS)  # the 7, and any extra class it was trained on
        expr = torch.softmax(class_logits(outputs, classes).float(), 1).cpu().numpy() if "expr" in outputs else None
        au = torch.sigmoid(outputs["au"].float()).cpu().numpy() if "au" in outputs else None
        au_int = intensities(outputs["au_int"].float().cpu().numpy()) if "au_int" in outputs else None
        for i, meta in enumerate(self.meta):
            row = dict(meta)
            row["valence"], row["arousal"] = va[i] if va is not None else (math.nan, math.nan)
            for k, name in enumerate(classes):
                row[name] = expr[i, k] if expr is not None else math.nan
            for k, name in enumerate(AU_NAMES):
                row[name] = au[i, k] if au is not None else math.nan
            if au_int is not None:
                row.update(zip(AU_INT_NAMES, au_int[i].tolist()))
            self.rows.append(row)
        self.crops, self.meta = [], []


def _faces_of(front: FaceFrontEnd, picture: Image.Image, only_largest: bool) -> list[Face]:
    if front.detector is None:  # --face-detector none: the picture is the face
        return [Face((0, 0, picture.width, picture.height), math.nan)]
    faces = front.detect(np.asarray(picture))
    return [f for f in [largest(faces)] if f is not None] if only_largest else faces


def _crop(front: FaceFrontEnd, picture: Image.Image, face: Face, size: int) -> np.ndarray:
    if front.detector is None:
        return np.asarray(picture.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
    return front.crop_face(picture, face, size)


def _meta(path: Path, frame: int, number: int, face: Face) -> dict:
    return {"input": str(path), "frame": frame, "face": number, **dict(zip(BOX_COLUMNS, (*face.box, face.score)))}


def _video_faces(path: Path, front: FaceFrontEnd, only_largest: bool, report: PredictReport, bar) -> list[list[Face]]:
    """Pass 1 over a video: every frame's faces, then linked, bridged and smoothed (faces/tracks.py)."""
    seen = VideoReport()
    found = []
    for index, picture in read_frames(path, None, seen):
        found.append(_faces_of(front, picture, False))
        bar.set_postfix_str(f"{path.name}: finding faces, frame {index}", refresh=False)
    if seen.error and not found:
        report.unreadable.append(f"{path} ({seen.error})")
    if front.detector is None:
        return found
    return follow_faces(found, only_largest=only_largest)


def _pictures(
    files: Sequence[Path], front: FaceFrontEnd, only_largest: bool, report: PredictReport, bar
) -> Iterator[tuple[Path, int, Image.Image, list[Face]]]:
    """(input, frame, picture, its faces) for every picture and every video frame; frame is 0 for a picture."""
    for path in files:
        if not is_video(path):
            try:
                picture = open_picture(path)
            except BadImageError as err:
                report.unreadable.append(f"{path} ({err.reason})")
            else:
                yield path, 0, picture, _faces_of(front, picture, only_largest)
            bar.update(1)
            continue
        tracked = _video_faces(path, front, only_largest, report, bar)
        for index, picture in read_frames(path, None, VideoReport()):
            bar.set_postfix_str(f"{path.name}: scoring, frame {index}", refresh=False)
            yield path, index, picture, tracked[index] if index < len(tracked) else []
        bar.update(1)


def predict_media(
    inputs: Sequence[str | Path],
    model,
    front: FaceFrontEnd,
    image_size: int,
    *,
    device="cpu",
    batch_size: int = 64,
    only_largest: bool = False,
    annotate: Path | None = None,
    progress: bool = True,
) -> tuple[pd.DataFrame, PredictReport]:
    """Score every face in `inputs` (pictures, videos, folders of them). Returns (one row per face per frame,
    `output_columns(model)`: COLUMNS with the model's extra expression classes and intensities; what was seen and skipped). `annotate`: a folder for each input drawn with boxes and top labels."""
    from .predict_draw import Annotator

    files = media_files(inputs)
    report = PredictReport()
    scorer = _Scorer(model, device, batch_size, image_size)
    annotator = Annotator(annotate) if annotate is not None else None
    model.eval()
    bar = tqdm(total=len(files), desc="predict", unit="input", leave=False, disable=None if progress else True)
    with bar:
        for path, frame, picture, faces in _pictures(files, front, only_largest, report, bar):
            report.frames += 1
            if not faces:
                report.no_face.append(f"{path} [frame {frame}]" if is_video(path) else str(path))
            for number, face in enumerate(faces):
                scorer.add(_crop(front, picture, face, image_size), _meta(path, frame, number, face))
                report.faces += 1
            if annotator is not None:
                scorer.flush()  # the labels of this frame's faces are needed to draw it
                annotator.draw(path, frame, picture, scorer.rows[len(scorer.rows) - len(faces) :])
        scorer.flush()
        if annotator is not None:
            annotator.close()
    columns = output_columns(model)
    return pd.DataFrame(scorer.rows, columns=columns), report


def write_table(table: pd.DataFrame, out: Path) -> None:
    from .atomic import atomic_path

    with atomic_path(out, "the predictions CSV") as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")


def load_model(checkpoint_path: str | Path, registry, cpu: bool = False):
    """(model on its device, the run's configuration, device) from a run folder or a checkpoint file."""
    from .checkpoint import load_checkpoint
    from .model import build_model, state_classes

    checkpoint = load_checkpoint(checkpoint_path)
    config = checkpoint.config
    # The checkpoint carries the weights, and the expression classes they were trained on.
    model = build_model(replace(config, weights=None), registry, state_classes(checkpoint.state))
    model.load_state_dict(checkpoint.state)
    device = torch.device("cuda" if torch.cuda.is_available() and not cpu else "cpu")
    return model.to(device), config, device


def echo_report(report: PredictReport, out: Path) -> None:
    print(f"wrote {out}: {report.summary()}", file=sys.stderr)
