"""The face front end: faces found, followed and cropped in photos, video frames and full-frame databases.

`detection.py` (what a detector returns, the largest face, the box a crop takes), `align.py` (box crop or a
similarity transform on the eye centres), `video.py` (frames decoded in order with PyAV, counted by us),
`tracks.py` (boxes followed over a video: short gaps bridged, jitter smoothed), `frontend.py` (the settings a
run or `fbn-bench predict` names, as one object the image cache hashes). Detectors are plugins
(`DetectorSpec`, hook `register_detectors`); docs/faces.md.
"""

from .detection import Face, largest

__all__ = ["Face", "largest"]
