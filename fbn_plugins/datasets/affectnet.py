"""Dataset plugin: AffectNet (manually annotated part): 7 basic expressions and valence-arousal.

Reads either release as the owners ship it: the CSV file lists with face boxes (the core crops to them),
or the March 2021 per-image `.npy` files. The validation list is the `test` split (there is no public
test set). See docs/datasets/affectnet.md.
"""

from __future__ import annotations

from pathlib import Path

from fbn_bench import DatasetSpec, FbnError, Option, hookimpl
from fbn_bench.data.splits import val_carved
from fbn_bench.data.table import LoadedTable
from fbn_bench.tasks import EXPRESSIONS

from ._aff_common import option_path, require_root
from ._affectnet import (
    CSV_FILES,
    NPY_SETS,
    expression_codes,
    find_csv,
    find_csv_images,
    find_npy_set,
    read_csv_release,
    read_npy_release,
)


@val_carved("affectnet", "image")
def load_affectnet(root: Path, split: str, *, release: str, images: str | None, classes: str) -> LoadedTable:
    root = require_root(root, "affectnet", "the AffectNet release")
    codes = expression_codes(SPEC.expression_protocols[classes])
    csv_path = find_csv(root, split) if release in ("auto", "csv") else None
    if csv_path is not None:
        image_dir = option_path(images, root) if images else find_csv_images(root)
        if image_dir is None or not image_dir.is_dir():
            raise FbnError(
                f"affectnet: image folder {image_dir or root / 'Manually_Annotated_Images'} not found; "
                f"unpack Manually_Annotated_Images there or pass affectnet:images=FOLDER (relative to {root})"
            )
        table = read_csv_release(csv_path, root, image_dir, codes)
    else:
        set_dir = find_npy_set(root, split) if release in ("auto", "npy") else None
        if set_dir is None:
            raise FbnError(
                f"affectnet: no {split} annotations under {root}: expected "
                f"{root}/Manually_Annotated_file_lists/{CSV_FILES[split]} (CSV release) or "
                f"{root}/{NPY_SETS[split]}/annotations/ (.npy release)"
            )
        table = read_npy_release(set_dir, root, codes)
    return table


SPEC = DatasetSpec(
    name="affectnet",
    tasks={"va", "expr"},
    splits=("train", "val", "test"),
    load=load_affectnet,
    description="AffectNet, manually annotated part: in-the-wild web images, 7 basic expressions (8 with contempt: classes=8) and valence-arousal. "
    "`test` is the validation list (no public test set).",
    citation="Mollahosseini, Hasani & Mahoor, AffectNet: A Database for Facial Expression, Valence, and Arousal Computing in the Wild, IEEE TAC 2017",
    homepage="http://mohammadmahoor.com/affectnet/",
    license="Academic research only, under the owners' end-user licence agreement",
    loader_version="1",
    options=(
        Option(
            "release",
            str,
            "auto",
            choices=("auto", "csv", "npy"),
            help="which release: auto reads the CSV release if its file lists are found, else the .npy release",
        ),
        Option(
            "images",
            str,
            None,
            help="CSV release: folder that subDirectory_filePath is relative to "
            "(not set: Manually_Annotated_Images, found up to 2 levels down)",
        ),
    ),
    # Web images of mostly distinct people, with no identity labels: each image is its own unit.
    group_column=None,
    # AffectNet-8 (`affectnet:classes=8`) keeps contempt (code 7), the protocol most AffectNet papers also report.
    expression_protocols={"7": EXPRESSIONS, "8": (*EXPRESSIONS, "contempt")},
)


@hookimpl
def register_datasets(register):
    register(SPEC)
