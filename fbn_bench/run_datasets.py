"""Which databases a run uses, under which names, and their splits ready to train on."""

from __future__ import annotations

from .config import RunConfig
from .data.cache import PreparedSplit, prepare_split
from .data.roots import read_split
from .errors import FbnError
from .options import IMAGE_SIZE, ResolvedPlugin
from .registry import Registry


def default_datasets(registry: Registry, tasks: tuple[str, ...]) -> tuple[str, ...]:
    """Every synthetic database that labels at least one of the tasks."""
    return tuple(s.name for s in registry.specs("datasets") if s.synthetic and s.tasks & set(tasks))


def check_tasks_served(config: RunConfig, chosen: list[ResolvedPlugin]) -> None:
    """Every task a run trains needs a database that declares it: said before anything is decoded (and by
    `sweep --dry-run` for every configuration), not when the task's stream turns out empty."""
    from .tasks import TASK_NAMES

    for task in config.tasks:
        if not any(task in plugin.spec.tasks for plugin in chosen):
            names = ", ".join(p.name for p in chosen)
            raise FbnError(
                f"no chosen database labels {TASK_NAMES[task]} ({names}); add one that labels '{task}' to "
                f"--datasets or leave '{task}' out of --tasks"
            )


def run_classes(chosen: list[ResolvedPlugin], tasks: tuple[str, ...]) -> tuple[str, ...]:
    """The expression classes a run's model predicts: the 7, then every extra class a chosen database's
    protocol labels (e.g. `affwild2:classes=8` adds other), in tasks.EXPRESSION_VOCABULARY order."""
    from .tasks import EXPRESSION_VOCABULARY, EXPRESSIONS

    if "expr" not in tasks:
        return EXPRESSIONS
    wanted = {c for p in chosen if "expr" in p.spec.tasks for c in p.spec.expression_classes(p.options)}
    return tuple(c for c in EXPRESSION_VOCABULARY if c in wanted or c in EXPRESSIONS)


def check_classes_served(chosen: list[ResolvedPlugin], classes: tuple[str, ...], tasks: tuple[str, ...]) -> None:
    """A trained model scored on a database whose protocol has a class it never learned: said before decoding."""
    if "expr" not in tasks:
        return
    for plugin in chosen:
        wanted = plugin.spec.expression_classes(plugin.options)
        missing = [c for c in wanted if c not in classes]
        if "expr" in plugin.spec.tasks and missing:
            raise FbnError(
                f"{plugin.name} is scored over {len(wanted)} expression classes, but the model "
                f"predicts only {', '.join(classes)} (no {', '.join(missing)}); score it on its 7-class protocol "
                f"(drop `classes=`) or train on the 8-class one"
            )


def resolve_datasets(config: RunConfig, registry: Registry) -> list[ResolvedPlugin]:
    """The run's databases, each resolved (options checked, defaults filled, canonical name); each must label
    at least one chosen task. The canonical name shows only the options that differ from their defaults, so
    one database never gets two names; naming the same data twice is an error. An option that follows the
    image size (options.IMAGE_SIZE: a synthetic database renders at the size the network sees) takes the
    run's `--image-size` unless given."""
    texts = config.datasets or default_datasets(registry, config.tasks)
    if not texts:
        raise FbnError(f"no dataset labels the tasks {', '.join(config.tasks)}; name some with --datasets")
    chosen: list[ResolvedPlugin] = []
    for text in texts:
        plugin = registry.resolve("datasets", text, {IMAGE_SIZE: config.image_size})
        spec = plugin.spec
        if plugin.name in [c.name for c in chosen]:
            raise FbnError(
                f"--datasets names {plugin.name!r} twice ({text!r} is the same data); give each database once"
            )
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
        chosen.append(plugin)
    return chosen


def read_annotations(chosen, splits: tuple[str, ...], config: RunConfig, accelerator) -> dict[tuple[str, str], tuple]:
    """(display name, split) -> (table, root) for every database, before any image is decoded: a wrong
    path or a malformed file in the last database fails the run in seconds, not after the others decode.
    The main process goes first, so that it alone generates synthetic data the others then read."""
    with accelerator.main_process_first():
        return {
            (plugin.name, split): read_split(plugin.spec, split, plugin.with_root(), config.data_root)
            for plugin in chosen
            for split in splits
        }


def face_front_end(config: RunConfig, registry: Registry):
    """The run's face front end (detector resolved, crop checked): docs/faces.md."""
    from .faces.frontend import FaceFrontEnd

    return FaceFrontEnd.from_settings(registry, config.face_detector, config.face_crop)


def prepare_all(
    chosen,
    split: str,
    config: RunConfig,
    accelerator,
    progress: bool,
    annotations: dict[tuple[str, str], tuple] | None = None,
    front=None,
) -> list[PreparedSplit]:
    """Decode (or reuse) every database's split; the main process first, so others reuse its cache. `front`:
    the face front end (face_front_end) for databases that ship full frames."""
    prepared = []
    with accelerator.main_process_first():
        for plugin in chosen:
            p = prepare_split(
                plugin.spec,
                split,
                plugin.with_root(),
                image_size=config.image_size,
                data_root=config.data_root,
                progress=progress and accelerator.is_main_process,
                report=accelerator.is_main_process,
                loaded=(annotations or {}).get((plugin.name, split)),
                front=front,
            )
            p.name = plugin.name
            prepared.append(p)
    return prepared
