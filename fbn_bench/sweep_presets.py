"""The built-in sweep grids (`fbn-bench sweep --preset NAME`): the ablation, its v2 with controls, and the
coupling tuning. Each is a list of named configurations on one fixed budget (sweep.preset_grid); what the
rows ask and why is in docs/sweeps.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import FbnError
from .sweep import Grid, preset_grid
from .tomlfile import read_toml

ALL = ("va", "expr", "au")

# The ablation of FaceBehaviorNet: each task alone, then all three with each coupling.
ABLATION = (
    ("va", {"tasks": ("va",), "coupling": "none"}),
    ("expr", {"tasks": ("expr",), "coupling": "none"}),
    ("au", {"tasks": ("au",), "coupling": "none"}),
    ("all-none", {"tasks": ALL, "coupling": "none"}),
    ("all-co", {"tasks": ALL, "coupling": "co"}),
    ("all-soft", {"tasks": ALL, "coupling": "soft"}),
    ("all-dm", {"tasks": ALL, "coupling": "dm"}),
    ("all-soft+dm", {"tasks": ALL, "coupling": "soft+dm"}),
)

# Ablation v2's controls. world=null: the labels share no expression-AU structure, so a coupling that helps
# there flags the benchmark, not the method; world=shuffled: the same, with the AUs as structured as in the
# realistic world (same base rates and co-activation); world=du2014: the circular world, the couplings'
# upper bound.
CONTROL_WORLDS = ("null", "shuffled", "du2014")
CONTROL_COUPLINGS = ("none", "soft", "dm", "soft+dm")
# How far the realistic world departs from the couplings' prior (1 is the default world, the primary rows).
MISMATCH_LEVELS = (0, 2)
MISMATCH_COUPLINGS = ("none", "soft", "soft+dm")
# The secondary, to-convergence rows: early stopping on val within this many times the primary budget.
CONVERGENCE_FACTOR = 3
CONVERGENCE_PATIENCE = 3  # validations without a better val selection score
V2_SEEDS = 5


def ablation_grid(seeds: int | list[int] | None = None, datasets=(), registry=None, couplings=None, **base) -> Grid:
    """The 8 ablation configurations with one budget: every run gets the base preset's steps, batch size,
    image size and backbone. `base` holds RunConfig settings shared by all (e.g. steps=50, preset="paper");
    `couplings` maps a coupling to the text of its chosen options (chosen_couplings)."""
    return preset_grid("ablation", _with_couplings(ABLATION, couplings), seeds or 3, datasets, registry, **base)


def ablation_v2_grid(
    seeds: int | list[int] | None = None, datasets=(), registry=None, couplings=None, **base: Any
) -> Grid:
    """Ablation v2, in the order its rows matter (a sweep stopped early has the primary rows first):
    the 8 ablation configurations at equal per-task samples; the world controls (null, shuffled, du2014) and the
    mismatch levels for the holistic network; then the 8 configurations to convergence on val."""
    from .run_datasets import default_datasets
    from .sweep import resolve_entry

    steps = resolve_entry({k: v for k, v in base.items() if v is not None}, registry).steps
    texts = tuple(datasets or ()) or default_datasets(registry, ALL)
    rows = list(ABLATION)
    for world in CONTROL_WORLDS:
        rows += _holistic(f"{world}_", CONTROL_COUPLINGS, _with_option(texts, "world", world))
    for level in MISMATCH_LEVELS:
        rows += _holistic(f"mismatch={level}_", MISMATCH_COUPLINGS, _with_option(texts, "mismatch", level))
    if steps is not None:  # else preset_grid refuses the epoch budget with its own message
        longer = {"steps": CONVERGENCE_FACTOR * steps, "patience": CONVERGENCE_PATIENCE}
        rows += [(f"conv_{name}", {**settings, **longer}) for name, settings in ABLATION]
    rows = _with_couplings(rows, couplings)
    return preset_grid("ablation-v2", rows, seeds or V2_SEEDS, datasets, registry, **base)


def coupling_tuning_grid(seeds: int | list[int] | None = None, datasets=(), registry=None, **base: Any) -> Grid:
    """Every coupling's weight (and temperature) candidates, all three tasks, one budget (fbn_bench.tuning)."""
    from .tuning import candidates

    configurations = [(name, {"tasks": ALL, "coupling": text}) for name, _, text in candidates()]
    return preset_grid("coupling-tuning", configurations, seeds or 3, datasets, registry, **base)


PRESET_GRIDS = {"ablation": ablation_grid, "ablation-v2": ablation_v2_grid, "coupling-tuning": coupling_tuning_grid}
TAKES_COUPLINGS = ("ablation", "ablation-v2")


def chosen_couplings(path: str | Path) -> dict[str, str]:
    """{coupling: its text} from a `chosen-on-val.toml` (fbn_bench.tuning writes it)."""
    table = read_toml(Path(path), "coupling choices").get("couplings")
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise FbnError(f'{path}: expected a [couplings] table of coupling texts (co = "co:weight=0.3")')
    for name, text in table.items():
        if text.partition(":")[0] != name:
            raise FbnError(f'{path}: {name} = {text!r} names another coupling; write {name} = "{name}:..."')
    return dict(table)


def _holistic(prefix: str, couplings: tuple[str, ...], datasets: tuple[str, ...]) -> list[tuple[str, dict]]:
    return [(f"{prefix}all-{c}", {"tasks": ALL, "coupling": c, "datasets": datasets}) for c in couplings]


def _with_option(texts: tuple[str, ...], key: str, value: Any) -> tuple[str, ...]:
    """`synth-disfa` -> `synth-disfa:world=null`; `synth-disfa:scale=2` -> `synth-disfa:scale=2,world=null`."""
    return tuple(f"{t}{',' if ':' in t else ':'}{key}={value}" for t in texts)


def _with_couplings(rows, couplings: dict[str, str] | None) -> list[tuple[str, dict]]:
    """Each row's coupling with its chosen options: `soft+dm` -> `soft:temperature=0.5+dm:weight=1`."""
    if not couplings:
        return list(rows)
    out = []
    for name, settings in rows:
        parts = settings["coupling"].split("+")
        out.append((name, {**settings, "coupling": "+".join(couplings.get(p, p) for p in parts)}))
    return out
