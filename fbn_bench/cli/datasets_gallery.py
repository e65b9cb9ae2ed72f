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


def _face(root: Path, row: dict, size: int) -> tuple:
    """(picture, problem): the face cropped as a run crops it (bbox columns included), or a red
    square and why ("missing", "unreadable", "bad bbox") when the run would skip this row."""
    from PIL import Image

    from ..data.images import BadImageError, decode_face
    from ..data.roots import resolve_image
    from ..data.table import BBOX_COLUMNS

    bbox = [row[c] for c in BBOX_COLUMNS] if all(c in row for c in BBOX_COLUMNS) else None
    try:
        return Image.fromarray(decode_face(resolve_image(root, row["image"]), size, bbox)), None
    except BadImageError as exc:
        return Image.new("RGB", (size, size), (200, 60, 60)), exc.reason


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


def make_gallery(spec, options: dict, split: str, samples: int, out_path: str, data_root=None) -> Path:
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
    for k, i in enumerate(picks):
        x, y = (k % COLUMNS) * CELL, 26 + (k // COLUMNS) * (CELL + text_h)
        row = df.iloc[int(i)].to_dict()
        face, problem = _face(root, row, CELL - 4)
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
            for _, r in group.sort_values("ladder_intensity").iterrows():
                sheet.paste(_face(root, r.to_dict(), small)[0], (180 + int(r["ladder_intensity"]) * (small + 4), y))
            y += small + 4
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    return out
