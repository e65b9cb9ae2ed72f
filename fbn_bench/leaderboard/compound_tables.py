"""Compound records (`compound.jsonl` beside a run's `results.jsonl`) -> one table per compound database.

A row is a (configuration, features, protocol, method, K); its value is the mean over the configuration's
training seeds and, within each, the episodes. The interval resamples both, hierarchically: seeds with
replacement, then each drawn seed's episodes with replacement (a zero-shot row has no episodes, so only its
seeds vary; one seed and no episodes: no interval). docs/compound.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..compound import COMPOUND_FILE, METRICS
from ..errors import FbnError
from ..results import RESULTS_FILE, read_records
from .records import ConfigKey, _key, _seed, precedence

HEADLINE = "uar"
METRIC_NAMES = {"uar": "UAR", "macro_f1": "macro-F1", "accuracy": "accuracy"}


@dataclass
class CompoundRow:
    key: ConfigKey
    features: str
    protocol: str
    method: str
    k: int
    chance: float
    # metric -> training seed -> the values of its episodes (one value for zero-shot)
    values: dict[str, dict[int, list[float]]] = field(default_factory=dict)


def _compound_files(source: Path) -> list[Path]:
    source = Path(source)
    if source.is_file():
        return [source] if source.name == COMPOUND_FILE else []
    return sorted(source.rglob(COMPOUND_FILE)) if source.is_dir() else []


def load_rows(sources) -> dict[str, list[CompoundRow]]:
    """{compound database: rows}. Each compound file takes its configuration and training seed from the run's
    results.jsonl beside it; of two runs of one configuration and seed, the later one counts."""
    latest: dict[tuple, tuple[tuple, list[dict], ConfigKey, int]] = {}
    for source in sources:
        for file in _compound_files(source):
            results = file.parent / RESULTS_FILE
            trained = next(iter(read_records(results)), None) if results.is_file() else None
            if not isinstance(trained, dict):
                raise FbnError(
                    f"{file}: no {RESULTS_FILE} beside it names the run's configuration; add the whole run folder"
                )
            key, seed = _key(trained, str(results)), _seed(trained)
            try:
                records = [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
            except ValueError as exc:
                raise FbnError(
                    f"{file}: not JSON lines ({exc}); score the run again with `fbn-bench compound`"
                ) from None
            slot = (key.config_hash, seed)
            if slot not in latest or precedence(trained) > latest[slot][0]:
                latest[slot] = (precedence(trained), records, key, seed)
    rows: dict[tuple, CompoundRow] = {}
    for _, records, key, seed in latest.values():
        for r in records:
            ident = (r["dataset"], key.config_hash, r["features"], r["protocol"], r["method"], int(r["k"]))
            row = rows.setdefault(
                ident, CompoundRow(key, r["features"], r["protocol"], r["method"], int(r["k"]), r["chance"]["uar"])
            )
            row.values.setdefault(r["metric"], {})[seed] = [float(v) for v in r.get("per_episode") or [r["value"]]]
    by_db: dict[str, list[CompoundRow]] = {}
    for (database, *_), row in sorted(rows.items(), key=lambda item: item[0]):
        by_db.setdefault(database, []).append(row)
    return by_db


def mean_and_interval(per_seed: dict[int, list[float]], resamples: int, confidence: float, seed: int):
    """(mean over seeds of each seed's episode mean, (low, high) or None): hierarchical percentile bootstrap."""
    groups = [np.asarray(v, float) for _, v in sorted(per_seed.items())]
    mean = float(np.mean([g.mean() for g in groups]))
    if len(groups) == 1 and len(groups[0]) == 1:
        return mean, None
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for b in range(resamples):
        chosen = rng.integers(0, len(groups), len(groups))
        draws[b] = np.mean([rng.choice(groups[i], len(groups[i])).mean() for i in chosen])
    tail = (1 - confidence) / 2
    return mean, (float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail)))


def to_markdown(
    database: str, rows: list[CompoundRow], settings, generated: str, docs: str | None = "../docs", references=()
) -> str:
    """The page of one compound database; `references`: its rows reported in papers, shown below the table."""
    from .render import _num, doc_link, reference_section

    level = round(100 * settings.confidence)
    out = [
        generated,
        "",
        f"# {database}: compound expressions",
        "",
        "Zero-shot scorers and few-shot learners on each configuration's trained network (and on an untrained "
        "network of the same architecture), scored on the test split by `fbn-bench compound` "
        f"({doc_link('compound.md', docs)}). Each value is the mean over the configuration's seeds and "
        f"their episodes; [brackets]: {level}% interval resampling seeds and, within each, episodes "
        f"({settings.resamples} resamples). K: labelled images per class (zero-shot: -).",
        "",
    ]
    if not rows:
        out.append("No measured results yet.")
        return "\n".join(out + reference_section(references, METRICS, METRIC_NAMES)) + "\n"
    out += [
        "| configuration | features | protocol | method | K | seeds | episodes | "
        + " | ".join(METRIC_NAMES[m] for m in METRICS)
        + " | chance UAR |",
        "|---|---|---|---|---|---|---|" + "---|" * len(METRICS) + "---|",
    ]
    for row in rows:
        cells = []
        for metric in METRICS:
            per_seed = row.values.get(metric)
            if not per_seed:
                cells.append("–")
                continue
            mean, ci = mean_and_interval(per_seed, settings.resamples, settings.confidence, settings.seed)
            cells.append(_num(mean) + (f" [{_num(ci[0])}, {_num(ci[1])}]" if ci else ""))
        seeds = row.values.get(HEADLINE, {})
        episodes = max((len(v) for v in seeds.values()), default=0) if row.protocol == "few-shot" else 0
        out.append(
            f"| {row.key.label()} | {row.features} | {row.protocol} | {row.method} | {row.k or '-'} | {len(seeds)} "
            f"| {episodes or '-'} | " + " | ".join(cells) + f" | {_num(row.chance)} |"
        )
    return "\n".join(out + reference_section(references, METRICS, METRIC_NAMES)) + "\n"
