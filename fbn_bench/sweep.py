"""Sweep grids: named configurations (RunConfig overrides) x seeds, from the ablation preset or a TOML file.

Running a grid (planning, resuming, the summary table) lives in `fbn_bench.sweep_run`; the file format
is documented in docs/sweeps.md.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .config import PRESETS, RunConfig, resolve_config
from .errors import FbnError
from .tomlfile import read_toml

DEFAULT_SEEDS = 3
DEFAULT_PRESET = "quick"  # the RunConfig preset a grid builds on unless it sets `preset`

# Settings a grid may not set per run: the sweep owns seeds (`seeds`) and run folders (`--out`).
_SWEEP_OWNED = {"seed", "out"}
SETTINGS = {f.name: f.type for f in fields(RunConfig)}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=,-]*")


@dataclass(frozen=True)
class GridEntry:
    """One configuration of a sweep: a folder name and the RunConfig settings it overrides."""

    name: str
    overrides: dict[str, Any]


@dataclass
class Grid:
    name: str  # the preset or the grid file's stem; names the default output folder
    entries: list[GridEntry]
    seeds: tuple[int, ...] = tuple(range(DEFAULT_SEEDS))
    base: dict[str, Any] = field(default_factory=dict)  # settings shared by all entries (already merged in)
    executor: str | None = None  # a grid file's `executor` (inline, local, slurm); --executor wins
    resources: Any = None  # a grid file's [resources] (sweep_jobs.Resources); the command line's options win

    def with_overrides(self, **overrides: Any) -> Grid:
        """Settings that win over every entry (the command line's --steps, --datasets, --data-root)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        entries = [GridEntry(e.name, {**e.overrides, **given}) for e in self.entries]
        return replace(self, entries=entries, base={**self.base, **given})

    def with_seeds(self, seeds: int | None) -> Grid:
        return self if seeds is None else replace(self, seeds=seeds_from(seeds, "--seeds"))

    def only(self, patterns: tuple[str, ...]) -> Grid:
        """The configurations named by one of `patterns` (names or shell globs such as `all-*`), in the grid's
        order: a long sweep can take its primary rows to every seed before the rest (docs/sweeps.md)."""
        if not patterns:
            return self
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(e.name, pattern) for e in self.entries):
                names = ", ".join(e.name for e in self.entries)
                raise FbnError(f"--only {pattern!r}: no configuration of {self.name} has that name; it has {names}")
        entries = [e for e in self.entries if any(fnmatch.fnmatchcase(e.name, p) for p in patterns)]
        return replace(self, entries=entries)


def seeds_from(value: Any, where: str) -> tuple[int, ...]:
    """`3` -> (0, 1, 2); `[0, 5]` -> (0, 5)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise FbnError(f"{where}: seeds = {value}; give a positive count or a list such as [0, 1, 2]")
        return tuple(range(value))
    if isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) for s in value):
        if len(set(value)) != len(value):
            raise FbnError(f"{where}: seeds {value} repeat a seed; list each seed once")
        return tuple(value)
    raise FbnError(f"{where}: seeds = {value!r}; give a count (seeds = 3) or a list of integers (seeds = [0, 1, 2])")


def resolve_entry(overrides: dict[str, Any], registry=None, **extra: Any) -> RunConfig:
    """The RunConfig of an entry: its `preset` (default quick) < its overrides < `extra` (`registry`: see
    config.resolve_config)."""
    settings = {**overrides, **extra}
    return resolve_config(settings.pop("preset", DEFAULT_PRESET), registry=registry, **settings)


def check_plugins(config: RunConfig, registry) -> None:
    """What a run of `config` resolves when it starts, resolved now, so that a typo in the grid's last
    configuration fails `--dry-run` rather than hours into the sweep: its databases and their options, its
    backbone and its options, its coupling(s) with their options and heads, and its relatedness source.
    Reads no images and generates nothing (an `empirical:` source is checked by name; it is estimated at
    the start of the run)."""
    from .coupling.compose import build_coupling
    from .coupling.relatedness import EMPIRICAL_PREFIX, du2014, relatedness, relatedness_tensor
    from .run_datasets import check_tasks_served, resolve_datasets

    check_tasks_served(config, resolve_datasets(config, registry))  # options checked; every task has data
    registry.resolve("backbones", config.backbone)
    source = str(config.relatedness).strip()
    if source.startswith(EMPIRICAL_PREFIX):
        registry.resolve("datasets", source[len(EMPIRICAL_PREFIX) :].strip() or " ")
        table = du2014()  # the same shape as the estimate; only the couplings' construction is checked
    else:
        table = relatedness(source)
    build_coupling(config.coupling, registry, relatedness_tensor(table), config.tasks)


def preset_grid(name: str, configurations, seeds, datasets: tuple[str, ...], registry, **base: Any) -> Grid:
    """A built-in grid: `configurations` [(name, settings)] on one fixed budget of steps, shared by all."""
    unknown = sorted(set(base) - set(SETTINGS) | set(base) & _SWEEP_OWNED)
    if unknown:
        raise FbnError(f"the {name} grid cannot take the setting {unknown[0]!r}")
    base = {k: v for k, v in base.items() if v is not None}
    if datasets:
        base["datasets"] = tuple(datasets)
    config = resolve_entry(base, registry)
    if config.steps is None:
        # Epochs count passes over the largest stream, which differs between single- and multi-task runs.
        raise FbnError(
            f"the {name} grid needs a fixed budget, but preset {config.preset!r} counts epochs; "
            "pass --steps N (or set steps in a grid file)"
        )
    base["steps"] = config.steps
    entries = [GridEntry(entry, {**base, **settings}) for entry, settings in configurations]
    return Grid(name, entries, seeds_from(seeds, name), base)


def load_grid(path: str | Path, registry=None) -> Grid:
    """A grid file: `seeds`, a `[base]` table, `[[run]]` entries (each with a `name`) and/or a `[grid]`
    table of lists expanded as a Cartesian product (crossed with every `[[run]]` when both are given)."""
    path = Path(path)
    data = read_toml(path, "grid file")
    extra = sorted(set(data) - {"seeds", "base", "run", "grid", "executor", "resources"})
    if extra:
        raise FbnError(
            f"{path}: unknown key {extra[0]!r}; a grid file has seeds, [base], [[run]], [grid], executor "
            "and [resources]"
        )

    base = _settings(data.get("base", {}), f"{path} [base]")
    runs = data.get("run", [])
    if not isinstance(runs, list):
        raise FbnError(f"{path}: 'run' must be an array of tables: write [[run]] above each run")
    named = [_run_entry(run, f"{path} [[run]] #{i}") for i, run in enumerate(runs, start=1)] or [("", {})]
    products = _grid_product(data.get("grid", {}), path)
    if not runs and not data.get("grid"):
        raise FbnError(f"{path}: no runs; add [[run]] entries (name = ..., settings) or a [grid] table of lists")

    entries = []
    for (run_name, run_settings), (grid_name, grid_settings) in itertools.product(named, products):
        name = "_".join(p for p in (run_name, grid_name) if p) or "default"
        entries.append(GridEntry(name, {**base, **run_settings, **grid_settings}))
    names = [e.name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise FbnError(f"{path}: two runs are named {twice[0]!r}; give each [[run]] its own name")
    seeds = seeds_from(data["seeds"], f"{path}") if "seeds" in data else tuple(range(DEFAULT_SEEDS))
    grid = Grid(path.stem, entries, seeds, base, *_executor(data, path))
    for entry in grid.entries:  # a setting RunConfig rejects is the file's error, found before any run
        try:
            resolve_entry(entry.overrides, registry)
        except FbnError as exc:
            raise FbnError(f"{path}: run {entry.name!r}: {exc}") from None
    return grid


def _executor(data: dict[str, Any], path: Path) -> tuple[str | None, Any]:
    """The grid file's `executor` and [resources] (how its runs are run, not what they are: not in any hash)."""
    from .sweep_jobs import EXECUTORS, resources_from

    executor = data.get("executor")
    if executor is not None and executor not in EXECUTORS:
        raise FbnError(f"{path}: executor = {executor!r}; choose one of {', '.join(EXECUTORS)}")
    resources = resources_from(data["resources"], f"{path} [resources]") if "resources" in data else None
    return executor, resources


def _run_entry(run: Any, where: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(run, dict):
        raise FbnError(f"{where}: expected a table of settings")
    name = run.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise FbnError(
            f'{where}: needs name = "..." made of letters, digits and . _ + = , - (it names the run\'s folder)'
        )
    return name, _settings({k: v for k, v in run.items() if k != "name"}, f"{where} ({name})")


def _grid_product(table: Any, path: Path) -> list[tuple[str, dict[str, Any]]]:
    """[(name, settings)] for every combination; the name lists only the keys that vary."""
    if not isinstance(table, dict):
        raise FbnError(f"{path}: 'grid' must be a table: write [grid] and then key = [values]")
    for key, values in table.items():
        if not isinstance(values, list) or not values:
            raise FbnError(f"{path} [grid]: {key} must be a non-empty list of values, e.g. {key} = [...]")
        for value in values:
            _settings({key: value}, f"{path} [grid]")
    keys = list(table)
    combos = []
    for values in itertools.product(*(table[k] for k in keys)):
        name = "_".join(f"{k}-{_slug(v)}" for k, v in zip(keys, values) if len(table[k]) > 1)
        combos.append((name, dict(zip(keys, values))))
    return combos or [("", {})]


def _slug(value: Any) -> str:
    if isinstance(value, list):
        text = ",".join(map(str, value))
    else:
        text = str(value).lower() if isinstance(value, bool) else str(value)
    return re.sub(r"[^A-Za-z0-9.,+=-]", "_", text)


def _settings(table: Any, where: str) -> dict[str, Any]:
    """Check keys against RunConfig's fields and values against their types; one-line errors."""
    if not isinstance(table, dict):
        raise FbnError(f"{where}: expected a table of settings")
    for key, value in table.items():
        if key in _SWEEP_OWNED:
            hint = "use seeds = [...] at the top of the file" if key == "seed" else "use --out"
            raise FbnError(f"{where}: {key!r} cannot be set per run; {hint}")
        if key not in SETTINGS:
            raise FbnError(
                f"{where}: unknown setting {key!r}; known: {', '.join(sorted(set(SETTINGS) - _SWEEP_OWNED))}"
            )
        expected = _type_problem(SETTINGS[key], value)
        if expected:
            raise FbnError(f"{where}: {key} = {value!r} should be {expected}")
        if key == "preset" and value not in PRESETS:
            raise FbnError(f"{where}: unknown preset {value!r}; available: {', '.join(PRESETS)}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}


def _type_problem(annotation: str, value: Any) -> str | None:
    """What `value` should be for a field annotated `annotation` (a string), or None when it fits."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if annotation.startswith("tuple"):
        ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        return None if ok else "a string or a list of strings"
    if annotation.startswith("dict"):
        ok = isinstance(value, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()
        )
        return None if ok else "a table of numbers, e.g. {va = 1.0, expr = 1.0}"
    if annotation.startswith("bool"):
        return None if isinstance(value, bool) else "true or false"
    if annotation.startswith("int"):
        return None if is_int else "an integer"
    if annotation.startswith("float"):
        return None if is_int or isinstance(value, float) else "a number"
    return None if isinstance(value, str) else "a string"
