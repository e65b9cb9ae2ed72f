"""The `unlisted` and `base_rate` options of the couplings that read zero cells of the relatedness table
(`soft`, `dm`): what such a cell means. docs/coupling.md, "Unlisted cells"."""

from __future__ import annotations

from fbn_bench.coupling import losses
from fbn_bench.coupling.inputs import check_choice, check_number

OPTIONS = {
    "unlisted": "what a zero cell of the relatedness table (neutral's row aside) means: impossible (default: "
    "P = 0), base_rate (P = base_rate) or masked (unknown, left out)",
    "base_rate": f"P(AU | expression) of an unlisted cell with unlisted=base_rate (default {losses.DEFAULT_BASE_RATE})",
}


def resolve(coupling: str, R, unlisted, base_rate):
    """(R', known, unlisted, base_rate) from the user's options, with one-line errors for bad values."""
    unlisted = check_choice(coupling, "unlisted", unlisted, losses.UNLISTED_CHOICES)
    base_rate = check_number(coupling, "base_rate", base_rate, low=0.0, high=1.0)
    table, known = losses.resolve_unlisted(R, unlisted, base_rate)
    return table, (None if bool(known.all()) else known), unlisted, base_rate
