"""The `fbn-bench` command line. Thin: every command parses, calls the library, prints.

Command modules keep heavy imports (torch, pandas) inside their functions so `--help` stays fast.
"""

from __future__ import annotations

import os
import sys
import warnings

import click

from .. import __version__
from ..errors import FbnError, FbnWarning, os_error_line


class FbnGroup(click.Group):
    """Turns FbnError into `Error: <one line>` on stderr and exit status 2 (a traceback with --debug).

    So does an OSError from any command (a folder that cannot be created, a file that cannot be written, a
    full disk): the machine, not the code, is what the user has to fix, and the line names the path."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (FbnError, OSError) as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            if isinstance(exc, BrokenPipeError):  # `fbn-bench ... | head`: the reader left, nothing to say
                sys.exit(1)
            click.echo(f"Error: {exc if isinstance(exc, FbnError) else os_error_line(exc)}", err=True)
            sys.exit(2)


@click.group(cls=FbnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="fbn-bench")
@click.option("--debug", is_flag=True, envvar="FBN_BENCH_DEBUG", help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Benchmark holistic facial behaviour analysis: valence-arousal, expressions and action units."""
    ctx.ensure_object(dict)["debug"] = debug


def _add_commands() -> None:
    from .cache import cache
    from .compound import compound
    from .datasets import datasets
    from .leaderboard import leaderboard
    from .plugins import plugins
    from .predict import predict
    from .relatedness import relatedness
    from .run import evaluate, run
    from .sweep import sweep

    for command in (run, evaluate, predict, compound, sweep, datasets, relatedness, leaderboard, cache, plugins):
        cli.add_command(command)


_add_commands()


_SHOWN: set[str] = set()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """FbnWarning as one `warning: ...` line, once per process (a split's note recurs at every validation:
    scoring catches warnings, which resets Python's own once-only registry); others as Python shows them."""
    text = f"warning: {message}\n" if issubclass(category, FbnWarning) else None
    if text is not None:
        if text in _SHOWN:
            return
        _SHOWN.add(text)
    (file or sys.stderr).write(text or warnings.formatwarning(message, category, filename, lineno, line))


def main() -> None:
    warnings.showwarning = _show_warning
    cli(prog_name="fbn-bench", obj={"debug": bool(os.environ.get("FBN_BENCH_DEBUG"))})
