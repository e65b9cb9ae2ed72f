"""Records in, `leaderboards/<database>.md` and `leaderboards/README.md` out; and the staleness check."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..atomic import atomic_write_text, write_error
from ..errors import FbnError
from ..results import file_stem
from ..scoring import au_of, class_of, lower_is_better, per_item
from ..tasks import TASK_NAMES
from ..tomlfile import read_toml
from . import compound_tables
from .bootstrap import single_threaded_blas
from .pictures import PICTURE_FOLDERS, Picture, picture_name
from .records import Entry, load_entries
from .references import REFERENCES_FILE, Reference, compound_database, read_references, split_references
from .render import COMMITTED_DOCS, GENERATED, cell_text, doc_link, docs_base, to_markdown
from .tables import Settings, Table, build_table

SETTINGS_FILE = "leaderboards.toml"
RECORDS_DIR = "records"
INDEX_FILE = "README.md"
ARCHIVE_DIR = "archive"


def read_settings(out: Path) -> Settings:
    """`<out>/leaderboards.toml`: the settings the committed tables were built with (all optional)."""
    path = Path(out) / SETTINGS_FILE
    data = read_toml(path, missing_ok=True)
    allowed = ("resamples", "seed", "confidence", "baseline", "note")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise FbnError(f"{path}: unknown setting(s) {unknown}; allowed: {', '.join(allowed)}")
    if not isinstance(data.get("note", ""), str):
        raise FbnError(f"{path}: note must be a string (shown at the top of the index), got {data['note']!r}")
    settings = Settings(**data)
    return check_settings(settings, str(path))


def check_settings(settings: Settings, where: str = "leaderboard settings") -> Settings:
    if not isinstance(settings.resamples, int) or settings.resamples < 10:
        raise FbnError(f"{where}: resamples must be an integer >= 10, got {settings.resamples!r}")
    if not isinstance(settings.seed, int) or settings.seed < 0:
        raise FbnError(f"{where}: seed must be a non-negative integer, got {settings.seed!r}")
    if not 0 < settings.confidence < 1:
        raise FbnError(f"{where}: confidence must be between 0 and 1, got {settings.confidence!r}")
    return settings


def build_tables(
    sources: list[Path], settings: Settings, references: list[Reference], only: str | None = None, *, registry
) -> list[Table]:
    """One table per database. A database is the canonical text records carry (`synth-disfa:scale=0.5`):
    its spec (resampling unit, metric order) is that of the plugin it names, looked up in `registry`; None
    for a database no installed plugin registers."""
    entries = load_entries(sources)
    by_db: dict[str, list[Entry]] = {}
    for entry in entries:
        by_db.setdefault(entry.database, []).append(entry)
    refs: dict[str, list[Reference]] = {}
    for ref in split_references(references, compound_database(registry))[0]:  # compound rows: their own pages
        refs.setdefault(ref.database, []).append(ref)
    databases = sorted(set(by_db) | set(refs))
    if only is not None:
        if only not in databases:
            listing = ", ".join(databases) or "none (no results yet)"
            raise FbnError(f"no leaderboard for {only!r}; databases with results: {listing}")
        databases = [only]
    if settings.baseline and entries:
        from .tables import matches_baseline

        if not any(matches_baseline(e.key, settings.baseline) for e in entries):
            known = ", ".join(sorted({f"{e.key.config_hash} ({e.key.label()})" for e in entries}))
            raise FbnError(f"baseline {settings.baseline!r} matches no configuration; known: {known}")
    with single_threaded_blas():
        specs = registry.specs("metrics")  # built-ins and plugins: the tables score and resample all of them
        lower = lower_is_better(specs)
        return [
            build_table(db, by_db.get(db, []), settings, registry.find("datasets", db), refs.get(db), lower, specs)
            for db in databases
        ]


def archived(out: Path) -> list[tuple[str, str]]:
    """(folder relative to `out`, its note) of each store kept under `out/archive/` (one with its own
    settings file): superseded tables, built and checked on their own."""
    found = sorted(p.parent for p in (Path(out) / ARCHIVE_DIR).glob(f"*/{SETTINGS_FILE}"))
    return [(f"{ARCHIVE_DIR}/{folder.name}", read_settings(folder).note) for folder in found]


def render_index(
    tables: list[Table],
    compound: dict | None = None,
    docs: str | None = COMMITTED_DOCS,
    store: bool = True,
    note: str = "",
    archives: list[tuple[str, str]] = (),
) -> str:
    """`store`: built from the folder's own `records/` (else from runs given with --results); `note`: the
    settings' note, shown first; `archives`: see `archived`."""
    source = "the result records in `records/`" if store else "the result records of the runs given with `--results`"
    out = [GENERATED, "", "# Leaderboards", ""]
    if note.strip():
        out += ["> " + line if line else ">" for line in note.strip().splitlines()] + [""]
    out += [
        f"One table per database, built from {source} by `fbn-bench leaderboard build`. "
        f"How the tables and their intervals are made, and how to add results: {doc_link('leaderboards.md', docs)}.",
        "",
    ]
    if not any(t.rows for t in tables):
        out.append(
            f"No results yet: {'`records/` holds' if store else 'those runs hold'} no result records. "
            "Add runs with `fbn-bench leaderboard add RUN_DIR`."
        )
    if tables:
        out += [
            "| database | tasks | metrics (headline first) | configurations | best entry |",
            "|---|---|---|---|---|",
        ]
        for t in tables:
            metrics = [t.headline] + [m for m in t.metrics if m != t.headline and not per_item(m)]
            if any(au_of(m) is not None for m in t.metrics):
                metrics.append("F1 per AU")
            if any(class_of(m) is not None for m in t.metrics):
                metrics.append("F1/recall per expression")
            best = DASH = "–"
            if t.rows and t.headline in t.rows[0].cells:
                top = t.rows[0]
                best = f"{top.key.label()}: {t.headline} {cell_text(top.cells[t.headline]).replace('**', '')}"
            tasks = ", ".join(TASK_NAMES.get(x, x) for x in t.tasks) or DASH
            out.append(
                f"| [{t.database}]({file_stem(t.database)}.md) | {tasks} | {', '.join(metrics)} | {len(t.rows)} | {best} |"
            )
    if compound:
        out += ["", "## Compound expressions", "", "| database | configurations | rows |", "|---|---|---|"]
        for database, rows in compound.items():
            configurations = len({r.key.config_hash for r in rows})
            out.append(f"| [{database}]({file_stem(database)}.md) | {configurations} | {len(rows)} |")
    if archives:
        out += [
            "",
            "## Archive",
            "",
            "Superseded tables, kept with their records:",
            "",
            "| folder | why |",
            "|---|---|",
        ]
        out += [f"| [{folder}]({folder}/{INDEX_FILE}) | {' '.join(why.split()) or '–'} |" for folder, why in archives]
    return "\n".join(out) + "\n"


def render_all(
    out: Path, sources: list[Path] | None = None, settings: Settings | None = None, *, registry
) -> dict[str, str]:
    """{file name: content} of everything `build` writes into `out` (`registry`: see build_tables)."""
    out = Path(out)
    settings = check_settings(settings or read_settings(out))
    store = not sources
    sources = sources or [out / RECORDS_DIR]
    sources = [s for s in sources if Path(s).exists() or Path(s) != out / RECORDS_DIR]  # an empty store is fine
    compound = compound_tables.load_rows(sources)
    references, compound_refs = split_references(
        read_references(out / REFERENCES_FILE), compound_database(registry, set(compound))
    )
    tables = build_tables(sources, settings, references, registry=registry)
    docs = docs_base(out)
    files: dict[str, str | Picture] = {f"{file_stem(t.database)}.md": to_markdown(t, docs) for t in tables}
    files.update({picture_name(p, t.database): p for t in tables for p in t.pictures})
    for database in sorted(set(compound) | set(compound_refs)):
        compound.setdefault(database, [])
        files[f"{file_stem(database)}.md"] = compound_tables.to_markdown(
            database, compound[database], settings, GENERATED, docs, compound_refs.get(database, [])
        )
    files[INDEX_FILE] = render_index(tables, compound, docs, store, settings.note, archived(out))
    return files


def _generated_files(out: Path) -> set[str]:
    """The files in `out` that an earlier build wrote: Markdown starting with the marker, and every picture
    in a picture folder (pictures.PICTURE_FOLDERS)."""
    if not out.is_dir():
        return set()
    tables = {p.name for p in out.glob("*.md") if p.read_text().startswith(GENERATED)}
    return tables | {f"{folder}/{p.name}" for folder in PICTURE_FOLDERS for p in (out / folder).glob("*.png")}


def write_all(out: Path, files: dict[str, str | Picture]) -> list[str]:
    """Write the tables and pictures, remove generated files no longer built; returns the names written."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in _generated_files(out) - set(files):
            (out / name).unlink()
    except OSError as exc:
        raise write_error(out, "the leaderboards folder", exc) from None
    for name, content in files.items():
        if isinstance(content, Picture):
            content.write(out / name)
        else:
            atomic_write_text(out / name, content, "leaderboard table")
    return sorted(files)


def stale_files(out: Path, files: dict[str, str | Picture]) -> list[str]:
    """Problems of the committed tables against what the committed records build ([] when current)."""
    out = Path(out)
    problems = []
    for name, content in sorted(files.items()):
        path = out / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif isinstance(content, Picture):
            if not content.is_current(path):
                problems.append(f"{path} is stale")
        elif path.read_text() != content:
            problems.append(f"{path} is stale")
    problems += [f"{out / name} is no longer built" for name in sorted(_generated_files(out) - set(files))]
    return problems


def record_value_problems(sources: list[Path], *, registry) -> tuple[list[str], int]:
    """(problems, n_checked) of `verify.value_problems`, with the registered databases' AUs and metrics."""
    from .verify import value_problems

    return value_problems(sources, lambda db: registry.find("datasets", db), registry.specs("metrics"))


def with_overrides(settings: Settings, **overrides) -> Settings:
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
