"""`fbn-bench datasets ...`: list, prepare, inspect and check databases."""

from __future__ import annotations

import click


@click.group()
def datasets() -> None:
    """List, prepare, inspect and check databases."""
