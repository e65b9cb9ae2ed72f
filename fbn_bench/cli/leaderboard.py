"""`fbn-bench leaderboard ...`: tables built from result records."""

from __future__ import annotations

import click


@click.group()
def leaderboard() -> None:
    """Build and show leaderboards from result records."""
