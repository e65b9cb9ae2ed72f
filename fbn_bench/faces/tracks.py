"""Faces followed through a video: each frame's detections linked into tracks, short gaps bridged, boxes
smoothed. Used when a video's faces come from a detector (the image cache, `fbn-bench predict`); docs/faces.md.

A detector looks at each frame alone, so its box jitters by a few pixels and it misses a face for a frame or two
(a blink, motion blur, a hand). Both would reach the network as noise; a track fixes both with no model of its
own: a detection joins the track whose last box it overlaps most (IoU >= LINK_IOU); a track that misses at most
`max_gap` frames is bridged by linear interpolation between its boxes on either side; and each box is replaced
by the mean of the boxes within `window` frames of it in its track. A jump (IoU below LINK_IOU) starts a new
track, so two people are never averaged into one box.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .detection import Face, iou, largest

LINK_IOU = 0.3
# The image cache and `fbn-bench predict` both follow faces with these (docs/faces.md#videos).
MAX_GAP = 5
WINDOW = 2


def link(frames: Sequence[Sequence[Face]], max_gap: int) -> list[dict[int, Face]]:
    """Tracks as {frame position: Face}: greedy, highest IoU first, over tracks seen within max_gap + 1 frames."""
    tracks: list[dict[int, Face]] = []
    last: list[int] = []  # each track's last frame position
    for t, faces in enumerate(frames):
        open_ = [k for k in range(len(tracks)) if t - last[k] <= max_gap + 1]
        pairs = sorted(
            ((iou(tracks[k][last[k]].box, f.box), k, j) for k in open_ for j, f in enumerate(faces)), reverse=True
        )
        used_tracks: set[int] = set()
        used_faces: set[int] = set()
        for overlap, k, j in pairs:
            if overlap < LINK_IOU or k in used_tracks or j in used_faces:
                continue
            tracks[k][t], last[k] = faces[j], t
            used_tracks.add(k)
            used_faces.add(j)
        for j, face in enumerate(faces):
            if j not in used_faces:
                tracks.append({t: face})
                last.append(t)
    return tracks


def _vector(face: Face) -> np.ndarray:
    points = face.landmarks if face.landmarks is not None else np.full((5, 2), np.nan)
    return np.concatenate([np.asarray(face.box, dtype=np.float64), points.ravel()])


def _mean(vectors: list[np.ndarray]) -> np.ndarray:
    """Box and landmarks averaged; a landmark unknown in every frame stays unknown (NaN, without a warning)."""
    stack = np.stack(vectors)
    known = np.isfinite(stack)
    counts = known.sum(axis=0)
    total = np.where(known, stack, 0.0).sum(axis=0)
    return np.where(counts > 0, total / np.maximum(counts, 1), np.nan)


def _face(vector: np.ndarray, score: float) -> Face:
    points = vector[4:].reshape(5, 2)
    return Face(tuple(vector[:4]), score, None if np.isnan(points).all() else points)


def follow(track: dict[int, Face], max_gap: int, window: int) -> dict[int, Face]:
    """One track bridged over gaps of at most `max_gap` frames and smoothed over +-`window` frames. A bridged
    frame's score is the lower of its two neighbours' (it was not detected there)."""
    known = sorted(track)
    filled: dict[int, tuple[np.ndarray, float]] = {t: (_vector(track[t]), track[t].score) for t in known}
    for a, b in zip(known, known[1:]):
        if 1 < b - a <= max_gap + 1:
            va, vb = filled[a][0], filled[b][0]
            score = min(filled[a][1], filled[b][1])
            for t in range(a + 1, b):
                w = (t - a) / (b - a)
                filled[t] = ((1 - w) * va + w * vb, score)
    out: dict[int, Face] = {}
    for t, (_, score) in sorted(filled.items()):
        near = [filled[s][0] for s in range(t - window, t + window + 1) if s in filled]
        out[t] = _face(_mean(near), score)
    return out


def follow_faces(
    frames: Sequence[Sequence[Face]], *, max_gap: int = MAX_GAP, window: int = WINDOW, only_largest: bool = True
) -> list[list[Face]]:
    """Each frame's faces after linking, bridging and smoothing. `only_largest`: each frame's largest detection
    alone is followed, and a bridged box never covers a frame where another face was detected."""
    if only_largest:
        frames = [[f] if (f := largest(faces)) is not None else [] for faces in frames]
    out: list[list[Face]] = [[] for _ in frames]
    for track in link(frames, max_gap):
        for t, face in follow(track, max_gap, window).items():
            if only_largest and frames[t] and t not in track:
                continue  # a bridge across someone else's detection: keep the detection
            out[t].append(face)
    if only_largest:  # two tracks may still meet on a frame (one real, one smoothed): keep the larger
        out = [[largest(faces)] if faces else [] for faces in out]
    return out
