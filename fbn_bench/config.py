"""Run configuration: defaults < preset < config file (TOML) < command-line options."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import FbnError
from .tasks import ALL_TASKS, parse_tasks
from .tomlfile import read_toml


@dataclass
class RunConfig:
    tasks: tuple[str, ...] = ("va", "expr", "au")
    coupling: str = "none"
    relatedness: str = "du2014"
    # Dataset texts (`name` or `name:key=value`); empty: every synthetic database serving the tasks.
    datasets: tuple[str, ...] = ()
    backbone: str = "small"
    weights: str | None = None
    image_size: int = 64
    hidden: int = 256
    dropout: float = 0.2
    batch_size: int = 96
    # Share of each batch per task stream (normalised); empty: equal shares.
    shares: dict[str, float] = field(default_factory=dict)
    task_weights: dict[str, float] = field(default_factory=dict)
    lr: float = 5e-4
    weight_decay: float = 1e-4
    # Training length: `steps` wins when set; else `epochs` passes over the largest task stream.
    steps: int | None = 800
    epochs: float | None = None
    augment: bool = True
    # Protocol (docs/protocol.md): learning-rate schedule (cosine or constant) after a linear warm-up over the
    # `warmup` fraction of the steps; validation on every database's val split every `val_every` steps and at
    # the last, the best checkpoint scored on test; stop after `patience` validations without a better score
    # (None: never); budget "samples": a run with fewer tasks takes their share of the holistic batch.
    lr_schedule: str = "cosine"
    warmup: float = 0.05
    val_every: int = 100
    patience: int | None = None
    budget: str = "samples"
    eval_batch_size: int = 256
    seed: int = 0
    # auto: bf16 on a GPU that computes it natively, else fp32 (devices.auto_precision); a run records what
    # it resolved to, in its config and its hash.
    mixed_precision: str = "auto"
    # How the network computes (docs/speed.md): channels-last memory layout (NHWC; batch norm, pooling and
    # ReLU run on contiguous channels) and torch.compile of the backbone. Both are hashed: neither changes
    # the maths, but both change floating-point rounding, and a record says exactly what ran.
    channels_last: bool = True
    compile: bool = False
    # The face front end (docs/faces.md) for databases that ship full frames or videos: a detector plugin text
    # (`haar`, `yunet:model=PATH`, or `none`: pictures used whole) and the crop, `box` or `align` (eye centres).
    face_detector: str = "haar"
    face_crop: str = "box"
    preset: str = "quick"
    data_root: str | None = None
    out: str | None = None

    def __post_init__(self) -> None:
        _check_types(self)
        self.tasks = parse_tasks(self.tasks)
        self.datasets = (self.datasets,) if isinstance(self.datasets, str) else tuple(self.datasets)
        if self.mixed_precision not in ("auto", "no", "bf16", "fp16"):
            raise FbnError(f"mixed precision {self.mixed_precision!r} is not one of auto, no, bf16, fp16")
        for name, low in (("batch_size", 1), ("image_size", 16), ("hidden", 1), ("eval_batch_size", 1), ("seed", 0)):
            _check_number(name, getattr(self, name), integer=True, low=low)
        _check_number("lr", self.lr, above=0)
        _check_number("weight_decay", self.weight_decay, low=0)
        _check_number("dropout", self.dropout, low=0, below=1)
        if self.steps is not None:
            _check_number("steps", self.steps, integer=True, low=1)
        _check_choice("lr_schedule", self.lr_schedule, ("cosine", "constant"))
        _check_choice("budget", self.budget, ("samples", "steps"))
        _check_choice("face_crop", self.face_crop, ("box", "align"))
        _check_number("warmup", self.warmup, low=0, below=1)
        _check_number("val_every", self.val_every, integer=True, low=1)
        if self.patience is not None:
            _check_number("patience", self.patience, integer=True, low=1)
        if self.epochs is not None:
            _check_number("epochs", self.epochs, above=0)
        for field_name in ("task_weights", "shares"):
            weights = getattr(self, field_name)
            if not isinstance(weights, dict):
                raise FbnError(f"{field_name} must be a table of task = number, e.g. {{ au = 2.0 }}, got {weights!r}")
            for task, value in weights.items():
                if task not in ALL_TASKS:
                    raise FbnError(f"{field_name} names {task!r}, not a task; use {', '.join(ALL_TASKS)}")
                _check_number(f"{field_name}.{task}", value, low=0)
        if self.batch_size < len(self.tasks):
            raise FbnError(
                f"batch size {self.batch_size} is smaller than the number of task streams ({len(self.tasks)})"
            )
        if self.steps is None and self.epochs is None:
            raise FbnError("set a training length: --steps N or --epochs E")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tasks"], d["datasets"] = list(self.tasks), list(self.datasets)
        return d


_TEXT_SETTINGS = ("coupling", "relatedness", "backbone", "preset", "face_detector", "face_crop")
_OPTIONAL_TEXT_SETTINGS = ("weights", "data_root", "out")


def _check_types(config: RunConfig) -> None:
    """One line for a setting of the wrong kind (a TOML file can hold anything: `tasks = 5`)."""

    def is_texts(value: Any) -> bool:
        return isinstance(value, str) or (isinstance(value, list | tuple) and all(isinstance(v, str) for v in value))

    for name, example in (("tasks", '["va", "au"]'), ("datasets", '["synth-rafdb", "disfa:fold=2"]')):
        if not is_texts(getattr(config, name)):
            raise FbnError(f"{name} must be a name or a list of names, e.g. {example}, got {getattr(config, name)!r}")
    for name in _OPTIONAL_TEXT_SETTINGS:  # paths: a pathlib.Path from Python code is fine
        if isinstance(getattr(config, name), os.PathLike):
            setattr(config, name, os.fspath(getattr(config, name)))
    for name in _TEXT_SETTINGS + _OPTIONAL_TEXT_SETTINGS:
        value = getattr(config, name)
        if not isinstance(value, str) and not (value is None and name in _OPTIONAL_TEXT_SETTINGS):
            raise FbnError(f"{name} must be text, got {value!r}")
    if not isinstance(config.augment, bool):
        raise FbnError(f"augment must be true or false, got {config.augment!r}")


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise FbnError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def _check_number(
    name: str,
    value: Any,
    *,
    integer: bool = False,
    low: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> None:
    """A one-line error for a setting of the wrong type or range (a TOML file can hold anything)."""
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        raise FbnError(f"{name} must be {'a whole number' if integer else 'a finite number'}, got {value!r}")
    if (
        (low is not None and value < low)
        or (above is not None and value <= above)
        or (below is not None and value >= below)
    ):
        bounds = [
            f">= {low}" if low is not None else "",
            f"> {above}" if above is not None else "",
            f"< {below}" if below is not None else "",
        ]
        raise FbnError(f"{name} must be {' and '.join(b for b in bounds if b)}, got {value!r}")


PRESETS: dict[str, dict[str, Any]] = {
    # The CPU default: a compact CNN on 64 x 64 faces, a couple of minutes on a laptop.
    "quick": {},
    # The paper's setting (reconstructed): VGG-16 layout at 96 x 96, Adam 1e-4, batches split equally.
    "paper": {
        "backbone": "vggface",
        "image_size": 96,
        "lr": 1e-4,
        "weight_decay": 0.0,
        "batch_size": 192,
        "hidden": 4096,
        "dropout": 0.5,
        "steps": None,
        "epochs": 10.0,
    },
}

FIELD_NAMES = {f.name for f in fields(RunConfig)}


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML file: top-level keys, or a `[run]` table (then nothing may sit beside it)."""
    path = Path(path)
    data = read_toml(path, "config file")
    if "run" in data:
        beside = sorted(k for k in data if k != "run")
        if beside:
            raise FbnError(
                f"{path}: {beside[0]!r} sits beside the [run] table and would be ignored; move it into [run]"
            )
        data = data["run"]
        if not isinstance(data, dict):
            raise FbnError(f"{path}: `run` must be a table ([run]) of settings, got {data!r}")
    unknown = sorted(set(data) - FIELD_NAMES)
    if unknown:
        raise FbnError(f"{path}: unknown setting {unknown[0]!r}; known: {', '.join(sorted(FIELD_NAMES))}")
    return data


def resolve_config(
    preset: str | None = None, file: str | Path | None = None, registry=None, **overrides: Any
) -> RunConfig:
    """Merge the layers; `overrides` holds only the options the user actually gave. The preset is the one
    given here (the command line's --preset), else the file's `preset`, else quick."""
    from_file = load_config_file(file) if file is not None else {}
    preset = preset or overrides.pop("preset", None) or from_file.get("preset") or "quick"
    if preset not in PRESETS:
        where = f" ({file})" if file is not None and from_file.get("preset") == preset else ""
        raise FbnError(f"unknown preset {preset!r}{where}; available: {', '.join(PRESETS)}")
    merged: dict[str, Any] = {**PRESETS[preset]}
    explicit: set[str] = set()
    for layer in (from_file, overrides):
        given = {k: v for k, v in layer.items() if v is not None and k != "preset"}
        _merge_layer(merged, given)
        explicit |= set(given)
    merged["preset"] = preset
    if "datasets" in explicit and "tasks" not in explicit and "tasks" not in PRESETS[preset]:
        # `--datasets disfa` alone: train what the named databases label, not every task.
        merged["tasks"] = _served_tasks(registry, merged["datasets"], merged.get("tasks", RunConfig.tasks))
    if "backbone" in explicit and "image_size" not in explicit:
        # `--backbone vggface` alone: the input size that backbone was built for, not the preset's.
        merged["image_size"] = _default_image_size(registry, merged["backbone"], merged.get("image_size", 64))
    return RunConfig(**merged)


def _served_tasks(registry, datasets, tasks) -> tuple[str, ...]:
    """The tasks among `tasks` that at least one of `datasets` labels; all of `tasks` when that cannot be told
    (no registry, an unknown name: the run then says what is wrong)."""
    if registry is None:
        return tuple(tasks)
    texts = (datasets,) if isinstance(datasets, str) else tuple(datasets)
    try:
        labelled = set().union(*(registry.resolve("datasets", text).spec.tasks for text in texts))
    except FbnError:
        return tuple(tasks)
    return tuple(t for t in parse_tasks(tasks) if t in labelled) or tuple(tasks)


def _default_image_size(registry, backbone: str, fallback: int) -> int:
    """The input size `backbone` was built for; `registry` (which the CLI entry points build and pass
    down) is where its spec is found."""
    if registry is None:  # a caller's bug, not the user's
        raise ValueError("resolve_config(backbone=...) without image_size needs the registry that knows the backbone")
    try:
        spec = registry.resolve("backbones", backbone).spec
    except FbnError:
        return fallback  # an unknown backbone: building the model says so, with the names available
    return int(spec.default_image_size)


def _merge_layer(merged: dict[str, Any], given: dict[str, Any]) -> None:
    """A layer that sets only one of the training lengths replaces the other from the layers below:
    `--epochs 3` over a preset's 800 steps means three epochs. Given both, steps win (RunConfig)."""
    if "epochs" in given and "steps" not in given:
        merged["steps"] = None
    if "steps" in given and "epochs" not in given:
        merged["epochs"] = None
    merged.update(given)
