"""Helpers for the real-format dataset fixtures (tests/real_fixtures_*.py): tiny valid images, and the
stats a split should have, counted from the fixture's own construction."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

EXPRESSION_ORDER = ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise")


def write_image(path: Path, shade: int = 128, size: tuple[int, int] = (8, 8)) -> None:
    """A real image, 8x8 unless told (format from the extension), so the checker and the cache can open it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (shade % 256, 64, 200)).save(path)


def corrupt(path: Path) -> None:
    """Overwrite an image with bytes no decoder accepts."""
    path.write_bytes(b"this is not an image at all")


def expr_stats(labels: list[str]) -> dict:
    counts = {name: labels.count(name) for name in EXPRESSION_ORDER}
    return {"n": len(labels), "counts": counts}


def au_stats(rows: list[dict[int, float | None]], aus: tuple[int, ...]) -> dict:
    """rows: one {au: 1/0/None} per sample -> {"AU1": {"n": labelled, "positive": ones}, ...}."""
    out = {}
    for au in aus:
        values = [r.get(au) for r in rows]
        out[f"AU{au}"] = {"n": sum(v is not None for v in values), "positive": sum(v == 1 for v in values)}
    return out


def split_stats(name: str, root: Path, split: str, **options) -> dict:
    """`fbn-bench datasets stats NAME[:options] --root ROOT --split SPLIT --json`, parsed."""
    import json

    from click.testing import CliRunner

    from fbn_bench.cli import cli

    text = name + (":" + ",".join(f"{k}={v}" for k, v in options.items()) if options else "")
    result = CliRunner().invoke(cli, ["datasets", "stats", text, "--root", str(root), "--split", split, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def assert_matches(actual: dict, expected: dict) -> None:
    """Every key of `expected` (recursively) equals the same key of `actual`."""
    for key, value in expected.items():
        assert key in actual, f"missing {key!r} in {sorted(actual)}"
        if isinstance(value, dict):
            assert_matches(actual[key], value)
        else:
            assert actual[key] == value, f"{key}: got {actual[key]!r}, expected {value!r}"


# The start of an AppleDouble file (macOS resource fork): binary, and not valid UTF-8.
APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02\x00\x00\x00\x09\x00\x00\x00\x32\xff\xfe\x80"


def add_macos_clutter(root: Path, mirror: bool = True) -> None:
    """Add what a tree unpacked from a macOS-made archive also holds: an AppleDouble `._<name>` beside every
    file and folder, the same under a `__MACOSX/` mirror of the tree (unless `mirror` is false: what is
    left once a user deletes it), and a `.DS_Store` in every folder."""
    entries = sorted(root.rglob("*"))
    for path in entries:
        rel = path.relative_to(root)
        for folder in (path.parent, root / "__MACOSX" / rel.parent) if mirror else (path.parent,):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"._{path.name}").write_bytes(APPLEDOUBLE)
    for folder in [root, *(p for p in entries if p.is_dir())]:
        (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1\x00\x00\x10\x00\xff\x80")
