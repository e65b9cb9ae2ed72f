"""Which databases a run uses, under which names, and their splits ready to train on."""

from __future__ import annotations

from typing import Any

from .config import RunConfig
from .data.cache import PreparedSplit, prepare_split
from .data.roots import load_split
from .errors import FbnError
from .plugin_options import display_name
from .registry import Registry


def default_datasets(registry: Registry, tasks: tuple[str, ...]) -> tuple[str, ...]:
    """Every synthetic database that labels at least one of the tasks."""
    return tuple(s.name for s in registry.specs("datasets") if s.synthetic and s.tasks & set(tasks))


def resolve_datasets(config: RunConfig, registry: Registry) -> list[tuple[str, Any, dict]]:
    """[(display name, spec, options)] for the run; each must label at least one chosen task. The display
    name (plugin_options.display_name) shows only the options that differ from their defaults, so one
    database never gets two names; naming the same data twice is an error."""
    texts = config.datasets or default_datasets(registry, config.tasks)
    if not texts:
        raise FbnError(f"no dataset labels the tasks {', '.join(config.tasks)}; name some with --datasets")
    chosen: list[tuple[str, Any, dict]] = []
    for text in texts:
        spec, options = registry.resolve("datasets", text)
        name = display_name(spec, options)
        if name in [c[0] for c in chosen]:
            raise FbnError(f"--datasets names {name!r} twice ({text!r} is the same data); give each database once")
        if not spec.tasks:
            raise FbnError(
                f"dataset {spec.name!r} labels no basic task (its labels are in extra columns, e.g. "
                f"'compound'), so no model can be trained or scored on it; drop it from --datasets"
            )
        if not spec.tasks & set(config.tasks):
            raise FbnError(
                f"dataset {spec.name!r} labels {', '.join(sorted(spec.tasks)) or 'no basic task'}, "
                f"none of the run's tasks ({', '.join(config.tasks)}); drop it from --datasets "
                f"(a model is scored only on the tasks it was trained for)"
            )
        if spec.synthetic and "size" in spec.options and "size" not in options:
            options["size"] = config.image_size  # render at the size the network sees, not upsampled from 64
        chosen.append((name, spec, options))
    return chosen


def read_annotations(chosen, splits: tuple[str, ...], config: RunConfig, accelerator) -> dict[tuple[str, str], tuple]:
    """(display name, split) -> (table, root) for every database, before any image is decoded: a wrong
    path or a malformed file in the last database fails the run in seconds, not after the others decode.
    The main process goes first, so that it alone generates synthetic data the others then read."""
    with accelerator.main_process_first():
        return {
            (text, split): load_split(spec, split, options, config.data_root)
            for text, spec, options in chosen
            for split in splits
        }


def prepare_all(
    chosen,
    split: str,
    config: RunConfig,
    accelerator,
    progress: bool,
    annotations: dict[tuple[str, str], tuple] | None = None,
) -> list[PreparedSplit]:
    """Decode (or reuse) every database's split; the main process first, so others reuse its cache."""
    prepared = []
    with accelerator.main_process_first():
        for text, spec, options in chosen:
            p = prepare_split(
                spec,
                split,
                options,
                image_size=config.image_size,
                data_root=config.data_root,
                progress=progress and accelerator.is_main_process,
                report=accelerator.is_main_process,
                loaded=(annotations or {}).get((text, split)),
            )
            p.name = text
            prepared.append(p)
    return prepared
