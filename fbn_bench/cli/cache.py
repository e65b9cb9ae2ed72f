"""`fbn-bench cache list/prune`: the decoded-image cache and the generated synthetic data, which live outside
the run folders ($FBN_BENCH_CACHE, $FBN_BENCH_DATA) and are rebuilt whenever a run needs them."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..errors import FbnError

IN_PROGRESS_S = 3600.0  # a temporary younger than this may belong to a build under way: never removed

_DATA_ROOT = click.option(
    "--data-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding one folder per database (default $FBN_BENCH_DATA, else the per-user cache folder).",
)
_CACHE_DIR = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The decoded-image cache (default $FBN_BENCH_CACHE, else the per-user cache folder).",
)


@click.group()
def cache() -> None:
    """List and remove decoded-image caches and generated synthetic data."""


def _stored(data_root: Path | None, cache_dir: Path | None):
    from ..data.roots import dataset_root, default_cache_dir
    from ..data.stored import generated_data, image_caches
    from ..registry import get_registry

    cache_dir = Path(cache_dir or default_cache_dir()).expanduser()
    synthetic = {s.name: dataset_root(s, {}, data_root) for s in get_registry().specs("datasets") if s.synthetic}
    return cache_dir, synthetic, image_caches(cache_dir) + generated_data(synthetic)


@cache.command("list")
@_DATA_ROOT
@_CACHE_DIR
def list_(data_root: Path | None, cache_dir: Path | None) -> None:
    """Show each cached split and each generated database with its size and age."""
    from tabulate import tabulate

    from ..data.stored import human_size

    cache_dir, synthetic, items = _stored(data_root, cache_dir)
    click.echo(f"decoded images: {cache_dir}")
    click.echo(f"generated data: {_common_parent(synthetic.values()) or 'no synthetic database is installed'}")
    if not items:
        click.echo("nothing stored")
        return
    now = time.time()
    rows = [[i.kind, i.name, human_size(i.size), f"{i.age_days(now):.1f}", str(i.paths[0])] for i in items]
    click.echo(
        tabulate(rows, headers=["kind", "what", "size", "age (days)", "path"], tablefmt="github", disable_numparse=True)
    )
    click.echo(
        f"{len(items)} item(s), {human_size(sum(i.size for i in items))}; remove with "
        "`fbn-bench cache prune --older-than DAYS` or `--all` (age: last use for images, since written for data)"
    )


@cache.command()
@_DATA_ROOT
@_CACHE_DIR
@click.option("--older-than", "days", type=float, default=None, help="Remove what was not used for DAYS days.")
@click.option("--all", "everything", is_flag=True, help="Remove everything listed by `fbn-bench cache list`.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
def prune(data_root: Path | None, cache_dir: Path | None, days: float | None, everything: bool, dry_run: bool) -> None:
    """Remove cached splits and generated data; the next run that needs them builds them again. Temporaries
    younger than an hour are kept (a run may be writing them)."""
    from ..data.stored import LEFTOVER, PARTIAL, human_size

    if (days is None) == (not everything):
        raise FbnError("give --older-than DAYS or --all (add --dry-run to see what would go)")
    if days is not None and days < 0:
        raise FbnError(f"--older-than {days:g}: give a number of days >= 0")
    now = time.time()
    _, _, items = _stored(data_root, cache_dir)
    chosen = [
        i
        for i in items
        if (everything or i.age_days(now) >= days)
        and not (i.kind in (LEFTOVER, PARTIAL) and now - i.used < IN_PROGRESS_S)
    ]
    verb = "would remove" if dry_run else "removed"
    for item in chosen:
        if not dry_run:
            item.remove()
        click.echo(f"{verb} {item.kind} {item.name} ({human_size(item.size)}): {item.paths[0]}")
    total = human_size(sum(i.size for i in chosen))
    click.echo(f"{verb} {len(chosen)} of {len(items)} item(s), {total}")


def _common_parent(paths) -> str | None:
    import os

    paths = [str(p) for p in paths]
    return os.path.commonpath(paths) if paths else None
