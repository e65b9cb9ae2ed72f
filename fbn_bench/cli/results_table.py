"""The results table `run` and `evaluate` print: each task's headline metric first, every number with three
decimals, a trivial predictor's score beside each one, and why `n` can differ between one database's tasks."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

DECIMALS = 3
# The trivial predictor each score is set beside (scored by the same code as the model, so names and
# definitions always agree with the records).
TRIVIAL = {
    "va": "valence and arousal always 0 (CCC 0)",
    "expr": "always the test split's most frequent expression",
    "au": "every AU always present",
    "au_int": "every AU's intensity always its test-split mean (ICC 0)",
}


def number(value) -> str:
    """Three decimals, no `-0.000`; a missing value is `-`."""
    if value is None or value != value:  # None or NaN
        return "-"
    text = f"{value:.{DECIMALS}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def trivial_scores(predictions: Path) -> dict[tuple[str, str], float]:
    """{(task, metric): value} of the trivial predictors (TRIVIAL) on the labels of a predictions file;
    `{}` when the file is absent (a run whose predictions were not written)."""
    import pandas as pd

    from ..scoring import score_predictions
    from ..tasks import ALL_TASKS, AUS

    if not predictions.is_file():
        return {}
    frame = pd.read_csv(predictions)
    trivial = frame.copy()
    if "pred_valence" in trivial:
        trivial["pred_valence"], trivial["pred_arousal"] = 0.0, 0.0
    if "pred_expression" in trivial and frame["expression"].notna().any():
        trivial["pred_expression"] = frame["expression"].mode().iloc[0]
    aus = [a for a in AUS if f"prob_AU{a}" in trivial]
    for au in aus:
        trivial[f"prob_AU{au}"] = 1.0
    intensity = [a for a in AUS if f"pred_int_AU{a}" in trivial and f"AU{a}_int" in frame]
    for au in intensity:
        trivial[f"pred_int_AU{au}"] = frame[f"AU{au}_int"].mean() if frame[f"AU{au}_int"].notna().any() else 0.0
    aus = sorted({*aus, *intensity})
    with warnings.catch_warnings():  # metrics undefined for a constant predictor are left out, not announced
        warnings.simplefilter("ignore")
        return {key: value for key, (value, _) in score_predictions(trivial, ALL_TASKS, aus).items()}


def _per_item(metric: str) -> bool:
    from ..scoring import per_item

    return per_item(str(metric))


# Shown with --per-class: per-AU F1 (at the run's thresholds) and AP, per-AU intensity ICC, per-class F1 and
# recall; the rest of the per-AU metrics (F1@0.5, ROC-AUC, intensity PCC and MAE) stay in results.jsonl.
_DETAIL_PREFIXES = ("f1_", "ap_", "recall_", "icc_")


def _shown(metric: str, per_class: bool) -> bool:
    if not _per_item(metric):
        return True
    return per_class and str(metric).startswith(_DETAIL_PREFIXES) and "@" not in str(metric)


def _headlines(dataset: str) -> dict[str, str]:
    """{task: headline metric} of a database (its spec's; the defaults when no installed plugin has it)."""
    from ..registry import get_registry
    from ..scoring import headlines

    return headlines(get_registry().find("datasets", dataset))


def _ordered(records: list[dict], per_class: bool) -> list[dict]:
    """Records grouped by database and task (in the order they came), each task's headline metric first."""
    shown = [r for r in records if _shown(r["metric"], per_class)]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in shown:
        groups.setdefault((r["dataset"], r["task"]), []).append(r)
    heads = {dataset: _headlines(dataset) for dataset, _ in groups}
    return [
        r
        for (dataset, task), group in groups.items()
        # stable: headline, the other summaries, then the per-AU / per-class ones, each in the order they came
        for r in sorted(group, key=lambda r: (r["metric"] != heads[dataset].get(task), _per_item(r["metric"])))
    ]


def results_table(records: list[dict], run_dir: Path, per_class: bool = False) -> str:
    """The table and the notes under it, as text."""
    from tabulate import tabulate

    from ..results import predictions_path

    trivial: dict[str, dict] = {}
    rows = []
    for r in _ordered(records, per_class):
        if r["dataset"] not in trivial:
            trivial[r["dataset"]] = trivial_scores(predictions_path(run_dir, r["dataset"]))
        baseline = trivial[r["dataset"]].get((r["task"], r["metric"]))
        rows.append([r["dataset"], r["task"], r["metric"], number(r["value"]), number(baseline), r["n_samples"]])
    table = tabulate(
        rows,
        headers=["dataset", "task", "metric", "score", "trivial", "n"],
        tablefmt="github",
        disable_numparse=True,
        colalign=("left", "left", "left", "right", "right", "right"),
    )
    return "\n".join([table, *_notes(records, {r[1] for r in rows}, per_class)])


def _notes(records: list[dict], tasks: set[str], per_class: bool) -> list[str]:
    notes = [
        "trivial: the same metric for a predictor that learns nothing: "
        + "; ".join(f"{task} {TRIVIAL[task]}" for task in TRIVIAL if task in tasks)
        + "."
    ]
    n_by_dataset: dict[str, set[int]] = {}
    for r in records:
        if not _per_item(r["metric"]):
            n_by_dataset.setdefault(r["dataset"], set()).add(r["n_samples"])
    partial = [name for name, ns in n_by_dataset.items() if len(ns) > 1]
    if partial:
        notes.append(
            f"n: the test samples labelled for that task. {', '.join(partial)} label only some of their "
            "samples for some tasks (partial labels), so n differs between their tasks."
        )
    if not per_class and any(_per_item(r["metric"]) for r in records):
        shown = {
            "au": "per-AU F1/AP",
            "expr": "per-expression F1/recall",
            "au_int": "per-AU ICC/PCC/MAE",
        }
        tasks = [t for t in shown if any(r["task"] == t and _per_item(r["metric"]) for r in records)]
        what = ", ".join(shown[t] for t in tasks) or "per-item scores"
        where = "; confusion matrices in confusion/" if "expr" in tasks else ""
        notes.append(f"{what[0].upper()}{what[1:]}: add --per-class (all of them are in results.jsonl{where}).")
    return notes


def print_results(records: list[dict], skipped: dict[str, dict[str, int]], run_dir: Path, per_class: bool) -> None:
    click.echo(results_table(records, run_dir, per_class))
    for name, reasons in skipped.items():
        detail = ", ".join(f"{n} {reason}" for reason, n in reasons.items())
        click.echo(f"skipped images in {name}: {detail}", err=True)
