"""Coupling weights and temperatures chosen on `val`: one small grid and one budget for every coupling.

`fbn-bench sweep --preset coupling-tuning` trains every candidate below (all three tasks, the sweep's budget)
and then chooses, for each coupling, the candidate with the best mean selection score over seeds: the
score each run's records carry (`selection_score`: the mean headline metric on the `val` splits at the
selected step, fbn_bench.selection). Test scores are never read. The choice is printed and written to
`<sweep>/chosen-on-val.toml`, whose coupling texts a later run or grid uses as they are. docs/protocol.md
says why these values.
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_write_text
from .results import RESULTS_FILE, read_records

WEIGHTS = (0.1, 0.3, 1.0)
TEMPERATURES = (0.5, 1.0, 2.0)

# What is tuned per coupling: its weight on one grid for all, and a temperature where the coupling's default
# form uses one (soft's q(e); dm's temperature acts only with reverse=true, which is not the default).
TUNED: dict[str, dict[str, tuple[float, ...]]] = {
    "co": {"weight": WEIGHTS},
    "soft": {"weight": WEIGHTS, "temperature": TEMPERATURES},
    "dm": {"weight": WEIGHTS},
}
CHOSEN_FILE = "chosen-on-val.toml"


def candidate_text(coupling: str, values: dict[str, float]) -> str:
    """`soft:temperature=2,weight=0.3`: a coupling text the registry resolves (options sorted)."""
    return f"{coupling}:" + ",".join(f"{k}={v:g}" for k, v in sorted(values.items()))


def candidates() -> list[tuple[str, str, str]]:
    """[(configuration name, coupling, coupling text)] of the whole grid, in a stable order."""
    found = []
    for coupling, grid in TUNED.items():
        keys = sorted(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            text = candidate_text(coupling, dict(zip(keys, combo, strict=True)))
            found.append((text.replace(":", "-").replace(",", "-"), coupling, text))
    return found


@dataclass(frozen=True)
class Choice:
    coupling: str
    text: str  # the chosen candidate's coupling text
    score: float  # its mean selection score on val
    seeds: int
    table: list[tuple[str, float, int]]  # every candidate: (text, mean val score, seeds)


def choose_on_val(plan) -> list[Choice]:
    """For each coupling, the candidate whose finished seeds have the best mean val selection score."""
    from .sweep_run import finished_runs

    by_candidate: dict[str, list[float]] = {}
    for run in finished_runs(plan):
        scores = {r.get("selection_score") for r in read_records(run.run_dir / RESULTS_FILE)}
        scores.discard(None)
        if len(scores) == 1:  # one run, one selection score (every record of the run carries it)
            by_candidate.setdefault(run.config.coupling, []).append(float(scores.pop()))
    choices = []
    for coupling in TUNED:
        table = [
            (text, statistics.fmean(by_candidate[text]), len(by_candidate[text]))
            for _, c, text in candidates()
            if c == coupling and by_candidate.get(text)
        ]
        if table:
            # Scores equal to 1e-9 (float noise of near-identical runs) go to the first in grid order, so a
            # tie never turns on the last bits of a mean.
            text, score, seeds = max(table, key=lambda row: round(row[1], 9))
            choices.append(Choice(coupling, text, score, seeds, table))
    return choices


def write_choices(choices: list[Choice], folder: str | Path) -> Path:
    path = Path(folder) / CHOSEN_FILE
    lines = [
        "# Coupling options chosen on val by `fbn-bench sweep --preset coupling-tuning`: for each coupling, the",
        "# candidate with the best mean selection score (val headline metrics) over its finished seeds.",
        "[couplings]",
        *(f'{c.coupling} = "{c.text}"  # val {c.score:.4f}, {c.seeds} seed(s)' for c in choices),
    ]
    atomic_write_text(path, "\n".join(lines) + "\n", "tuning choices")
    return path
