"""Frames of a video file, decoded in order with PyAV and counted here.

A container's frame count (`stream.frames`, ffprobe's nb_frames) is often missing or off by one, and seeking by
index lands on the nearest keyframe; so a video is always decoded from its first frame, sequentially, and frame k
is the k-th frame the decoder returns (0-based, presentation order). docs/faces.md has the policy that pairs
these with a database's label lines.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import FbnError

VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
INSTALL = "pip install 'fbn-bench[faces]'"


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _av():
    try:
        import av
    except ImportError:
        raise FbnError(f"reading videos needs PyAV, which is not installed: {INSTALL}") from None
    return av


@dataclass
class VideoReport:
    """What one pass over a video found: `frames` decoded (all of them, counted), and `error` when the file
    could not be opened or stopped decoding part-way (frames from that point on were not seen)."""

    frames: int = 0
    error: str | None = None


def read_frames(
    path: str | Path, wanted: Collection[int] | None, report: VideoReport
) -> Iterator[tuple[int, Image.Image]]:
    """Yield (index, RGB picture) for each decoded frame whose index is in `wanted` (all when None), and fill
    `report` as it goes. Decodes to the end even past the last wanted frame, so `report.frames` is the video's
    true length; only wanted frames are converted to pictures."""
    av = _av()
    want = None if wanted is None else set(wanted)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                report.error = "the file has no video stream"
                return
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame-parallel decoding; order is unchanged
            for frame in container.decode(stream):
                index = report.frames
                report.frames += 1
                if want is None or index in want:
                    yield index, frame.to_image()
    except av.error.FFmpegError as err:
        report.error = f"{type(err).__name__}: {err}"
