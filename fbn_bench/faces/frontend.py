"""The face front end a run or `fbn-bench predict` uses: which detector (a plugin, with its options), which crop,
and the one function that turns a picture and what is known of its face into the network's input."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from ..errors import FbnError
from .align import CROPS, align_crop, box_crop
from .detection import Face, crop_box

# Bump when a crop's pixels change for the same inputs (margin, template, resampling): caches stop matching.
VERSION = "1"
# Each side of a detected face's box is widened by this fraction of its size (detection.crop_box).
MARGIN = 0.2
NO_DETECTOR = "none"


@dataclass
class FaceFrontEnd:
    """`detector`: the resolved detector plugin (fbn_bench.options.ResolvedPlugin) or None (`--face-detector
    none`: pictures without a shipped box are used whole, as before this front end existed); `crop`: "box" or
    "align" (docs/faces.md). A detector is built lazily, once per thread."""

    detector: Any = None
    crop: str = "box"
    _local: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.crop not in CROPS:
            raise FbnError(f"face crop {self.crop!r} is not one of {', '.join(CROPS)}")

    @classmethod
    def from_settings(cls, registry, detector: str, crop: str) -> FaceFrontEnd:
        text = (detector or NO_DETECTOR).strip()
        resolved = None if text == NO_DETECTOR else registry.resolve("detectors", text)
        return cls(resolved, crop)

    @property
    def name(self) -> str:
        return NO_DETECTOR if self.detector is None else self.detector.name

    def describe(self) -> dict[str, Any]:
        """What decides a crop's pixels besides its inputs: part of the image-cache key and of a run's hash."""
        return {
            "detector": self.name,
            "detector_options": {} if self.detector is None else self.detector.recorded_options(),
            "crop": self.crop,
            "version": VERSION,
        }

    def detect(self, image: np.ndarray) -> list[Face]:
        if self.detector is None:
            raise FbnError("no face detector is set (--face-detector none) but a picture needs one")
        detect = getattr(self._local, "detect", None)
        if detect is None:
            detect = self._local.detect = self.detector.spec.build(**self.detector.options)
        return list(detect(image))

    def crop_face(self, image: Image.Image, face: Face, size: int) -> np.ndarray:
        """A detected (or tracked) face as the network's input: aligned on its eyes when asked and known, else
        the widened square box."""
        eyes = face.eyes
        if self.crop == "align" and eyes is not None:
            return align_crop(image, eyes, size)
        return box_crop(image, crop_box(face.box, MARGIN), size)
