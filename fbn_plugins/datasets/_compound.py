"""The compound-expression vocabulary: data of the plugins that label compound classes (RAF-DB's compound
set and the synthetic database that mirrors it), not of the core, whose vocabulary is the 7 basic
expressions.

The 11 RAF-DB compound classes, in RAF-DB's order (codes 1-11), with their prototypical AUs (Du, Tao and
Martinez, "Compound facial expressions of emotion", PNAS 2014).
"""

from __future__ import annotations

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
