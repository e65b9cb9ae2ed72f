"""The picture behind `fbn-bench datasets gallery`: labelled samples, and an AU ladder for synthetic data."""

from __future__ import annotations

from pathlib import Path

AU_NAMES = {
    1: "inner brow raiser",
    2: "outer brow raiser",
    4: "brow lowerer",
    5: "upper lid raiser",
    6: "cheek raiser",
    7: "lid tightener",
    9: "nose wrinkler",
    10: "upper lip raiser",
    12: "lip corner puller",
    14: "dimpler",
    15: "lip corner depressor",
    17: "chin raiser",
    20: "lip stretcher",
    23: "lip tightener",
    24: "lip pressor",
    25: "lips part",
    26: "jaw drop",
}
CELL = 112
COLUMNS = 8
INK, PAPER = (20, 20, 20), (250, 250, 247)


def _faces(spec, rows, root: Path, size: int, front=None) -> list[tuple]:
    """(picture, problem) per row of the table `rows`: the face cropped exactly as a run crops it (the same
    decoder: shipped boxes, video frames, the face front end `front` for full frames), or a red square and why
    ("missing", "unreadable", "bad bbox", "no face", ...) when the run would skip that row."""
    import numpy as np
    from PIL import Image

    from ..data.decode import decode_rows
    from ..data.sources import RowSources

    rows = rows.reset_index(drop=True)
    out = np.zeros((max(len(rows), 1), size, size, 3), dtype=np.uint8)
    skipped = dict(decode_rows(RowSources.from_table(rows, root, spec), size, out, front=front, progress=False).skipped)
    faces, k = [], 0
    for i in range(len(rows)):
        if i in skipped:
            faces.append((Image.new("RGB", (size, size), (200, 60, 60)), skipped[i]))
        else:
            faces.append((Image.fromarray(out[k]), None))
            k += 1
    return faces


def _caption(row, aus=()) -> list[str]:
    """Up to a few short lines; `aus`: the AUs the database annotates (NaN in `row` means not labelled)."""
    lines = []
    if isinstance(row.get("expression"), str):
        lines.append(row["expression"])
    if isinstance(row.get("compound"), str):
        lines.append(row["compound"])
    if row.get("valence") == row.get("valence") and row.get("valence") is not None:
        lines.append(f"v{row['valence']:+.2f} a{row['arousal']:+.2f}")
    values = {a: row.get(f"AU{a}") for a in aus}
    labelled = [a for a, v in values.items() if v is not None and v == v]
    on = [str(a) for a in labelled if values[a] == 1.0]
    unlabelled = len(values) - len(labelled)
    if on:
        lines.append("AU " + ",".join(on))
    elif labelled:  # "none" only when every AU was looked at
        lines.append("no AU present" if not unlabelled else f"no AU; {unlabelled} unlabelled")
    elif aus:
        lines.append("AUs not labelled")
    return lines or ["(no labels)"]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _title(name: str, split: str, n_rows: int, n_shown: int) -> str:
    if n_shown >= n_rows:
        shown = "all shown"
    else:  # evenly spaced picks: the step is rarely a whole number
        step = round(n_rows / max(n_shown, 1))
        shown = f"{n_shown} shown" + (f", about every {_ordinal(step)}" if step >= 2 else "")
    return f"{name} / {split}: {n_rows} image{'' if n_rows == 1 else 's'}, {shown}"


def make_gallery(spec, options: dict, split: str, samples: int, out_path: str, data_root=None, front=None) -> Path:
    """`front`: the face front end for a database of full frames or videos (run_datasets.face_front_end)."""
    import numpy as np
    from PIL import Image, ImageDraw

    from ..data.roots import load_split
    from ..options import option_with_role

    df, root = load_split(spec, split, options, data_root)
    picks = np.linspace(0, len(df) - 1, min(samples, len(df))).astype(int) if len(df) else []
    text_h = 42
    rows = -(-len(picks) // COLUMNS)
    ladder = None
    ladder_option = option_with_role(spec, "ladder")  # a plugin that can draw each AU alone on one face
    if ladder_option is not None:
        ladder = load_split(spec, split, {**options, ladder_option.name: True}, data_root)[0]
    ladder_h = 0 if ladder is None else 24 + ladder["ladder_au"].nunique() * 92
    width = max(COLUMNS * CELL, 180 + 6 * 92)
    sheet = Image.new("RGB", (width, 26 + rows * (CELL + text_h) + ladder_h), PAPER)
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 6), _title(spec.name, split, len(df), len(picks)), fill=INK)
    faces = _faces(spec, df.iloc[list(picks)], root, CELL - 4, front)
    for k, i in enumerate(picks):
        x, y = (k % COLUMNS) * CELL, 26 + (k // COLUMNS) * (CELL + text_h)
        row = df.iloc[int(i)].to_dict()
        face, problem = faces[k]
        sheet.paste(face, (x + 2, y))
        caption = ([f"({problem}: skipped)"] if problem else []) + _caption(row, spec.aus)
        for j, line in enumerate(caption[:3]):
            draw.text((x + 3, y + CELL - 2 + 12 * j), line[:20], fill=INK)
    if ladder is not None:
        y = 26 + rows * (CELL + text_h)
        draw.text((6, y + 6), "each AU alone on one identity, intensity 0 1 2 3 4 5 (occurrence: >= 2)", fill=INK)
        y += 24
        small = 88
        for au, group in ladder.groupby("ladder_au", sort=False):
            draw.text((6, y + small // 2 - 6), f"AU{au} {AU_NAMES.get(int(au), '')}", fill=INK)
            group = group.sort_values("ladder_intensity")
            for (face, _), intensity in zip(_faces(spec, group, root, small, front), group["ladder_intensity"]):
                sheet.paste(face, (180 + int(intensity) * (small + 4), y))
            y += small + 4
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    return out
