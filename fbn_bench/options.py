"""One schema for plugin options: each option is declared once, on the plugin's spec, as an `Option`.

From it the core parses `name:key=value` text, checks each value (one-line error naming the plugin, the
option, the value and what is allowed), fills the defaults, and writes the canonical text of the choice:
the plugin's name plus, sorted, the options that differ from their defaults, numbers written one way.
That text is at once the display name of a database's results, the stem of its files and what a
record's `plugins` entry is keyed by; `disfa:fold=2.0` and `disfa:threshold=2,fold=2` (2 being the
default threshold) are the same text, `disfa:fold=2`.

A `ResolvedPlugin` (spec + checked options + canonical text) is what travels from the command line to
the run, its records, and back into the leaderboard.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import FbnError

# What an option's default can follow instead of a fixed value (Option.follows).
IMAGE_SIZE = "image_size"
FOLLOWABLE = (IMAGE_SIZE,)
# The option a DatasetSpec with expression_protocols adds itself: which expression class set it labels.
CLASSES = "classes"
# Arguments the core passes itself; settings of the run (image_size) or locations (root), never options.
CORE_ARGUMENTS = frozenset({"root", "split", "image_size", "relatedness"})
_TYPES = (bool, int, float, str)
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


@dataclass(frozen=True)
class Option:
    """One option of a plugin: `Option("fold", int, 1, choices=(1, 2, 3), help="test fold")`.

    `type` is bool, int, float or str (None: any value, for options declared without a schema).
    `low`/`high` bound numbers inclusively, `above` exclusively (`above=0`: positive). `default=None` means
    "not set" and is always allowed. `follows=IMAGE_SIZE`: left unset, the option takes the run's image size
    (a synthetic database renders at the size the network sees). `role` names a use the core knows by role,
    not by name (`"ladder"`: a bool that makes `load` return an illustration table for `datasets gallery`).
    """

    name: str
    type: type | None
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    above: float | None = None
    follows: str | None = None
    role: str | None = None

    def __post_init__(self) -> None:
        if self.type is not None and self.type not in _TYPES:
            raise FbnError(f"option {self.name!r}: type must be bool, int, float or str, got {self.type!r}")
        if self.follows is not None and self.follows not in FOLLOWABLE:
            raise FbnError(f"option {self.name!r}: follows must be one of {', '.join(FOLLOWABLE)}")
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.default is not None:
            object.__setattr__(self, "default", self.check(self.default, f"option {self.name!r}'s default"))

    def allowed(self) -> str:
        """What the option takes, in words: `one of 1, 2, 3`, `an integer in [1, 5]`, `true or false`."""
        if self.choices:
            return "one of " + ", ".join(value_text(c) for c in self.choices)
        noun = {bool: "true or false", int: "an integer", float: "a number", str: "a text"}.get(self.type, "a value")
        lower = self.above if self.above is not None else self.low
        bracket = "(" if self.above is not None else "["
        if lower is not None and self.high is not None:
            return f"{noun} in {bracket}{value_text(lower)}, {value_text(self.high)}]"
        if lower is not None:
            return f"{noun} {'>' if self.above is not None else '>='} {value_text(lower)}"
        if self.high is not None:
            return f"{noun} <= {value_text(self.high)}"
        return noun

    def check(self, value: Any, owner: str) -> Any:
        """`value` (text from the command line, or a TOML/JSON value) as this option's type, within its bounds;
        else a one-line error naming `owner` (e.g. "dataset 'disfa'"), the option and what it takes."""
        if value is None and self.default is None:
            return None
        typed = _as_type(self.type, value)
        ok = typed is not _BAD and (
            (typed in self.choices)
            if self.choices
            else all(
                (
                    self.above is None or typed > self.above,
                    self.low is None or typed >= self.low,
                    self.high is None or typed <= self.high,
                )
            )
        )
        if not ok:
            raise FbnError(f"{owner}: option {self.name}={_shown(value)} is invalid; use {self.allowed()}")
        return typed


_BAD = object()


def _as_type(kind: type | None, value: Any) -> Any:
    text = value.strip() if isinstance(value, str) else None
    if kind is None:
        return parse_option_value(text) if text is not None else value
    if kind is bool:
        if isinstance(value, bool):
            return value
        low = (text or "").lower() if text is not None else str(value)
        return True if low in _TRUE else False if low in _FALSE else _BAD
    if isinstance(value, bool):
        return _BAD  # True is an int to Python, never a number to a user
    if kind is str:
        return text if text else _BAD
    try:
        number = float(text if text is not None else value)
    except (TypeError, ValueError):
        return _BAD
    if not math.isfinite(number):
        return _BAD
    if kind is int:
        return int(number) if number.is_integer() else _BAD  # fold=2.0 is fold 2
    return number


def _shown(value: Any) -> str:
    return value.strip() if isinstance(value, str) else repr(value)


def value_text(value: Any) -> str:
    """An option value written one way: `true`, `2`, `0.5`, `aligned` (2.0 -> `2`, 0.10 -> `0.1`)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def parse_option_value(text: str) -> Any:
    """`1` -> 1, `0.5` -> 0.5, `true` -> True, anything else stays a string (options without a type)."""
    low = text.strip().lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip()


def split_named(text: str, positional: str | None = None) -> tuple[str, dict[str, str]]:
    """`"disfa:fold=2,threshold=1"` -> ("disfa", {"fold": "2", "threshold": "1"}): the values as written.

    A bare value after the colon (`timm:resnet18`) goes to the `positional` option, when there is one.
    """
    name, _, rest = text.strip().partition(":")
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if eq:
            if key.strip() in options:
                raise FbnError(f"option {key.strip()!r} is given twice in {text!r}; give it once")
            options[key.strip()] = value.strip()
        elif positional and positional not in options:
            options[positional] = part
        else:
            raise FbnError(f"option {part!r} in {text!r} has no value; write {name}:key=value,key=value")
    return name.strip(), options


def parse_named(text: str, positional: str | None = None) -> tuple[str, dict[str, Any]]:
    """`split_named` with each value read as a number or flag where it looks like one (no schema at hand)."""
    name, options = split_named(text, positional)
    return name, {k: parse_option_value(v) for k, v in options.items()}


# -- declaring -------------------------------------------------------------------------------------------------


def keyword_defaults(fn: Callable[..., Any] | None) -> dict[str, Any]:
    """Keyword defaults of `fn` (a function or a functools.partial), core arguments left out."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin or a callable object without a signature
        return {}
    return {
        p.name: p.default
        for p in parameters
        if p.default is not inspect.Parameter.empty
        and p.name not in CORE_ARGUMENTS
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def takes_any_keyword(fn: Callable[..., Any] | None) -> bool:
    """Whether `fn` takes **kwargs (timm forwards undeclared options such as drop_rate to the model)."""
    try:
        return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False


def schema(owner: str, declared: Any, fn: Callable[..., Any] | None) -> tuple[Option, ...]:
    """A spec's `options` as a tuple of Option. A plugin written before the schema declared a help dict
    {name: help} and its defaults as keyword defaults of `fn`: each becomes an Option whose type is that of
    its default (any value when it has none)."""
    if isinstance(declared, Mapping):
        defaults = keyword_defaults(fn)
        declared = tuple(
            Option(
                name,
                type(defaults[name]) if type(defaults.get(name)) in _TYPES else None,
                defaults.get(name),  # an odd default (a tuple, say) is kept as it is, untyped
                help=str(help_text),
            )
            for name, help_text in declared.items()
        )
    found = tuple(declared or ())
    names = [o.name for o in found if isinstance(o, Option)]
    if len(names) != len(found):
        raise FbnError(f"{owner}: options must be Option(...) entries (fbn_bench.Option)")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise FbnError(f"{owner}: option {twice[0]!r} is declared twice; declare each option once")
    core = sorted(set(names) & CORE_ARGUMENTS)
    if core:
        raise FbnError(f"{owner}: {core[0]!r} is set by the core, not an option; remove it from options")
    return found


# -- resolving -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedPlugin:
    """A plugin as a run uses it: the spec, every option checked and typed with its defaults filled, and the
    canonical text (`name`). `root` (datasets only) says where the data lives: never in the name or hash."""

    kind: str  # the registry's kind: datasets, backbones or couplings
    spec: Any
    options: dict[str, Any]
    name: str
    root: str | None = None

    def with_root(self) -> dict[str, Any]:
        """The options plus `root=` when given: what `data.roots.load_split` takes."""
        return {**self.options, "root": self.root} if self.root else dict(self.options)

    def recorded_options(self) -> dict[str, Any]:
        """The options as JSON-safe values (odd ones become their repr), for records and the hash."""
        return json.loads(json.dumps(self.options, sort_keys=True, default=repr))


def noun_of(kind: str) -> str:
    return {
        "datasets": "dataset",
        "backbones": "backbone",
        "couplings": "coupling",
        "detectors": "face detector",
        "zero_shot": "zero-shot scorer",
    }.get(kind, kind)


def resolve_plugin(
    kind: str, spec: Any, given: Mapping[str, Any] | None = None, context: Mapping[str, Any] | None = None
) -> ResolvedPlugin:
    """Check `given` against the spec's schema, fill defaults, and name the result canonically.

    `context` holds what options may follow (`{"image_size": 96}`); an option that follows it and is not
    given takes that value, and is not shown in the name while it equals it."""
    owner = f"{noun_of(kind)} {spec.name!r}"
    given = dict(given or {})
    root = given.pop("root", None) if kind == "datasets" else None
    declared = {o.name: o for o in spec.options}
    fn = getattr(spec, "load", None) or getattr(spec, "build", None)
    unknown = sorted(set(given) - set(declared))
    if unknown and not takes_any_keyword(fn):
        known = ", ".join(sorted(declared)) or "none"
        also = " (and root)" if kind == "datasets" else ""
        raise FbnError(f"{owner} has no option {unknown[0]!r}; its options: {known}{also}")
    options: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    for name, option in declared.items():
        default = option.default
        if option.follows and context and context.get(option.follows) is not None:
            default = option.check(context[option.follows], f"{owner} ({option.follows})")
        value = option.check(given[name], owner) if name in given else default
        options[name] = value
        if value != default:
            shown[name] = value
    for name in unknown:  # forwarded by a build(**kwargs): no schema, so read as written
        value = given[name]
        options[name] = shown[name] = parse_option_value(value) if isinstance(value, str) else value
    text = ",".join(f"{k}={value_text(v)}" for k, v in sorted(shown.items()))
    name = f"{spec.name}:{text}" if text else spec.name
    return ResolvedPlugin(kind, spec, options, name, None if root is None else str(root))


def option_with_role(spec: Any, role: str) -> Option | None:
    return next((o for o in spec.options if o.role == role), None)


def describe_options(spec: Any) -> dict[str, dict[str, Any]]:
    """Each option -> {"type", "default", "allowed", "help"}, JSON-safe: `fbn-bench plugins --json`."""
    return {
        o.name: {
            "type": o.type.__name__ if o.type else None,
            "default": o.default,
            "follows": o.follows,
            "allowed": o.allowed(),
            "help": o.help,
        }
        for o in spec.options
    }
