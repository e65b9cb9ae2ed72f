"""Coupling the expression and AU tasks through the relatedness table."""

from .relatedness import (
    COMPOUND_EXPRESSIONS,
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
    "COMPOUND_EXPRESSIONS",
    "DU2014",
    "du2014",
    "empirical_from_table",
    "estimate_relatedness",
    "prototypical_aus",
    "read_relatedness_csv",
    "relatedness",
    "relatedness_tensor",
]
