"""Pictures and videos with faces at known places, for the face front end's tests.

Two kinds of face: a *marker face* (a red square with two blue eye dots) that the fake detector
(tests/fake_detector_plugin.py) finds exactly, for the plumbing and the geometry; and the astronaut's real face
(scikit-image's `astronaut()`, a photograph shipped inside a well-kept package) for the Haar detector. Videos are
encoded with PyAV; `brightness` puts each frame's number into its background so a test can tell frames apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

RED, BLUE = (230, 20, 20), (20, 20, 230)
# The astronaut's face and eye centres in skimage.data.astronaut() (512 x 512), read off the photograph by eye.
ASTRONAUT_FACE = (175.0, 70.0, 97.0, 95.0)
ASTRONAUT_EYES = ((202.0, 102.0), (247.0, 102.0))


def background(width: int, height: int, level: int = 90) -> np.ndarray:
    ramp = np.linspace(0, 40, width, dtype=np.float64)[None, :, None]
    return np.clip(level + ramp + np.zeros((height, width, 3)), 0, 255).astype(np.uint8)


def marker_face(scene: np.ndarray, box, eyes=None) -> np.ndarray:
    """Draw a marker face: the red box (x, y, w, h) and, by default, eyes at 30% / 70% across, 40% down."""
    x, y, w, h = (int(round(v)) for v in box)
    scene[y : y + h, x : x + w] = RED
    if eyes is None:
        eyes = ((x + 0.3 * w, y + 0.4 * h), (x + 0.7 * w, y + 0.4 * h))
    r = max(1, w // 12)
    for ex, ey in eyes:
        cx, cy = int(round(ex)), int(round(ey))
        scene[cy - r : cy + r + 1, cx - r : cx + r + 1] = BLUE
    return scene


def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


def astronaut_scene(width: int, height: int, at: tuple[int, int], face_side: int = 110) -> tuple[np.ndarray, tuple]:
    """The astronaut's head (a square around her face) pasted on a plain background at `at`; returns the scene
    and where her face box lies in it."""
    from PIL import Image

    fx, fy, fw, fh = ASTRONAUT_FACE
    pad = 30
    head = Image.fromarray(astronaut()).crop((int(fx - pad), int(fy - pad), int(fx + fw + pad), int(fy + fh + pad)))
    scale = face_side / fw
    head = head.resize((round(head.width * scale), round(head.height * scale)))
    scene = Image.fromarray(background(width, height))
    scene.paste(head, at)
    face = (at[0] + pad * scale, at[1] + pad * scale, fw * scale, fh * scale)
    return np.asarray(scene), face


def write_video(path: Path, frames: list[np.ndarray], fps: int = 20, codec: str = "mpeg4") -> Path:
    """Encode RGB frames (all one size, even sides) with PyAV."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "mpeg4":
            stream.options = {"qscale": "2"}  # near-lossless: the tests read positions and levels back
        for picture in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def brightness(level: int, width: int = 64, height: int = 48) -> np.ndarray:
    return np.full((height, width, 3), level, dtype=np.uint8)
