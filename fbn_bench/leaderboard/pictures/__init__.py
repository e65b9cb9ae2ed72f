"""A database's leaderboard pictures, one kind a module, all checked the same way (base.Picture): the paired
differences from the baseline (forest), the expression confusion, the per-AU F1 and AP, the learning curves."""

from __future__ import annotations

from .au import AU_DIR, AUPicture, au_picture
from .base import Picture, picture_name
from .confusion import CONFUSION_DIR, ConfusionPicture, confusion_picture
from .curves import CURVES_DIR, CurvesPicture, curves_picture
from .forest import FOREST_DIR, ForestPicture, forest_picture

# Every folder a build writes pictures into: a picture there that the records no longer build is stale.
PICTURE_FOLDERS = (FOREST_DIR, CONFUSION_DIR, AU_DIR, CURVES_DIR)

__all__ = [
    "AUPicture",
    "ConfusionPicture",
    "CurvesPicture",
    "ForestPicture",
    "PICTURE_FOLDERS",
    "Picture",
    "picture_name",
    "table_pictures",
]


def table_pictures(table, frames_of: dict[str, list], entries: dict, spec=None) -> list[Picture]:
    """The pictures of a built table (ranked, compared), in the order its Markdown shows them. `frames_of`:
    config hash -> its seeds' predictions frames; `entries`: config hash -> its Entry."""
    found = [
        forest_picture(table),
        confusion_picture(table, frames_of, spec) if "expr" in table.tasks else None,
        au_picture(table, spec) if "au" in table.tasks else None,
        curves_picture(table, entries, spec),
    ]
    return [p for p in found if p is not None]
