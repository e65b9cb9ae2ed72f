"""The `unlisted` and `base_rate` options of the couplings that read zero cells of the relatedness table
(`soft`, `dm`): what such a cell means. docs/coupling.md, "Unlisted cells"."""

from __future__ import annotations

from fbn_bench import Option
from fbn_bench.coupling import losses

OPTIONS = (
    Option(
        "unlisted",
        str,
        "impossible",
        choices=losses.UNLISTED_CHOICES,
        help="what a zero cell of the relatedness table (neutral's row aside) means: impossible (P = 0), "
        "base_rate (P = base_rate) or masked (unknown, left out)",
    ),
    Option(
        "base_rate",
        float,
        losses.DEFAULT_BASE_RATE,
        low=0.0,
        high=1.0,
        help="P(AU | expression) of an unlisted cell with unlisted=base_rate",
    ),
)


def resolve(coupling: str, R, unlisted, base_rate):
    """(R', known, unlisted, base_rate) from the options (checked by the core against OPTIONS)."""
    table, known = losses.resolve_unlisted(R, unlisted, base_rate)
    return table, (None if bool(known.all()) else known), unlisted, base_rate
