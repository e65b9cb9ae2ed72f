"""The built-in couplings: `co` (hard co-annotation), `soft` (soft co-annotation), `dm` (distribution
matching). Combine them on the command line with `+`, e.g. `--coupling soft+dm`."""

from fbn_bench import hookimpl

from . import co_annotation, distribution_matching, soft_co_annotation


@hookimpl
def register_couplings(register):
    for module in (co_annotation, soft_co_annotation, distribution_matching):
        register(module.SPEC)
