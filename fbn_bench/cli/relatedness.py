"""`fbn-bench relatedness ...`: the P(AU | expression) table."""

from __future__ import annotations

import click


@click.group()
def relatedness() -> None:
    """Show or estimate the expression-AU relatedness table."""
