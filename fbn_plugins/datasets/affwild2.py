"""Dataset plugin: Aff-Wild2, as released for the ABAW competitions (VA, expressions, AUs).

Reads the owners' per-video annotation files of every ABAW edition and joins the three tasks by video
and frame number. Layout, options and pitfalls: docs/datasets/affwild2.md.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from fbn_bench import DatasetSpec, FbnError, Option, hookimpl
from fbn_bench.data.splits import val_carved
from fbn_bench.data.table import LoadedTable
from fbn_bench.tasks import EXPRESSIONS

from ._abaw import PARSERS, TASK_FOLDERS, find_split_folder, find_task_folders, video_of
from ._aff_common import attach_skipped, option_path, relative, require_root
from ._common import listing

# ABAW3 onward annotate 12 AUs; ABAW 2020 annotated 8 (adding AU20). The spec lists their union.
AFFWILD2_AUS = (1, 2, 4, 6, 7, 10, 12, 15, 20, 23, 24, 25, 26)
SKIP_UNANNOTATED = "not annotated for any task (-5 / -1 markers)"
SKIP_OTHER = "expression 'Other' and no other label"


@val_carved("affwild2", "video")
def load_affwild2(root: Path, split: str, *, images: str, annotations: str | None, classes: str) -> LoadedTable:
    root = require_root(root, "affwild2", "the Aff-Wild2 release (cropped_aligned/ and the ABAW annotations)")
    image_dir = option_path(images, root)
    if not image_dir.is_dir():
        raise FbnError(
            f"affwild2: face-crop folder {image_dir} not found; unzip cropped_aligned.zip there "
            f"or pass affwild2:images=FOLDER (relative to {root})"
        )
    base = option_path(annotations, root) if annotations else root
    if not base.is_dir():
        raise FbnError(f"affwild2: annotation folder {base} (from affwild2:annotations=) does not exist")
    tasks = find_task_folders(base, skip=(image_dir.name,))
    if not tasks:
        expected = ", ".join(name for names in TASK_FOLDERS.values() for name in names)
        raise FbnError(
            f"affwild2: no ABAW annotation folder ({expected}) found in {base} or 4 levels below; "
            f"unzip the ABAW annotations into {base} or pass affwild2:annotations=FOLDER"
        )

    per_task = []
    for task, folder in sorted(tasks.items()):
        split_folder = find_split_folder(folder, split)
        frames = []
        for path in listing(split_folder, "*.txt"):
            parsed = PARSERS[task](path)
            part = pd.DataFrame({"stem": path.stem, "frame": parsed.frames, **parsed.values})
            if parsed.other is not None:
                part["other"] = parsed.other
            frames.append(part)
        if frames:
            per_task.append(pd.concat(frames, ignore_index=True))
    if not per_task:
        return attach_skipped(_empty(), {})

    # Frames of one video are joined across the three tasks by (annotation file stem, frame number).
    table = per_task[0]
    for part in per_task[1:]:
        table = table.merge(part, on=["stem", "frame"], how="outer")
    if "other" in SPEC.expression_protocols[classes] and "other" in table.columns:
        # The ABAW protocol (`classes=8`): "Other" is the eighth class, not a missing label.
        table.loc[table["other"].eq(True), "expression"] = "other"
    au_columns = [c for c in table.columns if c.startswith("AU")]
    has_label = table[au_columns].notna().any(axis=1) if au_columns else pd.Series(False, index=table.index)
    for column in ("valence", "expression"):
        if column in table.columns:
            has_label |= table[column].notna()
    other_only = ~has_label & (table["other"].eq(True) if "other" in table.columns else False)
    skipped = Counter({SKIP_OTHER: int(other_only.sum()), SKIP_UNANNOTATED: int((~has_label & ~other_only).sum())})
    table = table[has_label].sort_values(["stem", "frame"]).reset_index(drop=True)

    image_prefix = relative(image_dir, root)
    stems = table["stem"].astype(str)
    table.insert(
        0, "image", image_prefix + "/" + stems + "/" + table["frame"].astype(np.int64).astype(str).str.zfill(5) + ".jpg"
    )
    # One annotation file per person: `_left`/`_right` files are two people of one video.
    table.insert(1, "subject", stems)
    table.insert(2, "video", stems.map(video_of))
    table["frame"] = table["frame"].astype(np.int64)
    table = table.drop(columns=[c for c in ("stem", "other") if c in table.columns])
    return attach_skipped(table, skipped)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image": pd.Series(dtype=str),
            "subject": pd.Series(dtype=str),
            "video": pd.Series(dtype=str),
            "frame": pd.Series(dtype=np.int64),
        }
    )


SPEC = DatasetSpec(
    name="affwild2",
    tasks={"va", "expr", "au"},
    aus=AFFWILD2_AUS,
    splits=("train", "val", "test"),
    load=load_affwild2,
    description="Aff-Wild2 (ABAW releases): in-the-wild videos, per-frame VA, 7 basic expressions (8 with Other: classes=8) and 12 AUs (8 in ABAW 2020). "
    "`test` is the validation set: test labels are not public.",
    citation="Kollias & Zafeiriou, Expression, Affect, Action Unit Recognition: Aff-Wild2, Multi-Task Learning and ArcFace, BMVC 2019",
    homepage="https://ibug.doc.ic.ac.uk/resources/aff-wild2/",
    license="Academic research only, under the owners' end-user licence agreement",
    loader_version="1",
    options=(
        Option(
            "images",
            str,
            "cropped_aligned",
            help="folder of the per-video face crops, relative to the root (cropped for the unaligned crops)",
        ),
        Option(
            "annotations",
            str,
            None,
            help="folder that holds the ABAW task folders, relative to the root; needed only when several "
            "editions are unpacked side by side",
        ),
    ),
    group_column="subject",
    # The challenges score expressions over 8 classes, "Other" among them (`affwild2:classes=8`).
    expression_protocols={"7": EXPRESSIONS, "8": (*EXPRESSIONS, "other")},
)


@hookimpl
def register_datasets(register):
    register(SPEC)
