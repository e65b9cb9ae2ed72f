"""`fbn-bench relatedness ...`: the P(AU | expression) table."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import FbnError


@click.group()
def relatedness() -> None:
    """Show or estimate the expression-AU relatedness table."""


def _notes(df) -> list[str]:
    notes = []
    if df.attrs.get("fallback_aus"):
        notes.append(f"not annotated, du2014 values kept: {', '.join(df.attrs['fallback_aus'])}")
    if df.attrs.get("fallback_expressions"):
        notes.append(f"no AU-labelled rows, du2014 values kept: {', '.join(df.attrs['fallback_expressions'])}")
    return notes


@relatedness.command()
@click.argument("source", default="du2014")
@click.option(
    "--plot", "plot_path", type=click.Path(dir_okay=False), help="Also draw it as a heat map (.png, .pdf or .svg)."
)
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (readable back as a SOURCE) instead of a table.")
@click.option(
    "--smoothing", type=float, default=1.0, show_default=True, help="Additive smoothing (empirical:<dataset> only)."
)
@click.option("--data-root", type=click.Path(file_okay=False), help="Where databases live (empirical:<dataset> only).")
def show(source: str, plot_path: str | None, as_csv: bool, smoothing: float, data_root: str | None) -> None:
    """Print the relatedness table.

    SOURCE: du2014 (default), empirical:<dataset> (estimated from that database's train split) or a
    CSV file (as written by --csv or `estimate`).
    """
    from ..coupling import relatedness as load
    from ..registry import get_registry

    if plot_path:
        from ..coupling.plot import FORMATS

        if Path(plot_path).suffix.lower() not in FORMATS:  # before the (possibly slow) table is computed
            raise FbnError(f"--plot {plot_path}: name a {', '.join(FORMATS)} file")
    df = load(source, data_root=data_root, smoothing=smoothing, registry=get_registry())
    if as_csv:
        click.echo(df.to_csv(float_format="%.4g"), nl=False)
    else:
        click.echo(f"P(AU | expression), source: {df.attrs.get('source', source)}")
        click.echo(df.to_string(float_format=lambda v: f"{v:.2f}"))
        for note in _notes(df):
            click.echo(f"Note: {note}")
    if plot_path:
        from ..coupling.plot import plot_relatedness

        click.echo(f"Wrote {plot_relatedness(df, plot_path)}", err=as_csv)


@relatedness.command()
@click.argument("dataset")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="CSV file to write.")
@click.option(
    "--smoothing", type=float, default=1.0, show_default=True, help="Additive smoothing a: (k + a) / (n + 2a)."
)
@click.option("--split", default="train", show_default=True, help="Which split to count.")
@click.option("--data-root", type=click.Path(file_okay=False), help="Where databases live (default $FBN_BENCH_DATA).")
def estimate(dataset: str, out_path: str, smoothing: float, split: str, data_root: str | None) -> None:
    """Estimate the table from a database.

    DATASET must label both expressions and AUs (e.g. affwild2). Cells it has no labels for keep the
    du2014 values; the command says which.
    """
    from ..atomic import atomic_write_text
    from ..coupling import estimate_relatedness
    from ..registry import get_registry

    df = estimate_relatedness(dataset, data_root=data_root, smoothing=smoothing, split=split, registry=get_registry())
    out = Path(out_path)
    atomic_write_text(out, df.to_csv(float_format="%.6g"), "relatedness table")
    click.echo(
        f"Estimated from {df.attrs['rows']} {split} rows of {dataset} with both labels "
        f"(smoothing {smoothing:g}): wrote {out}"
    )
    for note in _notes(df):
        click.echo(f"Note: {note}")
