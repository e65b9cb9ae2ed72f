"""`--coupling soft:temperature=2+dm:weight=0.5` -> one callable that returns every term, named."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..errors import FbnError
from ..options import resolve_plugin, split_named

NONE = "none"

# Split on every "+" except one inside a number (1e+3), which stays whole.
_PLUS = re.compile(r"(?<![0-9][eE])\+")


def parse_coupling(text: str | None) -> list[tuple[str, dict[str, Any]]]:
    """`"soft:temperature=2+dm"` -> [("soft", {"temperature": "2"}), ("dm", {})] (values as written, checked
    against each coupling's schema by `options.resolve_plugin`); `"none"` -> []."""
    text = (text or "").strip()
    if text in ("", NONE):
        return []
    parts = [part.strip() for part in _PLUS.split(text)]
    if any(not part for part in parts):
        raise FbnError(f"coupling {text!r} has an empty part; write e.g. soft+dm")
    parsed = [split_named(part) for part in parts]
    names = [name for name, _ in parsed]
    if NONE in names:
        raise FbnError(f"coupling {text!r}: 'none' means no coupling and cannot be combined with others")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FbnError(f"coupling {text!r} names {repeated[0]!r} twice; give each coupling once, with all its options")
    return parsed


class ComposedCoupling:
    """Calls each coupling and prefixes its term names: `soft/au`, `soft/expr`, `dm`, `dm/reverse`."""

    def __init__(self, parts: list[tuple[str, Any]]):
        self.parts = parts

    def __call__(self, outputs, batch) -> dict[str, Any]:
        terms: dict[str, Any] = {}
        for name, fn in self.parts:
            for key, value in fn(outputs, batch).items():
                term = f"{name}/{key}" if key else name
                if not hasattr(value, "detach") or value.ndim != 0:  # the trainer sums tensors into one scalar loss
                    got = (
                        f"a tensor of shape {tuple(value.shape)}"
                        if hasattr(value, "detach")
                        else f"a {type(value).__name__}"
                    )
                    raise FbnError(
                        f"coupling {name!r} returned term {term!r} as {got}; each term must be a "
                        "scalar (0-dim) tensor, e.g. reduce it with .mean()"
                    )
                terms[term] = value
        return terms

    def __bool__(self) -> bool:
        return bool(self.parts)

    def __repr__(self) -> str:
        return f"ComposedCoupling({', '.join(name for name, _ in self.parts) or NONE})"


def build_coupling(text: str | None, registry, relatedness_tensor, tasks: Iterable[str]) -> ComposedCoupling:
    """Build the coupling(s) named by `text` with the relatedness table (7, 17) for a run on `tasks`.

    Unknown names, unknown options and couplings whose heads are not among `tasks` are one-line errors.
    """
    tasks = set(tasks)
    parts = []
    for name, options in parse_coupling(text):
        spec = registry.coupling(name)
        options = resolve_plugin("couplings", spec, options).options
        missing = sorted(set(spec.requires) - tasks)
        if missing:
            raise FbnError(
                f"coupling {name!r} needs the {' and '.join(missing)} head(s), but the run's tasks are "
                f"{','.join(sorted(tasks)) or 'none'}; add them with --tasks or use --coupling none"
            )
        parts.append((name, spec.build(relatedness_tensor, **options)))
    return ComposedCoupling(parts)
