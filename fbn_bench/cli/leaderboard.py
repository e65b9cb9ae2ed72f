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

    if out.exists() and not out.is_dir():
        raise FbnError(f"--out {out} is a file; give the leaderboards folder (tables, records/, leaderboards.toml)")
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
    help="Write nothing; exit non-zero if a committed table differs from what the records build, or a "
    "record's value differs from what its stored predictions score.",
)
def build(results: tuple[Path, ...], out: Path | None, baseline, resamples, seed, check: bool) -> None:
    """Write OUT/<database>.md for every database and the index OUT/README.md. With the committed store (no
    --results), runs that a later run of the same configuration and seed replaces are removed from it."""
    from ..leaderboard.build import RECORDS_DIR, record_value_problems, render_all, stale_files, write_all
    from ..registry import get_registry

    out = _out(out)
    registry = get_registry()
    settings = _settings(out, baseline, resamples, seed)
    files = render_all(out, list(results) or None, settings, registry=registry)
    if check:
        wrong, checked = record_value_problems(list(results) or [out / RECORDS_DIR], registry=registry)
        if wrong:  # a record that its own predictions contradict: rebuilding the tables would not help
            more = f" (and {len(wrong) - 1} more record(s))" if len(wrong) > 1 else ""
            raise FbnError(f"{wrong[0]}{more}; fix or remove the record, or add the run again")
        problems = stale_files(out, files)
        if not results:  # the committed store keeps no run a later one replaced
            from ..leaderboard.store import superseded_runs

            store = out / RECORDS_DIR
            problems += [f"{store / old} is superseded by {new}" for old, new in superseded_runs(store).items()]
        if problems:
            raise FbnError(f"{'; '.join(problems)}: run `fbn-bench leaderboard build` and commit the tables")
        click.echo(
            f"{len(files)} leaderboard file(s) in {out} match their records; "
            f"{checked} record value(s) match their stored predictions"
        )
        return
    if not results:
        _prune(out / RECORDS_DIR)
    for name in write_all(out, files):
        click.echo(out / name)
    if not settings.baseline:
        click.echo(
            f"note: no baseline ({out}/leaderboards.toml has none and no --baseline): no paired comparisons and no "
            "forest pictures; e.g. --baseline tasks=va+expr+au,coupling=none",
            err=True,
        )


def _prune(store: Path) -> None:
    from ..leaderboard.store import prune_superseded

    for old, new in prune_superseded(store).items():
        click.echo(f"removed {store / old}: superseded by {new} (same configuration and seed, run later)")


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
    from ..registry import get_registry

    out = _out(out, writing=False)
    sources = list(results) or [p for p in [out / RECORDS_DIR] if p.exists()]
    tables = build_tables(
        sources,
        _settings(out, baseline, resamples, seed),
        read_references(out / REFERENCES_FILE),
        only=database,
        registry=get_registry(),
    )
    click.echo(FORMATS[fmt](tables[0]), nl=False)


@leaderboard.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@_OUT
@click.option("--store", type=click.Path(path_type=Path), default=None, help="The record store, if not OUT/records.")
def add(run_dirs: tuple[Path, ...], out: Path | None, store: Path | None) -> None:
    """Copy the records and compact predictions of RUN_DIRS (run folders, or folders of runs such as a
    sweep's) into the committed store OUT/records; no checkpoints. Stored runs that a later run of the same
    configuration and seed replaces are removed."""
    from ..leaderboard.build import RECORDS_DIR
    from ..leaderboard.store import add_runs

    store = store or _out(out) / RECORDS_DIR
    for run_id in add_runs(list(run_dirs), store):
        click.echo(store / run_id)
    _prune(store)
