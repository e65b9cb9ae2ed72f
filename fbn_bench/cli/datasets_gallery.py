"""The picture behind `fbn-bench datasets gallery`: labelled samples, and an AU ladder for synthetic data."""

from __future__ import annotations

from pathlib import Path

AU_NAMES = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 17: "chin raiser",
    20: "lip stretcher", 23: "lip tightener", 24: "lip pressor", 25: "lips part", 26: "jaw drop",
}
CELL = 112
COLUMNS = 8
INK, PAPER = (20, 20, 20), (250, 250, 247)


def _face(root: Path, image: str, size: int):
    from PIL import Image

    from ..data.roots import resolve_image

    try:
        with Image.open(resolve_image(root, image)) as im:
            return im.convert("RGB").resize((size, size), Image.BICUBIC)
    except OSError:
        return Image.new("RGB", (size, size), (200, 60, 60))


def _caption(row) -> list[str]:
    lines = []
    if isinstance(row.get("expression"), str):
        lines.append(row["expression"])
    if isinstance(row.get("compound"), str):
        lines.append(row["compound"])
    if row.get("valence") == row.get("valence") and row.get("valence") is not None:
        lines.append(f"v{row['valence']:+.2f} a{row['arousal']:+.2f}")
    on = [c[2:] for c, v in row.items() if str(c).startswith("AU") and v == 1.0]
    if any(str(c).startswith("AU") and v == v for c, v in row.items()):
        lines.append("AU " + (",".join(on) if on else "none"))
    return lines or ["(no labels)"]


def make_gallery(spec, options: dict, split: str, samples: int, out_path: str, data_root=None) -> Path:
    import numpy as np
    from PIL import Image, ImageDraw

    from ..data.roots import dataset_root, load_split, loader_options

    df, root = load_split(spec, split, options, data_root)
    picks = np.linspace(0, len(df) - 1, min(samples, len(df))).astype(int) if len(df) else []
    text_h = 42
    rows = -(-len(picks) // COLUMNS)
    ladder = None
    if spec.synthetic and "au_ladder" in spec.options:
        ladder = spec.load(dataset_root(spec, options, data_root), split, au_ladder=True, **loader_options(options))
    ladder_h = 0 if ladder is None else 24 + ladder["ladder_au"].nunique() * 92
    width = max(COLUMNS * CELL, 180 + 6 * 92)
    sheet = Image.new("RGB", (width, 26 + rows * (CELL + text_h) + ladder_h), PAPER)
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 6), f"{spec.name} / {split}: {len(df)} images, every {max(len(df) // max(len(picks), 1), 1)}th shown", fill=INK)
    for k, i in enumerate(picks):
        x, y = (k % COLUMNS) * CELL, 26 + (k // COLUMNS) * (CELL + text_h)
        row = df.iloc[int(i)].to_dict()
        sheet.paste(_face(root, row["image"], CELL - 4), (x + 2, y))
        for j, line in enumerate(_caption(row)[:3]):
            draw.text((x + 3, y + CELL - 2 + 12 * j), line[:20], fill=INK)
    if ladder is not None:
        y = 26 + rows * (CELL + text_h)
        draw.text((6, y + 6), "each AU alone on one identity, intensity 0 1 2 3 4 5 (occurrence: >= 2)", fill=INK)
        y += 24
        small = 88
        for au, group in ladder.groupby("ladder_au", sort=False):
            draw.text((6, y + small // 2 - 6), f"AU{au} {AU_NAMES.get(int(au), '')}", fill=INK)
            for _, r in group.sort_values("ladder_intensity").iterrows():
                sheet.paste(_face(root, r["image"], small), (180 + int(r["ladder_intensity"]) * (small + 4), y))
            y += small + 4
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    return out
