"""The canonical vocabulary of the tasks. The order here is the order of every tensor and table.

`TASKS` are the three basic tasks of FaceBehaviorNet (what `all` means); `au_int`, AU intensity 0-5 on the
databases that code it, is opt-in (`EXTRA_TASKS`), so a run of `all` is the same run it always was."""

from __future__ import annotations

TASKS: tuple[str, ...] = ("va", "expr", "au")
EXTRA_TASKS: tuple[str, ...] = ("au_int",)
ALL_TASKS: tuple[str, ...] = (*TASKS, *EXTRA_TASKS)

EXPRESSIONS: tuple[str, ...] = (
    "neutral",
    "anger",
    "disgust",
    "fear",
    "happiness",
    "sadness",
    "surprise",
)
# Classes some databases' own protocols add to the 7 (AffectNet-8: contempt; ABAW: "Other"), opt-in per
# database (`classes=8`, DatasetSpec.expression_protocols). Their logits come from a second head that only a
# run training on such a protocol has, so every 7-class run, checkpoint and table stays as it was.
EXTRA_CLASSES: tuple[str, ...] = ("contempt", "other")
EXTRA_HEAD = "expr_extra"  # the model output of their logits (B, 2)
# What expression codes index (tables, batches, the two heads' logits side by side): the 7, then the extras.
EXPRESSION_VOCABULARY: tuple[str, ...] = (*EXPRESSIONS, *EXTRA_CLASSES)

# The union of the EmotioNet, DISFA and BP4D AU sets (FaceBehaviorNet's 17).
AUS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 26)

AU_COLUMNS: tuple[str, ...] = tuple(f"AU{n}" for n in AUS)
# AU intensity 0-5 (NaN unlabelled): kept by normalize_table only for a database whose spec.tasks has au_int.
AU_INT_COLUMNS: tuple[str, ...] = tuple(f"AU{n}_int" for n in AUS)
VA_COLUMNS: tuple[str, ...] = ("valence", "arousal")
MAX_INTENSITY = 5  # FACS intensity A-E coded 1-5, 0 absent (DISFA, BP4D)

TASK_NAMES = {"va": "valence-arousal", "expr": "basic expression", "au": "action units", "au_int": "AU intensity"}


def parse_tasks(text: str | list[str] | tuple[str, ...] | set[str]) -> tuple[str, ...]:
    """`"all"` (the three basic tasks), `"va,au"`, `"au_int"` or an iterable of task keys -> task keys in
    canonical order."""
    from .errors import FbnError

    if isinstance(text, str):
        items = [t.strip() for t in text.split(",") if t.strip()]
    elif isinstance(text, list | tuple | set | frozenset):
        items = list(text)
    else:  # `tasks = 5` in a TOML file
        raise FbnError(f"tasks must be 'all', a text such as 'va,au' or a list of task names, got {text!r}")
    if items == ["all"]:
        return TASKS
    unknown = [t for t in items if t not in ALL_TASKS]
    if unknown or not items:
        raise FbnError(
            f"unknown task {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"use 'all' or a comma-separated subset of {', '.join(TASKS)} and the opt-in {', '.join(EXTRA_TASKS)}"
        )
    return tuple(t for t in ALL_TASKS if t in items)


def au_index(au: int) -> int:
    """Position of an AU number in AUS (raises FbnError for AUs outside the 17)."""
    from .errors import FbnError

    try:
        return AUS.index(int(au))
    except ValueError:
        raise FbnError(f"AU{au} is not one of the 17 AUs fbn-bench models: {', '.join(map(str, AUS))}") from None
