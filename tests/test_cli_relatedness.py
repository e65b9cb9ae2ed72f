"""`fbn-bench relatedness show / estimate`."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import fbn_bench.registry as registry_module
from fbn_bench.cli import cli
from fbn_bench.coupling import relatedness


@pytest.fixture
def runner(monkeypatch):
    # The process-wide registry, plus the tiny databases of tests/relatedness_fixture_plugin.py.
    monkeypatch.setattr(
        registry_module, "_REGISTRY", registry_module.build_registry(extra_modules=["relatedness_fixture_plugin"])
    )
    return CliRunner()


def invoke(runner, *args):
    return runner.invoke(cli, list(args), obj={"debug": False})


def test_show_default_prints_du2014(runner):
    result = invoke(runner, "relatedness", "show")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "P(AU | expression), source: du2014"
    anger = next(line for line in lines if line.startswith("anger")).split()
    assert anger[1:] == [
        "0.00",
        "0.00",
        "1.00",
        "0.00",
        "0.00",
        "1.00",
        "0.00",
        "0.26",
        "0.00",
        "0.00",
        "0.00",
        "0.52",
        "0.00",
        "0.29",
        "1.00",
        "0.00",
        "0.00",
    ]


def test_show_csv_reads_back_as_a_source(runner, tmp_path):
    result = invoke(runner, "relatedness", "show", "--csv")
    assert result.exit_code == 0
    path = tmp_path / "r.csv"
    path.write_text(result.output)
    pd.testing.assert_frame_equal(relatedness(str(path)), relatedness())
    again = invoke(runner, "relatedness", "show", str(path))
    assert again.exit_code == 0 and f"source: {path}" in again.output


def test_show_plot_writes_a_png(runner, tmp_path):
    png = tmp_path / "plots" / "r.png"
    result = invoke(runner, "relatedness", "show", "--plot", str(png))
    assert result.exit_code == 0, result.output
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width > 400 and image.height > 200


def test_estimate_writes_csv_and_names_fallbacks(runner, tmp_path):
    out = tmp_path / "emp.csv"
    result = invoke(runner, "relatedness", "estimate", "relfix-both", "--out", str(out), "--smoothing", "0")
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    assert "Note: not annotated, du2014 values kept: AU1, AU2, AU5," in result.output
    df = relatedness(str(out))
    assert df.at["happiness", "AU12"] == pytest.approx(2 / 3, abs=1e-6)
    shown = invoke(runner, "relatedness", "show", "empirical:relfix-both")
    assert shown.exit_code == 0 and "source: empirical:relfix-both" in shown.output


@pytest.mark.parametrize(
    "args, message",
    [
        (("show", "nope.csv"), "Error: relatedness file nope.csv does not exist"),
        (("estimate", "relfix-va", "--out", "x.csv"), "Error: dataset 'relfix-va' does not label expr and au"),
        (("estimate", "nosuchdb", "--out", "x.csv"), "Error: unknown dataset 'nosuchdb'"),
    ],
)
def test_user_errors_exit_2_with_one_line(runner, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = invoke(runner, "relatedness", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x.csv").exists()
