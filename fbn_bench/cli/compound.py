"""`fbn-bench compound`: a trained run on compound expressions, zero-shot and few-shot."""

from __future__ import annotations

import json

import click


def _ints(text: str) -> tuple[int, ...]:
    from ..errors import FbnError

    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise FbnError(f"--few-shot takes whole numbers separated by commas, e.g. 1,5,10; got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


@click.command()
@click.argument("run_dir_or_checkpoint", type=click.Path(exists=True))
@click.option("--datasets", default="synth-rafdb-compound", show_default=True, help="Compound databases to score.")
@click.option(
    "--zero-shot",
    "zero_shot",
    default="pair,au-template,au-components,mix",
    show_default=True,
    help="Zero-shot scorers (`fbn-bench plugins` lists them; options as name:key=value; '' for none).",
)
@click.option(
    "--few-shot", "few_shot", default="1,5,10", show_default=True, help="K labelled images per class ('' for none)."
)
@click.option("--episodes", default=10, show_default=True, type=int, help="Seeded support draws per K.")
@click.option(
    "--learners",
    default=None,
    help="Few-shot learners, comma-separated (default: every one; docs/compound.md lists them).",
)
@click.option("--no-baseline", is_flag=True, help="Skip the untrained network of the same architecture.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the episodes.")
@click.option("--data-root", default=None, type=click.Path(file_okay=False), help="Folder of the databases.")
@click.option("--cpu", is_flag=True, help="Stay on the CPU even when a GPU is present.")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON instead of a table.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def compound(
    run_dir_or_checkpoint,
    datasets,
    zero_shot,
    few_shot,
    episodes,
    learners,
    no_baseline,
    seed,
    data_root,
    cpu,
    as_json,
    no_progress,
):
    """Score a trained run on compound expressions it never saw: zero-shot scorers on its predictions, and
    few-shot learners on its frozen features (docs/compound.md). Records: <run>/compound.jsonl."""
    from ..compound import compound_evaluation
    from ..registry import get_registry

    outcome = compound_evaluation(
        run_dir_or_checkpoint,
        _names(datasets),
        get_registry(),
        zero_shot=_names(zero_shot),
        shots=_ints(few_shot),
        episodes=episodes,
        learners=_names(learners) if learners else None,
        untrained=not no_baseline,
        seed=seed,
        cpu=cpu,
        data_root=data_root,
        progress=not no_progress,
    )
    if as_json:
        click.echo(
            json.dumps({"records": outcome.records, "notes": outcome.notes, "path": str(outcome.path)}, indent=2)
        )
        return
    click.echo(_table(outcome.records))
    for note in outcome.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"records: {outcome.path}")
    for picture in outcome.pictures:
        click.echo(f"confusion matrices: {picture}")


def _table(records) -> str:
    from tabulate import tabulate

    from .results_table import number

    rows = {}
    for r in records:
        key = (r["dataset"], r["features"], r["protocol"], r["method"], r["k"])
        cell = number(r["value"]) + (f" ± {number(r['sd'])}" if r.get("sd") is not None else "")
        rows.setdefault(key, {"chance": r["chance"]})[r["metric"]] = cell
    body = [
        [
            *key[:4],
            key[4] or "-",
            cells.get("uar"),
            cells.get("macro_f1"),
            cells.get("accuracy"),
            number(cells["chance"]["uar"]),
        ]
        for key, cells in rows.items()
    ]
    headers = ["dataset", "features", "protocol", "method", "K", "UAR", "macro-F1", "accuracy", "chance UAR"]
    note = "± : s.d. over episodes (support draws); UAR: mean per-class recall."
    return tabulate(body, headers=headers, tablefmt="github") + "\n" + note
