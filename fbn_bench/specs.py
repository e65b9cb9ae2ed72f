"""What a plugin registers. Plain frozen dataclasses: the registry checks them, the rest reads them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FbnError
from .options import CLASSES, Option, parse_named, schema  # noqa: F401  (parse_named: importable here as before)
from .tasks import ALL_TASKS, AUS, EXPRESSIONS, EXTRA_CLASSES

# The metric each task of a database is ranked by (in leaderboards, summaries and checkpoint selection)
# unless its DatasetSpec says otherwise.
DEFAULT_HEADLINE: Mapping[str, str] = {"va": "ccc_mean", "expr": "macro_f1", "au": "f1_mean", "au_int": "icc_mean"}


def _check_name(kind: str, name: str) -> None:
    if not name or any(c in name for c in ":,= \t"):
        raise FbnError(f"{kind} name {name!r} is invalid: use letters, digits, '-', '_' or '.'")


@dataclass(frozen=True)
class CompoundClass:
    """A compound expression: its name as the database labels it, its two component basic expressions
    (canonical names, e.g. ("happiness", "surprise")) and its prototypical AUs (Du, Tao and Martinez 2014,
    Table 1). A database that labels compound classes lists them in its DatasetSpec (`compound_classes`), so a
    plugin adding another compound vocabulary declares it beside its reader."""

    name: str
    components: tuple[str, str]
    aus: tuple[int, ...]

    def __post_init__(self) -> None:
        from .tasks import EXPRESSIONS

        bad = [c for c in self.components if c not in EXPRESSIONS[1:]]
        if len(self.components) != 2 or bad:
            raise FbnError(
                f"compound class {self.name!r}: components must be two of {', '.join(EXPRESSIONS[1:])}, got "
                f"{self.components!r}"
            )
        object.__setattr__(self, "components", tuple(self.components))
        object.__setattr__(self, "aus", tuple(int(a) for a in self.aus))


@dataclass(frozen=True)
class DatasetSpec:
    """A database: which tasks and AUs it labels, and how to read its annotations.

    `load(root, split, **options)` returns the annotation table (see docs/writing-plugins.md): one row
    per face image with `image` (path relative to `root`, or absolute), optional `subject`, `video`,
    `frame`, `bbox_x/y/w/h`, then `valence`, `arousal`, `expression` (canonical name) and `AU1`..`AU26`,
    missing labels as NaN. Loaders parse annotations only; the core decodes images.
    """

    name: str
    tasks: frozenset[str]
    load: Callable[..., Any]
    aus: tuple[int, ...] = ()
    splits: tuple[str, ...] = ("train", "test")
    description: str = ""
    citation: str = ""
    homepage: str = ""
    license: str = ""
    # Bumped by the plugin when its parsing changes; part of the image-cache key.
    loader_version: str = "1"
    # Synthetic databases are generated on first use and are the default data of `fbn-bench run`.
    synthetic: bool = False
    # prepare(root, **options): generate (synthetic) or index (real) ahead of a run. Optional.
    prepare: Callable[..., Any] | None = None
    # Its options, `NAME:key=value` on the command line: a tuple of fbn_bench.Option (see options.py).
    # `load` gets every one of them, defaults filled; `root=` is the core's, never an option.
    options: tuple[Option, ...] = ()
    # The unit that bootstrap intervals resample (people or videos, not frames); None: rows.
    group_column: str | None = "subject"
    # {task: metric} this database is ranked by; tasks it leaves out use DEFAULT_HEADLINE's.
    headline: Mapping[str, str] = field(default_factory=dict)
    # The compound classes of its `compound` column, in its own order (fbn-bench compound; docs/compound.md).
    compound_classes: tuple[CompoundClass, ...] = ()
    # Its pictures are whole scenes or video frames, not face crops: a row without a shipped box (bbox_*) is
    # cropped around the face the run's detector finds (docs/faces.md).
    full_frames: bool = False
    # The expression class sets its own protocols label, {value of its `classes` option: classes}, e.g.
    # {"7": EXPRESSIONS, "8": (*EXPRESSIONS, "contempt")}: each the 7 basic expressions, then some of
    # tasks.EXTRA_CLASSES. The first is the default; the spec adds the `classes` option itself, so `load`
    # takes `classes`. Empty: the 7 only. Results of each set are kept apart by the display name (docs/metrics.md).
    expression_protocols: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_name("dataset", self.name)
        protocols = {str(k): tuple(v) for k, v in dict(self.expression_protocols).items()}
        object.__setattr__(self, "expression_protocols", protocols)
        declared = schema(f"dataset {self.name!r}", self.options, self.load)
        if protocols:
            self._check_protocols()
            declared = (*declared, _classes_option(protocols))
        object.__setattr__(self, "options", schema(f"dataset {self.name!r}", declared, self.load))
        object.__setattr__(self, "headline", {**{t: DEFAULT_HEADLINE[t] for t in self.tasks}, **self.headline})
        object.__setattr__(self, "tasks", frozenset(self.tasks))
        object.__setattr__(self, "aus", tuple(int(a) for a in self.aus))
        object.__setattr__(self, "splits", tuple(self.splits))
        bad = sorted(set(self.tasks) - set(ALL_TASKS))
        if bad:  # empty is allowed: e.g. a compound-expression set used only for zero-shot evaluation
            raise FbnError(f"dataset {self.name!r}: tasks must be a subset of {ALL_TASKS}, got {sorted(self.tasks)}")
        outside = [a for a in self.aus if a not in AUS]
        if outside:
            raise FbnError(f"dataset {self.name!r}: AUs {outside} are outside the 17 fbn-bench models ({AUS})")
        if "au_int" in self.tasks and "au" not in self.tasks:  # intensities are coded for spec.aus
            raise FbnError(f"dataset {self.name!r}: 'au_int' needs 'au' among its tasks (intensities are of spec.aus)")
        if ("au" in self.tasks) != bool(self.aus):
            raise FbnError(f"dataset {self.name!r}: list the annotated AUs exactly when 'au' is among its tasks")

    def _check_protocols(self) -> None:
        where = f"dataset {self.name!r}: expression_protocols"
        if "expr" not in self.tasks:
            raise FbnError(f"{where} needs 'expr' among its tasks")
        for key, classes in self.expression_protocols.items():
            extras = classes[len(EXPRESSIONS) :]
            if classes[: len(EXPRESSIONS)] != EXPRESSIONS or list(extras) != [c for c in EXTRA_CLASSES if c in extras]:
                raise FbnError(
                    f"{where}[{key!r}] = {classes!r}: a protocol is the 7 basic expressions in tasks.EXPRESSIONS "
                    f"order, then some of {', '.join(EXTRA_CLASSES)} in that order"
                )

    def expression_classes(self, options: Mapping[str, Any] | None = None) -> tuple[str, ...]:
        """The expression classes this database labels under `options` (its `classes` option; the 7 when it
        declares no protocols)."""
        if not self.expression_protocols:
            return EXPRESSIONS
        chosen = (options or {}).get(CLASSES)
        return self.expression_protocols[str(chosen) if chosen is not None else next(iter(self.expression_protocols))]


def _classes_option(protocols: Mapping[str, tuple[str, ...]]) -> Option:
    sets = "; ".join(
        f"{key}: "
        + ("the 7 basic expressions" if len(c) == len(EXPRESSIONS) else "+ " + ", ".join(c[len(EXPRESSIONS) :]))
        for key, c in protocols.items()
    )
    return Option(CLASSES, str, next(iter(protocols)), choices=tuple(protocols), help=f"expression classes ({sets})")


@dataclass(frozen=True)
class BackboneSpec:
    """A feature extractor. `build(image_size=..., **options)` returns an `nn.Module` that maps a float
    batch (B, 3, H, W) in [-1, 1] to features (B, F) and has an integer attribute `out_features` = F.

    `build_model` checks this with one forward pass of two blank images. Options not declared in `options`
    are an error unless `build` takes `**kwargs` (e.g. timm, which forwards them to the model)."""

    name: str
    build: Callable[..., Any]
    description: str = ""
    # The input size it was built for: a run that names this backbone but no --image-size uses it.
    default_image_size: int = 64
    options: tuple[Option, ...] = ()
    # `timm:resnet18` passes "resnet18" as this option.
    positional_option: str | None = None

    def __post_init__(self) -> None:
        _check_name("backbone", self.name)
        object.__setattr__(self, "options", schema(f"backbone {self.name!r}", self.options, self.build))


@dataclass(frozen=True)
class CouplingSpec:
    """A loss that ties the expression and AU heads together through the relatedness table.

    `build(relatedness, **options)` gets R = P(AU | expression) as a float tensor (7, 17) in the
    canonical order and returns a callable `(outputs, batch) -> {term_name: scalar (0-dim) tensor}`. `outputs`
    holds the heads' raw outputs (`"expr"`: logits (B, 7), `"au"`: logits (B, 17), `"va"`: (B, 2));
    `batch` holds the targets and masks (see `fbn_bench.data.batches`). Terms come back already
    weighted; the trainer adds them to the task losses and logs each under its own name.
    """

    name: str
    build: Callable[..., Any]
    description: str = ""
    options: tuple[Option, ...] = ()
    # Tasks whose heads the coupling needs.
    requires: frozenset[str] = frozenset({"expr", "au"})
    # Bumped by the plugin when its loss changes at the same options; enters the run's configuration hash.
    version: str = "1"

    def __post_init__(self) -> None:
        _check_name("coupling", self.name)
        object.__setattr__(self, "options", schema(f"coupling {self.name!r}", self.options, self.build))


@dataclass(frozen=True)
class MetricSpec:
    """A metric: `fn(y_true, y_pred) -> float`, for one task (or None when task-agnostic).

    `statistics`: optionally the same metric in the sufficient-statistics shape (a
    `fbn_bench.metrics.Family`, as the built-ins give), which may score several named metrics and is
    resampled by summing; without it the leaderboards' bootstrap recomputes `fn` on resampled rows."""

    name: str
    fn: Callable[..., float]
    task: str | None = None
    higher_is_better: bool = True
    description: str = ""
    statistics: Any = None

    def __post_init__(self) -> None:
        _check_name("metric", self.name)
        if self.task is not None and self.task not in ALL_TASKS:
            raise FbnError(
                f"metric {self.name!r}: task must be one of {', '.join(ALL_TASKS)} or None, got {self.task!r}"
            )


@dataclass(frozen=True)
class ZeroShotSpec:
    """A zero-shot compound-expression scorer: `score(inputs, **options) -> (N, C) array`, higher = more likely.

    `inputs` is a `fbn_bench.compound.ZeroShotInputs`: the model's expression probabilities (N, 7) and AU
    probabilities (N, 17) on the compound images, the database's classes (CompoundClass) and the relatedness
    table R (7, 17). No compound label ever reaches a scorer: its options are fixed in advance (or chosen on
    basic-expression validation data), never fitted to compound images. `needs`: the heads it reads."""

    name: str
    score: Callable[..., Any]
    description: str = ""
    options: tuple[Option, ...] = ()
    needs: frozenset[str] = frozenset({"expr"})

    def __post_init__(self) -> None:
        _check_name("zero-shot scorer", self.name)
        object.__setattr__(self, "options", schema(f"zero-shot scorer {self.name!r}", self.options, self.score))
        object.__setattr__(self, "needs", frozenset(self.needs))


@dataclass(frozen=True)
class DetectorSpec:
    """A face detector: `build(**options)` returns `detect(image) -> list[fbn_bench.faces.Face]`, where `image`
    is an RGB uint8 array (H, W, 3) and each Face has a box (x, y, w, h) in its pixels, a score and, when the
    detector finds them, five landmarks (fbn_bench.faces.detection.LANDMARK_NAMES). `build` runs once per
    thread that detects, so `detect` need not be thread-safe. docs/faces.md."""

    name: str
    build: Callable[..., Any]
    description: str = ""
    options: tuple[Option, ...] = ()

    def __post_init__(self) -> None:
        _check_name("detector", self.name)
        object.__setattr__(self, "options", schema(f"detector {self.name!r}", self.options, self.build))


@dataclass
class RunInfo:
    """Handed to the observer hooks."""

    run_id: str
    out_dir: Path
    config: dict[str, Any]
