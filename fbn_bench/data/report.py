"""What a prepared split tells the user (data/cache.py prints it when it prepares the split; `datasets check`
lists it): the one line on the rows it lost, and the notes on videos whose length differs from their labels and
on faces that could not be aligned. Notes are never skipped rows."""

from __future__ import annotations

from pathlib import Path

from ..faces.frontend import FaceFrontEnd
from .images import REASONS


def skip_warning(p) -> str:
    """The one line printed per split that lost rows (`p`, a PreparedSplit): failed images first, then the loader's
    drops."""
    loader = {k: v for k, v in p.skipped.items() if k not in REASONS}
    failed = {k: v for k, v in p.skipped.items() if k in REASONS}
    parts = []
    if failed:
        path, reason = p.skipped_examples[0]
        counts = ", ".join(f"{failed[r]} {r}" for r in REASONS if r in failed)
        parts.append(f"skipped {sum(failed.values())} of {len(p.table)} images ({counts}), e.g. {path} ({reason})")
    if loader:
        counts = ", ".join(f"{n} {reason}" for reason, n in loader.items())
        parts.append(f"the loader left out {sum(loader.values())} rows ({counts})")
    return f"warning: {p.name}/{p.split}: {'; '.join(parts)}; all are counted in the result records"


def video_notes(meta: dict) -> list[str]:
    """One line on the videos whose decoded length differs from their labels (docs/faces.md, the video policy)."""
    videos = meta.get("videos") or {}
    short = {p: v for p, v in videos.items() if v["frames"] is not None and v["frames"] < v["labelled"]}
    longer = {p: v for p, v in videos.items() if v["frames"] is not None and v["frames"] > v["labelled"]}
    notes = []
    for group, what in (
        (short, "fewer frames than their labels (the labels past the end are skipped)"),
        (longer, "more frames than their labels (the frames past the last label are not used)"),
    ):
        if group:
            path, v = next(iter(sorted(group.items())))
            notes.append(
                f"{len(group)} of {len(videos)} videos have {what}, e.g. {Path(path).name}: "
                f"{v['frames']} frames decoded, labels up to frame {v['labelled']}"
            )
    return notes


def crop_notes(meta: dict, front: FaceFrontEnd | None) -> list[str]:
    """One line on the faces box-cropped for want of eye centres when the run aligns (--face-crop align)."""
    crops = meta.get("crops") or {}
    if front is not None and front.crop == "align" and crops.get("box"):
        total = crops.get("box", 0) + crops.get("align", 0)
        return [f"{crops['box']} of {total} faces were box-cropped: no eye centres for them (--face-crop align)"]
    return []
