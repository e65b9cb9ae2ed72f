"""Dataset plugins `rafdb` (RAF-DB basic, 7 expressions) and `rafdb-compound` (its 11 compound classes).

Layout (docs/datasets/rafdb.md): `<root>/basic/EmoLabel/list_patition_label.txt` (the distributed
name has the typo; the README's `list_partition_label.txt` is accepted too), one `<image> <code>` per
line, codes 1-based; images under `Image/aligned/<stem>_aligned.jpg` or `Image/original/<image>`.
RAF-DB identifies no people, so each image is its own `subject`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fbn_bench import DatasetSpec, FbnError, Option, hookimpl
from fbn_bench.data.splits import val_carved

from ._common import find_first, line_error, numbered_lines, require_root
from ._compound import COMPOUND_CLASSES, COMPOUND_EXPRESSIONS

# 1-based codes of the official README (note: not the order of fbn_bench.EXPRESSIONS).
BASIC_CODES = {1: "surprise", 2: "fear", 3: "disgust", 4: "happiness", 5: "sadness", 6: "anger", 7: "neutral"}
# 1-based codes of the compound set, in the order of the distributed README (= COMPOUND_EXPRESSIONS).
COMPOUND_CODES = {i: name for i, name in enumerate(COMPOUND_EXPRESSIONS, start=1)}
# The compound names that codes 1-7 map to: all a basic file read as compound would produce.
BASIC_NAMES_AS_COMPOUND = {COMPOUND_CODES[c] for c in BASIC_CODES}
LABEL_FILES = ("EmoLabel/list_patition_label.txt", "EmoLabel/list_partition_label.txt")
# The other part of the release, and the dataset that reads it: a root pointing at the wrong part is named.
OTHER_PART = {
    "basic": ("compound", "rafdb-compound", "11 compound expressions"),
    "compound": ("basic", "rafdb", "7 basic expressions"),
}
# A compound label file with this many lines and no code above 7 is the basic file (in RAF-DB's compound
# set codes 8-11 are over 40% of the faces; 50 lines without one would be a 1e-12 chance).
BASIC_LOOKALIKE_LINES = 50
IMAGE_OPTION = Option(
    "images",
    str,
    "aligned",
    choices=("aligned", "original"),
    help="which images the table points at: aligned (100x100, Image/aligned/<stem>_aligned.jpg) or original "
    "(Image/original/<name>)",
)

CITATION = (
    "Li, S., Deng, W., Du, J. Reliable crowdsourcing and deep locality-preserving learning for "
    "expression recognition in the wild. CVPR 2017."
)
HOMEPAGE = "http://www.whdeng.cn/RAF/model1.html"
LICENSE = "Non-commercial research use under the RAF-DB agreement (request access from the owners)"


def _base(root: Path, part: str, name: str) -> tuple[Path, bool]:
    """The `basic/` or `compound/` folder: `<root>/<part>`, or `<root>` itself when it holds EmoLabel/.
    rafdb-compound also looks in the sibling `<root>/../rafdb/compound` (one RAF-DB folder for both).
    Returns (folder, whether image paths can be written relative to root)."""
    root = Path(root)
    candidates = [(root / part, True), (root, True)]
    if part == "compound":
        candidates.append((root.parent / "rafdb" / "compound", False))
    for folder, inside in candidates:
        if any((folder / f).is_file() for f in LABEL_FILES):
            if folder == root and root.name.lower() == OTHER_PART[part][0]:
                raise _wrong_part(root, part, name)
            return folder, inside
    if not (part == "compound" and candidates[-1][0].is_dir()):
        require_root(root, name)
    tried = " or ".join(str(folder / LABEL_FILES[0]) for folder, _ in candidates)
    raise FbnError(
        f"RAF-DB {part} label file not found: expected {tried} (the README's spelling "
        f"list_partition_label.txt is accepted too); point --root at the folder that holds {part}/"
    )


def _wrong_part(folder: Path, part: str, name: str) -> FbnError:
    """`folder` holds the other part of RAF-DB than `name` reads: say which, and what to pass instead."""
    other, other_dataset, classes = OTHER_PART[part]
    if (folder.parent / part).is_dir():
        fix = f"--root {folder.parent} (it holds {part}/)"
    else:
        fix = f"--root DIR, the folder that holds {part}/"
    return FbnError(
        f"{folder} is RAF-DB's {other}/ folder ({classes}), but {name} reads {part}/: pass {fix}; "
        f"the {other} labels are read by the dataset {other_dataset}"
    )


def _read_labels(path: Path, codes: dict[int, str], what: str) -> list[tuple[str, str, int, str]]:
    """[(image name, split, line number, label name)] from `<image> <code>` lines."""
    rows = []
    for number, text in numbered_lines(path):
        fields = text.split()
        if len(fields) != 2:
            raise line_error(
                path,
                number,
                text,
                "expected '<image name> <label code>'",
                "the file looks truncated or edited; re-extract EmoLabel/ from the RAF-DB archive",
            )
        name, code = fields
        try:
            label = codes[int(code)]
        except (ValueError, KeyError):
            hint = (
                " (a 0 suggests a 0-based file such as RAF-CE's, which this loader does not read)"
                if code == "0"
                else ""
            )
            fix = "RAF-DB codes are 1-based"
            if codes is BASIC_CODES and code.isdigit() and int(code) in COMPOUND_CODES:
                fix = (
                    "codes 8-11 exist only in RAF-DB's compound set: this looks like compound/'s label file; "
                    "point rafdb at the folder that holds basic/ (the compound labels are read by the dataset "
                    "rafdb-compound)"
                )
            problem = f"{what} code {code!r} is not one of 1..{len(codes)}{hint}"
            raise line_error(path, number, text, problem, fix) from None
        split = name.split("_", 1)[0]
        if split not in ("train", "test"):
            raise line_error(
                path,
                number,
                text,
                "image name does not start with 'train_' or 'test_'",
                "RAF-DB takes its split from the name prefix",
            )
        rows.append((name, split, number, label))
    return rows


def _looks_basic(rows: list[tuple[str, str, int, str]]) -> bool:
    """A compound file read without one code above 7 in many lines: the basic file under another name."""
    return len(rows) >= BASIC_LOOKALIKE_LINES and all(r[3] in BASIC_NAMES_AS_COMPOUND for r in rows)


def _table(root: Path, split: str, images: str, part: str, name: str) -> tuple[pd.DataFrame, list[str]]:
    base, inside = _base(root, part, name)
    label_file = find_first(base, LABEL_FILES, f"RAF-DB {part} label file")
    codes = BASIC_CODES if part == "basic" else COMPOUND_CODES
    every = _read_labels(label_file, codes, "expression" if part == "basic" else "compound")
    if part == "compound" and _looks_basic(every):
        raise FbnError(
            f"{label_file} has {len(every)} lines and no code above 7, so it looks like RAF-DB's basic "
            f"label file (7 basic expressions), not compound/'s: point rafdb-compound at the folder that "
            f"holds compound/ (the basic labels are read by the dataset rafdb)"
        )
    rows = [r for r in every if r[1] == split]
    prefix = base.relative_to(Path(root)) if inside else base.resolve()
    paths, stems = [], []
    for image_name, _, _, _ in rows:
        stem = Path(image_name).stem
        rel = f"Image/aligned/{stem}_aligned.jpg" if images == "aligned" else f"Image/original/{image_name}"
        paths.append(str(prefix / rel) if str(prefix) != "." else rel)
        stems.append(stem)
    table = pd.DataFrame({"image": paths, "subject": stems})
    return table, [r[3] for r in rows]


@val_carved("rafdb", "image")
def load_basic(root, split: str, *, images: str) -> pd.DataFrame:
    table, labels = _table(root, split, images, "basic", "rafdb")
    table["expression"] = labels
    return table


@val_carved("rafdb-compound", "image")
def load_compound(root, split: str, *, images: str) -> pd.DataFrame:
    table, labels = _table(root, split, images, "compound", "rafdb-compound")
    table["compound"] = labels
    return table


@hookimpl
def register_datasets(register):
    register(
        DatasetSpec(
            name="rafdb",
            splits=("train", "val", "test"),
            tasks={"expr"},
            load=load_basic,
            description="RAF-DB basic: 15,339 in-the-wild faces, 7 basic expressions (12,271 train / 3,068 test).",
            citation=CITATION,
            homepage=HOMEPAGE,
            license=LICENSE,
            options=(IMAGE_OPTION,),
        )
    )
    register(
        DatasetSpec(
            name="rafdb-compound",
            splits=("train", "val", "test"),
            tasks=frozenset(),  # labels no basic task: the 11 compound classes are in the `compound` column
            load=load_compound,
            compound_classes=COMPOUND_CLASSES,
            description="RAF-DB compound: 3,954 faces, 11 compound expressions (3,162 train / 792 test), column `compound`.",
            citation=CITATION,
            homepage=HOMEPAGE,
            license=LICENSE,
            options=(IMAGE_OPTION,),
        )
    )
