"""The compound-expression vocabulary: data of the plugins that label compound classes (RAF-DB's compound
set and the synthetic database that mirrors it), not of the core, whose vocabulary is the 7 basic
expressions.

The 11 RAF-DB compound classes, in RAF-DB's order (codes 1-11), with their prototypical AUs (Du, Tao and
Martinez, "Compound facial expressions of emotion", PNAS 2014).
"""

from __future__ import annotations

from fbn_bench import CompoundClass

COMPOUND_EXPRESSIONS: dict[str, tuple[int, ...]] = {
    "happily surprised": (1, 2, 12, 25),
    "happily disgusted": (10, 12, 25),
    "sadly fearful": (1, 4, 15, 25),
    "sadly angry": (4, 7, 15),
    "sadly surprised": (1, 4, 25, 26),
    "sadly disgusted": (4, 10),
    "fearfully angry": (4, 20, 25),
    "fearfully surprised": (1, 2, 5, 20, 25),
    "angrily surprised": (4, 25, 26),
    "angrily disgusted": (4, 10, 17),
    "disgustedly surprised": (1, 2, 5, 10),
}

# Each class's two component basic expressions, as its name says (canonical expression names).
COMPONENTS: dict[str, tuple[str, str]] = {
    "happily surprised": ("happiness", "surprise"),
    "happily disgusted": ("happiness", "disgust"),
    "sadly fearful": ("sadness", "fear"),
    "sadly angry": ("sadness", "anger"),
    "sadly surprised": ("sadness", "surprise"),
    "sadly disgusted": ("sadness", "disgust"),
    "fearfully angry": ("fear", "anger"),
    "fearfully surprised": ("fear", "surprise"),
    "angrily surprised": ("anger", "surprise"),
    "angrily disgusted": ("anger", "disgust"),
    "disgustedly surprised": ("disgust", "surprise"),
}

# The vocabulary as the core reads it (DatasetSpec.compound_classes), in RAF-DB's order.
COMPOUND_CLASSES: tuple[CompoundClass, ...] = tuple(
    CompoundClass(name, COMPONENTS[name], aus) for name, aus in COMPOUND_EXPRESSIONS.items()
)
