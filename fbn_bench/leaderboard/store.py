"""The committed record store: `leaderboards/records/<run_id>/` with the run's `results.jsonl` and a
compact copy of `predictions/<dataset>.csv.gz` (only what scoring and resampling need, rounded).

The store has the layout of a run folder, so everything that reads runs reads the store too. It keeps only
runs a table can use: a run all of whose records a later run of the same configuration and seed replaces
(`records.precedence`) is superseded, and `leaderboard add` and `leaderboard build` remove it
(`prune_superseded`), so re-running the leaderboard sweep does not grow the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import TMP_PREFIX, clean_stale_temporaries, write_error
from ..compound import COMPOUND_FILE
from ..errors import FbnError
from ..metrics import FIXED_THRESHOLD, GRID
from ..results import RESULTS_FILE, predictions_path, read_records, write_predictions
from .records import identity, precedence

DEFAULT_STORE = Path("leaderboards") / "records"

IDENTITY_COLUMNS = ("image", "subject", "video")
_TARGETS = re.compile(r"^(valence|arousal|expression|AU\d+|AU\d+_int)$")
# Predicted intensities (au_int) are kept unrounded: ICC has no threshold to round safely around.
_OUTPUTS = re.compile(r"^(pred_valence|pred_arousal|pred_expression|prob_AU\d+|pred_int_AU\d+)$")
DIGITS = 4


def compact_predictions(frame: pd.DataFrame) -> pd.DataFrame:
    """Identity, target and output columns only; floats rounded to 4 digits.

    AU probabilities are rounded without crossing any decision threshold a run may use (0.5 and the
    validation grid), so every stored sample's F1 decisions are exactly those of the run; valence and
    arousal keep their sign (a value within 5e-5 of 0 becomes +-1e-4, not 0), so SAGR comes back exactly.
    """
    keep = [c for c in frame.columns if c in IDENTITY_COLUMNS or _TARGETS.match(c) or _OUTPUTS.match(c)]
    out = frame[keep].copy()
    for column in keep:
        if column.startswith("prob_AU"):
            p = out[column].to_numpy(float)
            r = np.round(p, DIGITS)
            for cut in {FIXED_THRESHOLD, *GRID}:
                crossed = (p >= cut) != (r >= cut)
                r[crossed] = np.where(p[crossed] >= cut, cut, cut - 10.0**-DIGITS)
            out[column] = r
        elif column in ("valence", "arousal", "pred_valence", "pred_arousal"):
            v = out[column].to_numpy(float)
            r = np.round(v, DIGITS)
            flipped = np.sign(r) != np.sign(v)  # NaN (unlabelled) compares unequal but stays NaN below
            r[flipped] = np.sign(v[flipped]) * 10.0**-DIGITS
            out[column] = r
    return out


def find_runs(paths: list[Path]) -> list[Path]:
    """Run folders: each path is one (it holds results.jsonl) or a folder of them, such as a sweep's."""
    found: list[Path] = []
    for path in map(Path, paths):
        if (path / RESULTS_FILE).is_file():
            found.append(path)
            continue
        inside = sorted(p.parent for p in path.rglob(RESULTS_FILE)) if path.is_dir() else []
        if not inside:
            raise FbnError(
                f"{path} holds no {RESULTS_FILE}: give run folders written by `fbn-bench run`, `evaluate` or `sweep`"
            )
        found += inside
    return found


def add_runs(paths: list[Path], store: Path = DEFAULT_STORE) -> list[str]:
    """Copy run folders (or every run under a folder) into the store: records as they are, predictions
    compacted. Returns the run ids. A run already in the store is replaced by a newer copy of itself (same
    configuration and seed); another run with the same id is an error. Checkpoints, logs and configs stay behind.
    """
    added = []
    for run_dir in find_runs(paths):
        results = run_dir / RESULTS_FILE
        records = list(read_records(results))
        run_ids = {r.get("run_id") for r in records}
        if len(run_ids) != 1 or None in run_ids:
            raise FbnError(f"{results} holds records of {len(run_ids)} runs; the store keeps one run per folder")
        run_id = str(run_ids.pop())
        if not re.fullmatch(r"[A-Za-z0-9._-]+", run_id):
            raise FbnError(f"{results}: run id {run_id!r} cannot name a folder; use letters, digits, '.', '_' or '-'")
        target = Path(store) / run_id
        if target.exists():
            _check_same_run(target, records, run_dir)
        _copy_run(run_dir, records, target)
        added.append(run_id)
    return added


def _copy_run(run_dir: Path, records: list[dict], target: Path) -> None:
    """Assemble the stored copy in a hidden temporary folder, then put it in place: a killed `add` leaves
    a `.tmp-*` folder that nothing reads (and the next `add` removes), never a run without its predictions."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temporaries(target.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{target.name}.", dir=target.parent))
        tmp.chmod(0o755)
    except OSError as exc:
        raise write_error(target, "the record store folder", exc) from None
    try:
        shutil.copyfile(run_dir / RESULTS_FILE, tmp / RESULTS_FILE)
        if (run_dir / COMPOUND_FILE).is_file():  # the run's compound scores (fbn-bench compound), as they are
            shutil.copyfile(run_dir / COMPOUND_FILE, tmp / COMPOUND_FILE)
        for dataset in sorted({r["dataset"] for r in records}):
            source = predictions_path(run_dir, dataset)
            if source.is_file():
                frame = pd.read_csv(source, dtype={"subject": "string", "video": "string", "image": "string"})
                write_predictions(tmp, dataset, compact_predictions(frame))
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
    except OSError as exc:
        raise write_error(target, "the stored run", exc) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _identity(records: list[dict]) -> set[tuple]:
    return {(r.get("config_hash"), r.get("seed")) for r in records}


def _check_same_run(target: Path, records: list[dict], source: Path) -> None:
    """Replacing a stored run with a newer copy of itself (re-scored, more databases) is an update; replacing
    it with another run that happens to share its id would silently lose a seed."""
    stored = list(read_records(target / RESULTS_FILE)) if (target / RESULTS_FILE).is_file() else []
    if stored and _identity(stored) != _identity(records):
        ((config, seed),) = _identity(stored) if len(_identity(stored)) == 1 else [("several", "several")]
        raise FbnError(
            f"the store already holds a different run named {target.name!r} (config {config}, seed {seed}); "
            f"{source} is another run with the same id: give it its own --out name and run id"
        )


def stored_runs(store: Path = DEFAULT_STORE) -> list[str]:
    store = Path(store)
    if not store.is_dir():
        return []
    return sorted(p.name for p in store.iterdir() if (p / RESULTS_FILE).is_file() and not p.name.startswith(TMP_PREFIX))


def superseded_runs(store: Path = DEFAULT_STORE) -> dict[str, str]:
    """{stored run id: the run that replaces it} for each stored run none of whose records any table reads:
    for every (database, split, configuration, seed) it measured, another stored run measured it later."""
    best: dict[tuple, tuple[str, str]] = {}  # identity -> precedence of the run that counts
    held: dict[str, dict[tuple, tuple[str, str]]] = {}  # run id -> identity -> its own precedence
    for run_id in stored_runs(store):
        for record in read_records(Path(store) / run_id / RESULTS_FILE):
            if not isinstance(record, dict):
                continue  # not a record: `leaderboard build` names the line; never a reason to delete
            key, rank = identity(record), precedence(record)
            mine = held.setdefault(run_id, {})
            mine[key] = max(mine.get(key, rank), rank)
            best[key] = max(best.get(key, rank), rank)
    return {
        run_id: max(best[key] for key in mine)[1]
        for run_id, mine in held.items()
        if mine and all(best[key][1] != run_id for key in mine)
    }


def prune_superseded(store: Path = DEFAULT_STORE) -> dict[str, str]:
    """Remove the superseded runs from the store; returns {removed run id: the run that replaces it}."""
    gone = superseded_runs(store)
    for run_id in gone:
        shutil.rmtree(Path(store) / run_id)
    return gone
