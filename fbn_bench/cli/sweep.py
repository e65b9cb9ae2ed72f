"""`fbn-bench sweep`: many runs from a preset or a grid file."""

from __future__ import annotations

import click


@click.group(invoke_without_command=True)
def sweep() -> None:
    """Run a grid of configurations (arrives with the couplings)."""
