"""The canonical vocabulary of the three tasks. The order here is the order of every tensor and table."""

from __future__ import annotations

TASKS: tuple[str, ...] = ("va", "expr", "au")

EXPRESSIONS: tuple[str, ...] = (
    "neutral",
    "anger",
    "disgust",
    "fear",
    "happiness",
    "sadness",
    "surprise",
)

# The union of the EmotioNet, DISFA and BP4D AU sets (FaceBehaviorNet's 17).
AUS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 26)

AU_COLUMNS: tuple[str, ...] = tuple(f"AU{n}" for n in AUS)
VA_COLUMNS: tuple[str, ...] = ("valence", "arousal")

TASK_NAMES = {"va": "valence-arousal", "expr": "basic expression", "au": "action units"}


def parse_tasks(text: str | list[str] | tuple[str, ...] | set[str]) -> tuple[str, ...]:
    """`"all"`, `"va,au"` or an iterable of task keys -> task keys in canonical order."""
    from .errors import FbnError

    if isinstance(text, str):
        items = [t.strip() for t in text.split(",") if t.strip()]
    elif isinstance(text, list | tuple | set | frozenset):
        items = list(text)
    else:  # `tasks = 5` in a TOML file
        raise FbnError(f"tasks must be 'all', a text such as 'va,au' or a list of task names, got {text!r}")
    if items == ["all"]:
        return TASKS
    unknown = [t for t in items if t not in TASKS]
    if unknown or not items:
        raise FbnError(
            f"unknown task {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"use 'all' or a comma-separated subset of {', '.join(TASKS)}"
        )
    return tuple(t for t in TASKS if t in items)


def au_index(au: int) -> int:
    """Position of an AU number in AUS (raises FbnError for AUs outside the 17)."""
    from .errors import FbnError

    try:
        return AUS.index(int(au))
    except ValueError:
        raise FbnError(f"AU{au} is not one of the 17 AUs fbn-bench models: {', '.join(map(str, AUS))}") from None
