"""Coupling the expression and AU tasks through the relatedness table."""

from .relatedness import (
    DU2014,
    du2014,
    empirical_from_table,
    estimate_relatedness,
    prototypical_aus,
    read_relatedness_csv,
    relatedness,
    relatedness_tensor,
)

__all__ = [
    "DU2014",
    "du2014",
    "empirical_from_table",
    "estimate_relatedness",
    "prototypical_aus",
    "read_relatedness_csv",
    "relatedness",
    "relatedness_tensor",
]
