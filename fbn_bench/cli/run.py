"""`fbn-bench run` and `fbn-bench evaluate`."""

from __future__ import annotations

import click

from ..errors import FbnError


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def run() -> None:
    """Train FaceBehaviorNet and score every chosen database (arrives with the training engine)."""
    raise FbnError("training arrives in a later release; see `fbn-bench plugins` for what is installed now")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def evaluate() -> None:
    """Re-score a trained model (arrives with the training engine)."""
    raise FbnError("evaluation arrives in a later release")
