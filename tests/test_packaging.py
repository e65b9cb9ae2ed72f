"""The checkout is laid out as it is imported: no folder is renamed at install time."""

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).parents[1]


def test_every_package_is_found_and_shipped():
    found = set(find_packages(str(ROOT), include=["fbn_bench*", "fbn_plugins*"]))
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("fbn_bench", "fbn_plugins")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found == folders
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "package-dir" not in config, "a folder whose name differs from its import name needs a hidden step"


def test_one_version_number():
    import fbn_bench

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert fbn_bench.__version__.count(".") == 2
