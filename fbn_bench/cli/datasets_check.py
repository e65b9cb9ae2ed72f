"""`fbn-bench datasets check NAME --root DIR`: validate a database's layout and report, in plain words."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("check")
@click.argument("name")
@click.option(
    "--root", type=click.Path(path_type=Path), default=None, help="The database folder itself (same as NAME:root=DIR)."
)
@click.option(
    "--data-root",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder holding one sub-folder per database; the database is read from DIR/NAME.",
)
@click.option("--split", "splits", multiple=True, help="Check only this split (repeatable). Default: all.")
@click.option("--no-images", is_flag=True, help="Do not check that image files exist and open.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def check(
    ctx: click.Context,
    name: str,
    root: Path | None,
    data_root: Path | None,
    splits: tuple[str, ...],
    no_images: bool,
    as_json: bool,
) -> None:
    """Check a database on disk: layout, label ranges, missing images and the resulting counts.

    NAME may carry options, e.g. `disfa:fold=2,threshold=1`. Exits 0 when no problem is found, 1 when
    the report lists problems, 2 (with `Error: ...`) when the layout cannot be read at all.
    """
    from ..data.roots import dataset_root
    from ..registry import get_registry
    from ..testing import check_dataset_plugin

    plugin = get_registry().resolve("datasets", name)
    spec, options = plugin.spec, plugin.with_root()
    if root is not None:
        options["root"] = str(root)
    directory = dataset_root(spec, options, data_root)
    report = check_dataset_plugin(
        spec, directory, splits=list(splits) or None, options=options, check_images=not no_images, strict=False
    )
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.to_text())
    ctx.exit(0 if report.ok else 1)
