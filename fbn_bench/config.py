"""Run configuration: defaults < preset < config file (TOML) < command-line options."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import FbnError
from .tasks import TASKS, parse_tasks
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
    mixed_precision: str = "no"
    preset: str = "quick"
    data_root: str | None = None
    out: str | None = None

    def __post_init__(self) -> None:
        self.tasks = parse_tasks(self.tasks)
        self.datasets = tuple(self.datasets)
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise FbnError(f"mixed precision {self.mixed_precision!r} is not one of no, bf16, fp16")
        for name, low in (("batch_size", 1), ("image_size", 16), ("hidden", 1), ("eval_batch_size", 1), ("seed", 0)):
            _check_number(name, getattr(self, name), integer=True, low=low)
        _check_number("lr", self.lr, above=0)
        _check_number("weight_decay", self.weight_decay, low=0)
        _check_number("dropout", self.dropout, low=0, below=1)
        if self.steps is not None:
            _check_number("steps", self.steps, integer=True, low=1)
        _check_choice("lr_schedule", self.lr_schedule, ("cosine", "constant"))
        _check_choice("budget", self.budget, ("samples", "steps"))
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
                if task not in TASKS:
                    raise FbnError(f"{field_name} names {task!r}, not a task; use va, expr or au")
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
    path = Path(path)
    data = read_toml(path, "config file")
    data = data.get("run", data)  # either top-level keys or a [run] table
    unknown = sorted(set(data) - FIELD_NAMES)
    if unknown:
        raise FbnError(f"{path}: unknown setting {unknown[0]!r}; known: {', '.join(sorted(FIELD_NAMES))}")
    return data


def resolve_config(preset: str = "quick", file: str | Path | None = None, **overrides: Any) -> RunConfig:
    """Merge the layers; `overrides` holds only the options the user actually gave."""
    if preset not in PRESETS:
        raise FbnError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
    merged: dict[str, Any] = {"preset": preset, **PRESETS[preset]}
    explicit: set[str] = set()
    for layer in (load_config_file(file) if file is not None else {}, overrides):
        given = {k: v for k, v in layer.items() if v is not None}
        _merge_layer(merged, given)
        explicit |= set(given)
    if "backbone" in explicit and "image_size" not in explicit:
        # `--backbone vggface` alone: the input size that backbone was built for, not the preset's.
        merged["image_size"] = _default_image_size(merged["backbone"], merged.get("image_size", 64))
    return RunConfig(**merged)


def _default_image_size(backbone: str, fallback: int) -> int:
    from .registry import get_registry

    try:
        spec, _ = get_registry().resolve("backbones", backbone)
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
