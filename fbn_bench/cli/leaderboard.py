"""`fbn-bench leaderboard ...`: tables built from result records."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import FbnError

_RESULTS = click.option(
    "--results",
    "results",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Run folder or folder of runs to read records from (repeatable). Default: the committed store OUT/records.",
)
_OUT = click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="The leaderboards folder (tables, records/, references.toml, leaderboards.toml). Default: ./leaderboards, "
    "which must exist (the repository's); give --out to start a new one elsewhere.",
)
DEFAULT_OUT = Path("leaderboards")


def _out(out: Path | None, writing: bool = True) -> Path:
    """--out, else ./leaderboards; writing there needs it to exist, so that a command run outside the repository
    does not quietly start a new leaderboards folder wherever it happens to be."""
    if out is not None:
        return out
    if writing and not DEFAULT_OUT.is_dir():
        raise FbnError(
            f"no {DEFAULT_OUT}/ folder in {Path.cwd()}: run this in the repository whose leaderboards you mean, "
            "or pass --out DIR to write them there"
        )
    return DEFAULT_OUT


_BASELINE = click.option(
    "--baseline",
    default=None,
    help="Configuration to compare every row against: a config hash (prefix) or "
    "field=value pairs, e.g. 'tasks=expr,coupling=none'. Default: leaderboards.toml.",
)
_RESAMPLES = click.option("--resamples", type=int, default=None, help="Bootstrap resamples (default 1000).")
_SEED = click.option("--seed", type=int, default=None, help="Bootstrap seed (default 0).")


@click.group()
def leaderboard() -> None:
    """Build and show leaderboards from result records."""


def _settings(out: Path, baseline, resamples, seed):
    from ..leaderboard.build import check_settings, read_settings, with_overrides

    return check_settings(with_overrides(read_settings(out), baseline=baseline, resamples=resamples, seed=seed))


@leaderboard.command()
@_RESULTS
@_OUT
@_BASELINE
@_RESAMPLES
@_SEED
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit non-zero if a committed table differs from what the records build.",
)
def build(results: tuple[Path, ...], out: Path | None, baseline, resamples, seed, check: bool) -> None:
    """Write OUT/<database>.md for every database and the index OUT/README.md."""
    from ..leaderboard.build import render_all, stale_files, write_all

    out = _out(out)
    files = render_all(out, list(results) or None, _settings(out, baseline, resamples, seed))
    if check:
        problems = stale_files(out, files)
        if problems:
            raise FbnError(f"{'; '.join(problems)}: run `fbn-bench leaderboard build` and commit the tables")
        click.echo(f"{len(files)} leaderboard file(s) in {out} match their records")
        return
    for name in write_all(out, files):
        click.echo(out / name)


@leaderboard.command()
@click.argument("database")
@_RESULTS
@_OUT
@_BASELINE
@_RESAMPLES
@_SEED
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True)
def show(database: str, results: tuple[Path, ...], out: Path | None, baseline, resamples, seed, fmt: str) -> None:
    """Print the table of one DATABASE."""
    from ..leaderboard.build import RECORDS_DIR, build_tables
    from ..leaderboard.references import REFERENCES_FILE, read_references
    from ..leaderboard.render import FORMATS

    out = _out(out, writing=False)
    sources = list(results) or [p for p in [out / RECORDS_DIR] if p.exists()]
    tables = build_tables(
        sources, _settings(out, baseline, resamples, seed), read_references(out / REFERENCES_FILE), only=database
    )
    click.echo(FORMATS[fmt](tables[0]), nl=False)


@leaderboard.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@_OUT
@click.option("--store", type=click.Path(path_type=Path), default=None, help="The record store, if not OUT/records.")
def add(run_dirs: tuple[Path, ...], out: Path | None, store: Path | None) -> None:
    """Copy the records and compact predictions of RUN_DIRS (run folders, or folders of runs such as a
    sweep's) into the committed store OUT/records; no checkpoints."""
    from ..leaderboard.build import RECORDS_DIR
    from ..leaderboard.store import add_runs

    store = store or _out(out) / RECORDS_DIR
    for run_id in add_runs(list(run_dirs), store):
        click.echo(store / run_id)
