"""The val split: carved from the training units by sha256, checked against an independent computation here,
and disjoint from train and test (by subject, video and image) for every built-in real database's fixture."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from click.testing import CliRunner
from real_fixtures_afewva import write_afewva
from real_fixtures_affectnet import write_affectnet_csv, write_affectnet_npy
from real_fixtures_affwild import write_affwild
from real_fixtures_affwild2 import write_affwild2
from real_fixtures_bp4d import write_bp4d, write_bp4dplus
from real_fixtures_disfa import write_disfa
from real_fixtures_emotionet import write_emotionet
from real_fixtures_rafdb import write_rafdb

from fbn_bench.cli import cli
from fbn_bench.data.roots import load_split
from fbn_bench.data.splits import carve, val_units
from fbn_bench.data.table import LoadedTable, as_loaded
from fbn_bench.options import resolve_plugin
from fbn_bench.registry import get_registry
from fbn_bench.specs import DatasetSpec


def reference_val(database: str, units) -> set[str]:
    """The documented rule, restated from scratch: hash < 0.15; the lowest hash always in val, the highest
    always in train (for two or more units)."""
    units = sorted(set(map(str, units)))
    h = {u: int(hashlib.sha256(f"{database}:{u}".encode()).hexdigest()[:16], 16) / 16**16 for u in units}
    if len(units) < 2:
        return set()
    val = {u for u in units if h[u] < 0.15} | {min(units, key=h.get)}
    return val - {max(units, key=h.get)}


def test_val_units_match_an_independent_sha256_and_the_fraction():
    units = [f"S{i:04d}" for i in range(2000)]
    val = val_units("somedb", units)
    assert val == reference_val("somedb", units)
    assert 0.13 < len(val) / len(units) < 0.17
    # Another database name draws another val: the hash is keyed by the database.
    assert val != val_units("otherdb", units)


def test_membership_is_stable_when_units_are_added():
    few = [f"S{i:03d}" for i in range(100)]
    many = few + [f"T{i:03d}" for i in range(100)]
    # With this many units the guarantees never bite: a unit's side depends only on its own hash.
    assert val_units("db", many) & set(few) == val_units("db", few)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_small_sets_keep_one_unit_on_each_side(n):
    units = [f"u{i}" for i in range(n)]
    val = val_units("tiny", units)
    if n < 2:
        assert val == set()
    else:
        assert 1 <= len(val) < n
    assert val == reference_val("tiny", units)


def test_carve_splits_rows_by_unit_and_keeps_skips_with_train():
    frame = pd.DataFrame({"image": [f"{i}.jpg" for i in range(40)], "subject": [f"p{i % 10}" for i in range(40)]})
    table = LoadedTable(frame, {"broken": 3}, ["a note"])
    train, val = carve(table, "db", "train", "subject"), carve(table, "db", "val", "subject")
    assert set(train.frame["subject"]).isdisjoint(val.frame["subject"])
    assert sorted(train.frame["image"].tolist() + val.frame["image"].tolist()) == sorted(frame["image"])
    assert set(val.frame["subject"]) == reference_val("db", frame["subject"])
    assert (train.skipped, train.notes) == ({"broken": 3}, ["a note"]) and (val.skipped, val.notes) == ({}, [])
    assert carve(frame, "db", "val", "subject").equals(val.frame)  # a bare DataFrame comes back as one


def _bp4d(tmp):
    write_bp4d(tmp)
    return tmp


def _bp4dplus(tmp):
    write_bp4dplus(tmp)
    return tmp


def _disfa(tmp):
    write_disfa(tmp)
    return tmp


def _emotionet(tmp):
    write_emotionet(tmp)
    return tmp


def _rafdb(tmp):
    write_rafdb(tmp)
    return tmp


# database -> (writes the fixture and returns its root, options, the unit val is carved by)
CASES = {
    "afewva": (lambda tmp: write_afewva(tmp).root, {}, "subject"),
    "affectnet": (lambda tmp: write_affectnet_csv(tmp).root, {}, "image"),
    "affectnet-npy": (lambda tmp: write_affectnet_npy(tmp).root, {}, "image"),
    "affwild": (lambda tmp: write_affwild(tmp).root, {}, "video"),
    "affwild2": (lambda tmp: write_affwild2(tmp).root, {}, "video"),
    "bp4d": (_bp4d, {}, "subject"),
    "bp4d-fold2": (_bp4d, {"fold": 2}, "subject"),
    "bp4dplus": (_bp4dplus, {}, "subject"),
    "disfa": (_disfa, {}, "subject"),
    "disfa-fold3": (_disfa, {"fold": 3}, "subject"),
    "emotionet": (_emotionet, {}, "image"),
    "rafdb": (_rafdb, {}, "image"),
    "rafdb-compound": (_rafdb, {}, "image"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_real_database_has_a_disjoint_val_carved_from_its_training_side(tmp_path, case):
    write, options, unit = CASES[case]
    name = case.split("-fold")[0].removesuffix("-npy")
    root = write(tmp_path)
    spec = get_registry().dataset(name)
    assert spec.splits == ("train", "val", "test")
    tables = {s: load_split(spec, s, {**options, "root": str(root)})[0] for s in spec.splits}
    assert len(tables["val"]) and len(tables["train"])
    for column in ("image", "subject", "video"):
        if column not in tables["train"].columns:
            continue
        sets = {s: set(t[column].dropna()) for s, t in tables.items()}
        assert sets["train"].isdisjoint(sets["val"]), column
        assert sets["train"].isdisjoint(sets["test"]), column
        assert sets["val"].isdisjoint(sets["test"]), column
    # train + val is the loader's whole training side, and val is the documented draw over its units.
    whole = as_loaded(spec.load.__wrapped__(root, "train", **resolve_plugin("datasets", spec, options).options)).frame
    assert sorted(tables["train"]["image"].tolist() + tables["val"]["image"].tolist()) == sorted(whole["image"])
    assert set(tables["val"][unit].astype(str)) == reference_val(name, whole[unit].astype(str))


def test_a_plugin_without_val_gets_one_carved_by_its_group_column(tmp_path):
    table = pd.DataFrame(
        {"image": [f"{i}.png" for i in range(30)], "subject": [f"s{i % 6}" for i in range(30)], "valence": 0.0}
    )
    table["arousal"] = 0.0
    spec = DatasetSpec("plain", tasks={"va"}, load=lambda root, split: table if split == "train" else table.iloc[:0])
    assert spec.splits == ("train", "test")
    train, _ = load_split(spec, "train", {"root": str(tmp_path)})
    val, _ = load_split(spec, "val", {"root": str(tmp_path)})
    assert set(val["subject"]) == reference_val("plain", table["subject"])
    assert set(train["subject"]) == set(table["subject"]) - set(val["subject"])


def test_stats_json_lists_units_and_labelled_units_per_task(tmp_path):
    root = write_affwild2(tmp_path).root
    shown = {}
    for split in ("train", "val", "test"):
        result = CliRunner().invoke(
            cli, ["datasets", "stats", "affwild2", "--root", str(root), "--split", split, "--json"]
        )
        assert result.exit_code == 0, result.output
        shown[split] = json.loads(result.output)
    videos = {s: set(shown[s]["units"]["video"]) for s in shown}
    assert videos["val"] and videos["train"].isdisjoint(videos["val"]) and videos["val"].isdisjoint(videos["test"])
    # The fixture's training side: 1-30-1280x720 (va, expr, au), video59 + video59_right (va, expr),
    # video74_left/_right (expr, au), 118 (au only); counted here from that construction.
    side = {
        "1-30-1280x720": {"va", "expr", "au"},
        "video59": {"va", "expr"},
        "video74": {"expr", "au"},
        "118": {"au"},
    }
    for split in ("train", "val"):
        for task in ("va", "expr", "au"):
            expected = sum(task in side[v] for v in videos[split])
            assert shown[split]["units_labelled"][task]["video"] == expected, (split, task)
