"""The documented third-party plugin, installed as a real distribution, is found through its entry point."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[1] / "examples" / "fbn-bench-example-plugin"


@pytest.mark.slow
def test_installed_example_plugin_is_discovered_by_entry_point(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))  # builds write in-tree
    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("FBN_BENCH_PLUGINS", None)
    out = subprocess.run(
        [sys.executable, "-m", "fbn_bench", "plugins", "--json"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    listing = json.loads(out.stdout)
    mydb = next(d for d in listing["datasets"] if d["name"] == "mydb")
    assert mydb["plugin"] == "fbn_example_plugin"
    assert mydb["distribution"] == "fbn-bench-example-plugin"
    assert any(m["name"] == "cohen_kappa" for m in listing["metrics"])
