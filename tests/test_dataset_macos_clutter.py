"""Every real-database loader reads a tree unpacked from a macOS-made archive (`__MACOSX/` mirror, AppleDouble
`._<name>` files, `.DS_Store`) exactly as the clean tree: same rows, same skipped counts, same notes."""

from __future__ import annotations

import pandas as pd
import pytest
from real_fixtures_afewva import write_afewva
from real_fixtures_affectnet import write_affectnet_csv, write_affectnet_npy
from real_fixtures_affwild import write_affwild
from real_fixtures_affwild2 import write_affwild2
from real_fixtures_bp4d import write_bp4d, write_bp4dplus
from real_fixtures_common import add_macos_clutter
from real_fixtures_disfa import write_disfa
from real_fixtures_emotionet import write_emotionet
from real_fixtures_rafdb import write_rafdb

from fbn_bench.data.roots import load_split
from fbn_bench.registry import get_registry


def _root_of(fixture_root):
    return lambda tmp: fixture_root(tmp).root


def _in_place(writer):
    def write(tmp):
        writer(tmp)
        return tmp

    return write


# dataset -> writer(tmp) returning the database root
WRITERS = {
    "afewva": _root_of(write_afewva),
    "affectnet-csv": _root_of(write_affectnet_csv),
    "affectnet-npy": _root_of(write_affectnet_npy),
    "affwild": _root_of(write_affwild),
    "affwild2-abaw3": _root_of(lambda tmp: write_affwild2(tmp, "abaw3")),
    "affwild2-abaw2020": _root_of(lambda tmp: write_affwild2(tmp, "abaw2020")),
    "bp4d": _in_place(write_bp4d),
    "bp4dplus": _in_place(write_bp4dplus),
    "disfa": _in_place(write_disfa),
    "emotionet": _in_place(write_emotionet),
    "rafdb": _in_place(write_rafdb),
    "rafdb-compound": _in_place(write_rafdb),
}


def _tables(name, root):
    spec = get_registry().dataset(name)
    return {split: load_split(spec, split, {"root": str(root)})[0] for split in spec.splits}


@pytest.mark.parametrize("case", sorted(WRITERS))
def test_macos_clutter_changes_nothing(tmp_path, case):
    name = case.rsplit("-", 1)[0] if case.startswith(("affectnet-", "affwild2-")) else case
    root = WRITERS[case](tmp_path)
    clean = _tables(name, root)
    add_macos_clutter(root)
    assert (root / "__MACOSX").is_dir() and any(root.rglob("._*"))
    cluttered = _tables(name, root)
    for split, table in clean.items():
        pd.testing.assert_frame_equal(cluttered[split], table)
        assert cluttered[split].attrs == table.attrs


def test_appledouble_files_beside_the_annotations_are_not_read(tmp_path):
    # The tester's second failure: with __MACOSX/ deleted, `Train_Set/._<video>.txt` (binary) was parsed.
    root = write_affwild2(tmp_path, "abaw3").root
    clean = _tables("affwild2", root)
    add_macos_clutter(root, mirror=False)
    assert not (root / "__MACOSX").exists()
    for split, table in _tables("affwild2", root).items():
        pd.testing.assert_frame_equal(table, clean[split])
