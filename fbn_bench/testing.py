"""Conformance checks for dataset plugins: what `fbn-bench datasets check` runs, reusable in a plugin's tests.

    from fbn_bench.testing import check_dataset_plugin

    def test_mydb_conforms(tmp_path):
        write_tiny_mydb(tmp_path)               # a few rows in the database's real on-disk format
        check_dataset_plugin("mydb", tmp_path)  # AssertionError listing every problem found

Loaders that drop rows on purpose say so by returning a `LoadedTable(frame, skipped={reason: count})`
(fbn_bench.data.table); the report shows those counts per split.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .data.table import as_loaded
from .errors import FbnError
from .options import resolve_plugin
from .specs import DatasetSpec
from .tasks import TASKS

_SHOWN = 3  # examples per problem


@dataclass
class SplitReport:
    """One split: `stats` is fbn_bench.data.stats.table_stats; the rest is what the checker adds."""

    split: str
    stats: dict[str, Any]
    skipped: dict[str, int] = field(default_factory=dict)
    unreadable_images: int | None = None
    bad_bboxes: int | None = None  # None: the table has no bbox columns (or images were not checked)
    extra: dict[str, dict[str, int]] = field(default_factory=dict)  # counts of small categorical extra columns


@dataclass
class CheckReport:
    dataset: str
    root: str
    options: dict[str, Any]
    splits: dict[str, SplitReport]
    problems: list[str]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def to_text(self) -> str:
        options = ", ".join(f"{k}={v}" for k, v in self.options.items()) or "defaults"
        lines = [f"Dataset {self.dataset} at {self.root} (options: {options})"]
        for report in self.splits.values():
            lines += _split_lines(report)
        lines += [f"Note: {n}" for n in self.notes]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            lines += [f"  - {p}" for p in self.problems]
        else:
            lines.append("OK: no problems found.")
        return "\n".join(lines)


def _split_lines(report: SplitReport) -> list[str]:
    s = report.stats
    n = s.get("n_subjects")
    people = "" if n is None else f", {n} subject{'' if n == 1 else 's'}"
    if report.unreadable_images is None:  # check_images=False
        images = "images not checked"
    else:
        boxes = "" if report.bad_bboxes is None else f", {report.bad_bboxes} bad face boxes"
        images = f"{s['missing_images']} missing images, {report.unreadable_images} unreadable{boxes}"
    lines = [f"  {report.split}: {s['n_samples']} rows{people}; {images}"]
    if "va" in s:
        lines.append(f"    valence-arousal: {s['va']['n']} labelled")
    if "expr" in s:
        counts = ", ".join(f"{k} {v}" for k, v in s["expr"]["counts"].items())
        lines.append(f"    expression ({s['expr']['n']} labelled): {counts}")
    if "au" in s:
        counts = ", ".join(f"{k} {v['positive']}/{v['n']}" for k, v in s["au"].items())
        lines.append(f"    AUs (positive/labelled): {counts}")
    for column, counts in report.extra.items():
        lines.append(f"    {column}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for reason, count in report.skipped.items():
        lines.append(f"    skipped {count}: {reason}")
    return lines


def _metadata_problems(spec: DatasetSpec, notes: list[str]) -> list[str]:
    problems = []
    required = ("description",) if spec.synthetic else ("description", "citation", "homepage", "license")
    problems += [
        f"spec.{name} is empty; fill it (shown by `fbn-bench datasets list`)"
        for name in required
        if not str(getattr(spec, name) or "").strip()
    ]
    problems += _option_problems(spec, notes)
    return problems


def _option_problems(spec: DatasetSpec, notes: list[str]) -> list[str]:
    """Each declared option has help and a parameter of load() to go to (the core passes every option)."""
    problems = []
    params = list(inspect.signature(spec.load).parameters.values())
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
    # The core passes root and split positionally, whatever the loader calls them.
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:2]
    keywords = [p.name for p in params if p not in positional and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    declared = {o.name for o in spec.options}
    for option in spec.options:
        if not option.help.strip():
            problems.append(f"option {option.name!r} has no help text in spec.options")
        if option.name not in keywords and not takes_any:
            problems.append(f"option {option.name!r} is declared but load() has no parameter of that name")
    undeclared = [name for name in keywords if name not in declared]
    if undeclared:
        notes.append(
            f"load() has parameter(s) {', '.join(undeclared)} that spec.options does not declare, so "
            "users cannot set them (NAME:key=value); declare each as an Option"
        )
    return problems


def _accepts(fn, name: str) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is p.VAR_KEYWORD or (p.name == name and p.kind is not p.POSITIONAL_ONLY) for p in parameters)


def _raw_label_problems(raw, spec: DatasetSpec, split: str) -> list[str]:
    """Columns that look like labels but that normalize_table ignores: misspelt, or not declared by the spec."""
    from .data.roots import ignored_label_columns

    return [f"{split}: column {column} {why}" for column, why in ignored_label_columns(raw, spec).items()]


def _image_problems(df, root: Path) -> tuple[int, list[str], int | None, list[str], int, dict]:
    """(unreadable rows, examples, bad bboxes or None without bbox columns, examples, rows with no box at all,
    each video's decoded and labelled frame counts) over the rows whose image exists (missing ones are counted by table_stats). Every row is decoded exactly
    as the run decodes it (`decode_rows`, at the default input size): a truncated JPEG that Pillow's
    `verify()` accepts is unreadable here too, so the counts are the rows the run will skip. A row whose four
    bbox values are all missing (no face found in that frame, which real video databases have) is counted
    apart: the run skips it too, but it is not a broken box."""
    from .config import RunConfig
    from .data.decode import decode_rows
    from .data.images import BAD_BBOX, UNREADABLE, BadImageError, decode_face
    from .data.sources import RowSources

    size, chunk = RunConfig.image_size, 2048
    sources = RowSources.from_table(df, root)
    paths, boxes = sources.paths, sources.bboxes
    no_box = np.isnan(boxes).all(axis=1) if boxes is not None else np.zeros(len(paths), bool)
    buffer = np.empty((min(chunk, max(len(paths), 1)), size, size, 3), np.uint8)
    unreadable: list[int] = []
    bad_boxes: list[int] = []
    videos: dict[str, dict] = {}
    for start in range(0, len(paths), chunk):
        part = slice(start, start + chunk)
        decoded = decode_rows(sources.take(part), size, buffer)
        for path, seen in decoded.videos.items():  # a video across chunks: its labels reach the furthest
            labelled = max(seen["labelled"], videos.get(path, seen)["labelled"])
            videos[path] = {**seen, "labelled": labelled}
        for row, reason in decoded.skipped:
            row += start
            if reason == UNREADABLE:
                unreadable.append(row)
            elif reason == BAD_BBOX and not no_box[row]:
                bad_boxes.append(row)

    def detail(row: int) -> str:
        try:
            decode_face(paths[row], size, boxes[row])
        except BadImageError as err:
            return f"{paths[row]} ({err.detail})" if err.detail else paths[row]
        return paths[row]

    shown = [paths[row] for row in unreadable[:_SHOWN]]  # the path a user can open, as for missing images
    if boxes is None:
        return len(unreadable), shown, None, [], 0, videos
    bad = [detail(row) for row in bad_boxes[:_SHOWN]]
    return len(unreadable), shown, len(bad_boxes), bad, int(no_box.sum()), videos


def _extra_counts(df) -> dict[str, dict[str, int]]:
    from .data.table import BBOX_COLUMNS, ID_COLUMNS, LABEL_COLUMNS

    canonical = {*ID_COLUMNS, *BBOX_COLUMNS, *LABEL_COLUMNS}
    out = {}
    for column in df.columns:
        if column in canonical or df[column].dtype.kind in "biufc":
            continue
        counts = df[column].dropna().astype(str).value_counts()
        if 0 < len(counts) <= 30:
            out[str(column)] = {str(k): int(v) for k, v in counts.sort_index().items()}
    return out


def _load_raw(spec: DatasetSpec, root: Path, split: str, options: dict[str, Any], problems: list[str]):
    try:
        return spec.load(root, split, **options)
    except FbnError:
        raise  # a layout error the user can fix: one line, as the CLI prints it
    except Exception as exc:
        if not Path(root).exists():
            raise FbnError(
                f"{spec.name} root {root} does not exist; pass --root DIR or --data-root DIR (then DIR/{spec.name})"
            ) from None
        first = (str(exc).strip().splitlines() or [""])[0]
        problems.append(
            f"{split}: reading the files failed ({type(exc).__name__}: {first}); check that {root} holds "
            f"{spec.name} in the layout its documentation describes; if it does, this is a bug in "
            f"{_plugin_name(spec)}: report it with the output of `fbn-bench --debug datasets check {spec.name}`"
        )
        return None


def _plugin_name(spec: DatasetSpec) -> str:
    """`the plugin fbn_plugins.datasets.rafdb`: where a loader's bug would have to be reported."""
    fn = getattr(spec.load, "func", spec.load)  # functools.partial
    module = getattr(fn, "__module__", None)
    return f"the plugin {module}" if module else "its plugin"


def check_dataset_plugin(
    spec_or_name: DatasetSpec | str,
    root: str | Path,
    *,
    splits=None,
    options=None,
    check_images: bool = True,
    strict: bool = True,
    registry=None,
) -> CheckReport:
    """Load every split of a dataset plugin from `root` and check it against the table contract.

    A name (`"mydb"`, `"disfa:fold=2"`) is looked up in `registry`; without one, in a registry of every
    installed plugin built for this check (this function is an entry point of a plugin's tests).

    Checks: metadata filled; declared options accepted by load() (a note for keyword parameters the spec does
    not declare); the table passes normalize_table, is not empty, spells every label
    column canonically and labels only the spec's tasks and AUs; every task and AU of the spec is labelled
    somewhere; the subject column is filled and no subject is in two splits; with `check_images`, every
    image exists and opens, and every face box (bbox columns) can be cropped from it. A layout error raised
    by the loader (FbnError) propagates unchanged.
    With `strict` (the default), any problem raises AssertionError listing them all.
    """
    from .data.stats import table_stats
    from .data.table import normalize_table

    if isinstance(spec_or_name, str):
        if registry is None:
            from .registry import build_registry

            registry = build_registry()
        named = registry.resolve("datasets", spec_or_name)
        spec, options = named.spec, {**named.with_root(), **(options or {})}
    else:
        spec = spec_or_name
    options = resolve_plugin("datasets", spec, options).options
    # A declared option load() cannot take is reported below (_option_problems); leave it out of the call so
    # that the other checks still run.
    options = {k: v for k, v in options.items() if _accepts(spec.load, k)}
    for split in splits or ():
        if split not in spec.splits:
            raise FbnError(f"dataset {spec.name!r} has no split {split!r}; its splits are {', '.join(spec.splits)}")
    root = Path(root).expanduser()

    notes: list[str] = []
    problems = _metadata_problems(spec, notes)
    reports: dict[str, SplitReport] = {}
    tables = {}
    classes = spec.expression_classes(options)
    for split in splits or spec.splits:
        raw = _load_raw(spec, root, split, options, problems)
        if raw is None:
            continue
        raw = as_loaded(raw)
        try:
            df = normalize_table(raw.frame, spec, split, classes)
        except FbnError as exc:
            problems.append(f"{split}: the table breaks the contract: {exc}")
            continue
        problems += _raw_label_problems(raw.frame, spec, split)
        if df.empty:
            problems.append(
                f"{split}: no rows, so nothing to train on or score; check that {root} holds the {split} "
                f"split's annotation files and that they are not empty"
            )
        group = spec.group_column
        if group and len(df) and (group not in df.columns or df[group].isna().any()):
            problems.append(
                f"{split}: spec.group_column is {group!r} but the table's {group!r} column is missing or "
                "has empty values; fill it (or set group_column=None)"
            )
        if (df["image"].str.strip() == "").any():
            problems.append(f"{split}: some rows have an empty image path")
        stats = table_stats(df, spec, split, root)
        report = SplitReport(split, stats, dict(raw.skipped), extra=_extra_counts(df))
        notes += [f"{split}: {note}" for note in raw.notes]
        if check_images and stats["missing_images"]:
            from .data.roots import resolve_image

            shown = [str(resolve_image(root, p)) for p in df["image"] if not resolve_image(root, p).is_file()][:_SHOWN]
            problems.append(
                f"{split}: {stats['missing_images']} of {len(df)} images are missing, e.g. {', '.join(shown)}"
            )
        if check_images and len(df):
            report.unreadable_images, shown, report.bad_bboxes, boxes, no_box, videos = _image_problems(df, root)
            if no_box:
                fate = "the run's face detector crops them" if spec.full_frames else "the run skips them as 'bad bbox'"
                notes.append(f"{split}: {no_box} of {len(df)} rows have no face box (all bbox values missing); {fate}")
            from .data.report import video_notes

            notes += [f"{split}: {note}" for note in video_notes({"videos": videos})]
            if shown:
                problems.append(
                    f"{split}: {report.unreadable_images} images cannot be decoded (the run skips those rows), "
                    f"e.g. {', '.join(shown)}; replace or re-extract those files"
                )
            if boxes:
                problems.append(
                    f"{split}: {report.bad_bboxes} face boxes cannot be cropped (the run skips those "
                    f"rows), e.g. {'; '.join(boxes)}"
                )
        reports[split], tables[split] = report, df

    problems += _coverage_problems(spec, tables, notes, classes)
    report = CheckReport(spec.name, str(root), options, reports, problems, notes)
    if strict and problems:
        raise AssertionError(
            f"dataset plugin {spec.name!r} failed {len(problems)} check(s):\n" + "\n".join(f"- {p}" for p in problems)
        )
    return report


def _coverage_problems(spec: DatasetSpec, tables: dict, notes: list[str], classes: tuple[str, ...]) -> list[str]:
    """Every declared task labelled somewhere; no subject shared between splits."""
    problems = []
    if not tables:
        return problems
    import pandas as pd

    both = pd.concat(tables.values(), ignore_index=True)
    labelled = {
        "va": both["valence"].notna().any(),
        "expr": both["expression"].notna().any(),
        "au": any(both[f"AU{a}"].notna().any() for a in spec.aus),
        "au_int": any(f"AU{a}_int" in both and both[f"AU{a}_int"].notna().any() for a in spec.aus),
    }
    problems += [
        f"spec.tasks has {t!r} but no loaded split labels it" for t in TASKS if t in spec.tasks and not labelled[t]
    ]
    if "au_int" in spec.tasks and not labelled["au_int"]:  # opt-in, and some releases ship no intensity files
        notes.append("spec.tasks has 'au_int' but no loaded split labels AU intensity (no intensity files?)")
    unlabelled = [a for a in spec.aus if not both[f"AU{a}"].notna().any()]
    if unlabelled and "au" in spec.tasks and labelled["au"]:
        notes.append(f"spec.aus lists AU{', AU'.join(map(str, unlabelled))} but no loaded row labels them")
    if "expression" in both.columns and "expr" in spec.tasks:
        absent = [e for e in classes if not (both["expression"] == e).any()]
        if absent:
            notes.append(f"no row is labelled {', '.join(absent)}")
    if spec.group_column == "subject" and "subject" in both.columns:
        names = list(tables)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                shared = sorted(set(tables[a]["subject"].dropna()) & set(tables[b]["subject"].dropna()))
                if shared:
                    problems.append(
                        f"{len(shared)} subject(s) appear in both {a} and {b}, e.g. "
                        f"{', '.join(map(str, shared[:_SHOWN]))}; splits must keep people apart"
                    )
    return problems
