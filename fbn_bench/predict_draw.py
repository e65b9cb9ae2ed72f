"""The pictures `fbn-bench predict --annotate DIR` draws: each face's box with its top expression, valence and
arousal, and the AUs it finds present. A picture becomes `<DIR>/<name>.png`, a video `<DIR>/<name>.mp4`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .faces.video import is_video
from .predict import AU_NAMES
from .tasks import EXPRESSION_VOCABULARY, EXPRESSIONS

COLOUR = (40, 220, 90)


def label_of(row: dict) -> str:
    parts = []
    probs = {name: row.get(name) for name in EXPRESSION_VOCABULARY if name in EXPRESSIONS or name in row}
    if all(v is not None and np.isfinite(v) for v in probs.values()):
        top = max(probs, key=probs.get)
        parts.append(f"{top} {probs[top]:.2f}")
    if np.isfinite(row.get("valence", np.nan)):
        parts.append(f"V {row['valence']:+.2f} A {row['arousal']:+.2f}")
    present = {k: v for k, v in row.items() if k in AU_NAMES and np.isfinite(v) and v >= 0.5}
    if present:  # the surest first
        parts.append(" ".join(sorted(present, key=present.get, reverse=True)[:5]))
    return " | ".join(parts)


class Annotator:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._video = None  # (input path, container, stream)

    def draw(self, path: Path, frame: int, picture: Image.Image, rows: list[dict]) -> None:
        canvas = picture.copy()
        pen = ImageDraw.Draw(canvas)
        width = max(2, canvas.width // 300)
        for row in rows:
            x, y, w, h = (row[c] for c in ("FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight"))
            pen.rectangle((x, y, x + w, y + h), outline=COLOUR, width=width)
            at = (x, max(0, y - 14))
            pen.rectangle(pen.textbbox(at, label_of(row)), fill=(0, 0, 0))  # readable on any background
            pen.text(at, label_of(row), fill=COLOUR)
        if not is_video(path):
            canvas.save(self.folder / f"{Path(path).stem}.png")
            return
        self._write_frame(Path(path), canvas)

    def _write_frame(self, path: Path, canvas: Image.Image) -> None:
        import av

        if self._video is None or self._video[0] != path:
            self.close()
            container = av.open(str(self.folder / f"{path.stem}.mp4"), "w")
            stream = container.add_stream("mpeg4", rate=25)
            stream.width, stream.height = canvas.width // 2 * 2, canvas.height // 2 * 2
            stream.pix_fmt = "yuv420p"
            self._video = (path, container, stream)
        _, container, stream = self._video
        frame = av.VideoFrame.from_image(canvas.crop((0, 0, stream.width, stream.height)))
        for packet in stream.encode(frame):
            container.mux(packet)

    def close(self) -> None:
        if self._video is not None:
            _, container, stream = self._video
            for packet in stream.encode():
                container.mux(packet)
            container.close()
            self._video = None
