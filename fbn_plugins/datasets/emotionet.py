"""Dataset plugin `emotionet`: the manually annotated EmotioNet AU set (docs/datasets/emotionet.md).

The CSV (`EmotioNet_FACS_aws_2020_24600.csv`, or the 2017 `EmotioNet_FACS.csv`) has a header
`URL,URL orig,'AU 1','AU 2',...` with quoted AU names, URL values wrapped in single quotes, and
1 / 0 / 999 (unknown) codes. AUs outside fbn-bench's 17 are ignored. Images are downloaded by the user
from the URLs into `images/<file name of the URL>`. There is no standard split: fbn-bench assigns each
image to `test` when a hash of its file name falls in the lowest `test_percent` percent (stable across
machines and copies, independent of row order).
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from fbn_bench import DatasetSpec, FbnError, Option, hookimpl
from fbn_bench.data.splits import val_carved

from ._common import LoadedTable, clean_header, line_error, listing, require_root

ANNOTATION_FILES = ("EmotioNet_FACS_aws_2020_24600.csv", "EmotioNet_FACS.csv")
# The 2020 manual set's 23 AUs that are among fbn-bench's 17 (the 2017 file has 11 of them).
EMOTIONET_AUS = (1, 2, 4, 5, 6, 9, 10, 12, 15, 17, 20, 24, 25, 26)
UNKNOWN = 999
AU_HEADER = re.compile(r"^AU(\d+)$", re.IGNORECASE)


def _annotation_file(root: Path, name: str | None) -> Path:
    if name:
        path = root / name
        if not path.is_file():
            raise FbnError(f"EmotioNet annotation file not found: expected {path} (option file={name})")
        return path
    for candidate in ANNOTATION_FILES:
        if (root / candidate).is_file():
            return root / candidate
    found = listing(root, "EmotioNet*.csv")
    if len(found) == 1:
        return found[0]
    xlsx = [p.name for p in listing(root, "*.xlsx")]
    hint = f"; found only {', '.join(xlsx)}: save it as CSV first" if xlsx else ""
    raise FbnError(
        f"EmotioNet annotation file not found: expected {root / ANNOTATION_FILES[0]} or "
        f"{root / ANNOTATION_FILES[1]} (or name it with emotionet:file=NAME.csv){hint}"
    )


def _in_test(file_name: str, test_percent: int) -> bool:
    digest = hashlib.sha1(file_name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < test_percent


def _parse(path: Path) -> tuple[list[str], list[dict[int, float]], list[str]]:
    """(image file names, AU labels per row, names of rows dropped for having no known AU among the 17)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    header = [clean_header(h) for h in lines[0]] if lines else []
    au_columns = {i: int(m.group(1)) for i, h in enumerate(header) if (m := AU_HEADER.match(h))}
    if not header or header[0].lower() != "url" or not au_columns:
        shown = ",".join(lines[0])[:80] if lines else "(empty file)"
        raise FbnError(
            f"{path}:1: expected a header like URL,URL orig,'AU 1','AU 2',... but found {shown!r}; "
            "is this the manually annotated EmotioNet CSV?"
        )
    kept = {i: au for i, au in au_columns.items() if au in EMOTIONET_AUS}
    names, labels, empty = [], [], []
    for number, fields in enumerate(lines[1:], start=2):
        if not any(f.strip() for f in fields):
            continue
        text = ",".join(fields)
        if len(fields) != len(header):
            raise line_error(
                path,
                number,
                text,
                f"{len(fields)} fields where the header has {len(header)}",
                "the file looks truncated; download it again",
            )
        url = fields[0].strip().strip("'\"").strip()
        name = url.rstrip("/").rsplit("/", 1)[-1]
        if not name:
            raise line_error(path, number, text, "empty URL")
        row: dict[int, float] = {}
        for i, au in kept.items():
            value = fields[i].strip().strip("'\"")
            try:
                code = int(float(value))
            except ValueError:
                code = None
            if code not in (0, 1, UNKNOWN):
                raise line_error(path, number, text, f"AU{au} value {value!r} is not 0, 1 or 999 (unknown)")
            row[au] = np.nan if code == UNKNOWN else float(code)
        if all(np.isnan(v) for v in row.values()):
            empty.append(name)
            continue
        names.append(name)
        labels.append(row)
    return names, labels, empty


@val_carved("emotionet", "image")
def load(root, split: str, *, file: str | None, images: str, test_percent: int) -> LoadedTable:
    root = require_root(Path(root), "emotionet")
    names, labels, empty = _parse(_annotation_file(root, file))
    keep = [i for i, n in enumerate(names) if _in_test(n, test_percent) == (split == "test")]
    table = pd.DataFrame(
        {
            "image": [f"{images}/{names[i]}" for i in keep],
            "subject": [Path(names[i]).stem for i in keep],  # no identities in EmotioNet: one image, one group
        }
    )
    for au in EMOTIONET_AUS:
        table[f"AU{au}"] = [labels[i].get(au, np.nan) for i in keep]
    skipped = sum(_in_test(n, test_percent) == (split == "test") for n in empty)
    return LoadedTable(table, {"rows with every AU among the 17 unknown (999)": skipped})


@hookimpl
def register_datasets(register):
    register(
        DatasetSpec(
            name="emotionet",
            full_frames=True,  # whole frames / web photos: the run's face detector finds the face
            splits=("train", "val", "test"),
            tasks={"au"},
            aus=EMOTIONET_AUS,
            load=load,
            description="EmotioNet manually annotated AU set (24,600 images in the 2020 release); "
            "fbn-bench's hash split, 20% test by default.",
            citation="Fabian Benitez-Quiroz, C., Srinivasan, R., Martinez, A. M. EmotioNet: An accurate, real-time "
            "algorithm for the automatic annotation of a million facial expressions in the wild. CVPR 2016.",
            homepage="http://cbcsl.ece.ohio-state.edu/EmotionNetChallenge/",
            license="Research use under the EmotioNet terms (request access from the owners; images are third-party URLs)",
            options=(
                Option(
                    "file",
                    str,
                    None,
                    help="annotation CSV relative to root (not set: EmotioNet_FACS_aws_2020_24600.csv, "
                    "else EmotioNet_FACS.csv)",
                ),
                Option(
                    "images",
                    str,
                    "images",
                    help="folder (relative to root) holding the downloaded images, named as the last part of each URL",
                ),
                Option(
                    "test_percent",
                    int,
                    20,
                    low=1,
                    high=99,
                    help="percent of images, chosen by a hash of the file name, in the test split",
                ),
            ),
        )
    )
