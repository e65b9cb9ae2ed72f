"""`fbn-bench datasets ...`: list, prepare, inspect and check databases."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import FbnError


@click.group()
def datasets() -> None:
    """List, prepare, inspect and check databases."""


def datasets_listing() -> list[dict]:
    from ..registry import get_registry

    registry = get_registry()
    rows = []
    for name in registry.names("datasets"):
        spec = registry.dataset(name)
        rows.append(
            {
                "name": name,
                "tasks": [t for t in ("va", "expr", "au") if t in spec.tasks],
                "aus": list(spec.aus),
                "splits": list(spec.splits),
                "synthetic": spec.synthetic,
                "description": spec.description,
                "plugin": registry.entries["datasets"][name].plugin,
            }
        )
    return rows


@datasets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(as_json: bool) -> None:
    """Every registered database: tasks, AUs, splits and description."""
    rows = datasets_listing()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    import shutil

    from tabulate import tabulate

    table = [
        [
            r["name"],
            ",".join(r["tasks"]) or "-",
            ",".join(map(str, r["aus"])) or "-",
            ",".join(r["splits"]),
            r["description"],
        ]
        for r in rows
    ]
    # Descriptions wrap to what the terminal has left after the other columns (never below 30 characters).
    used = sum(max(len(str(row[i])) for row in table) + 2 for i in range(4)) if table else 0
    width = max(30, shutil.get_terminal_size((120, 24)).columns - used - 2)
    click.echo(
        tabulate(
            table,
            headers=["name", "tasks", "AUs", "splits", "description"],
            maxcolwidths=[None, None, None, None, width],
        )
    )


def _resolve(text: str, root: str | None = None):
    from ..registry import get_registry

    plugin = get_registry().resolve("datasets", text)
    return plugin.spec, {**plugin.with_root(), **({"root": root} if root else {})}


@datasets.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--data-root", type=click.Path(file_okay=False), help="Where databases live (default $FBN_BENCH_DATA).")
def prepare(names: tuple[str, ...], data_root: str | None) -> None:
    """Generate (synthetic) or index (real) databases ahead of a run. NAME may carry options: NAME:key=value."""
    from ..data.roots import dataset_root, load_split

    for text in names:
        spec, options = _resolve(text)
        root = dataset_root(spec, options, data_root)
        if spec.prepare is not None:
            spec.prepare(root, **{k: v for k, v in options.items() if k != "root"})
        else:
            for split in spec.splits:
                load_split(spec, split, options, data_root)
        counts = {split: len(load_split(spec, split, options, data_root)[0]) for split in spec.splits}
        click.echo(f"{spec.name}: ready in {root} ({', '.join(f'{s} {n}' for s, n in counts.items())})")


@datasets.command()
@click.argument("name")
@click.option("--root", type=click.Path(file_okay=False), help="This database's folder (overrides --data-root).")
@click.option("--split", default="train", show_default=True)
@click.option("--data-root", type=click.Path(file_okay=False), help="Where databases live (default $FBN_BENCH_DATA).")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def stats(name: str, root: str | None, split: str, data_root: str | None, as_json: bool) -> None:
    """Label counts of one split: samples, subjects, VA, expressions, AU positives."""
    from ..data.roots import load_split
    from ..data.stats import table_stats

    spec, options = _resolve(name, root)
    df, where = load_split(spec, split, options, data_root)
    result = table_stats(df, spec, split, where, units=as_json)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(
        f"{result['dataset']} / {result['split']}: {result['n_samples']} samples, "
        f"{result['n_subjects'] if result['n_subjects'] is not None else 'unknown'} subjects, "
        f"{result['missing_images']} missing images"
    )
    if "va" in result:
        click.echo(f"valence-arousal labels: {result['va']['n']}")
    for task, title in (("expr", "expression"), ("compound", "compound expression")):
        if task in result:
            n, width = max(result[task]["n"], 1), max(map(len, result[task]["counts"]), default=10)
            click.echo(f"{title} labels: {result[task]['n']}")
            for cls, count in result[task]["counts"].items():
                click.echo(f"  {cls:<{width}} {count:>7}  {100 * count / n:5.1f}%")
    if "au" in result:
        click.echo("AU labels (n, positive):")
        for au, row in result["au"].items():
            share = 100 * row["positive"] / max(row["n"], 1)
            click.echo(f"  {au:<5} {row['n']:>7} {row['positive']:>7}  {share:5.1f}%")


@datasets.command()
@click.argument("name")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Image file to write (.png, or .jpg / .jpeg).",
)
@click.option("--split", default="train", show_default=True)
@click.option(
    "--samples", default=24, show_default=True, type=click.IntRange(min=1), help="How many labelled samples to show."
)
@click.option("--root", type=click.Path(file_okay=False), help="This database's folder (overrides --data-root).")
@click.option("--data-root", type=click.Path(file_okay=False), help="Where databases live (default $FBN_BENCH_DATA).")
@click.option("--face-detector", default=None, help="For full frames and videos, as `run --face-detector` (haar).")
@click.option("--face-crop", type=click.Choice(["box", "align"]), default=None, help="As `run --face-crop` (box).")
def gallery(name, out_path, split, samples, root, data_root, face_detector, face_crop) -> None:
    """A PNG grid of samples with their labels (and, for synthetic data, each AU at intensity 0-5), each face
    cropped as a run crops it."""
    from ..config import RunConfig
    from ..faces.frontend import FaceFrontEnd
    from ..registry import get_registry
    from .datasets_gallery import make_gallery

    if Path(out_path).suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise FbnError(f"--out {out_path}: write a .png (or .jpg / .jpeg) file")
    spec, options = _resolve(name, root)
    front = FaceFrontEnd.from_settings(
        get_registry(), face_detector or RunConfig.face_detector, face_crop or RunConfig.face_crop
    )
    click.echo(f"Wrote {make_gallery(spec, options, split, samples, out_path, data_root, front)}")


from .datasets_check import check  # noqa: E402

datasets.add_command(check)
