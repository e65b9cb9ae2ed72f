"""The CLI's conventions: --version, one-line errors with exit status 2, tracebacks only with --debug."""

import subprocess
import sys

from click.testing import CliRunner

import fbn_bench
from fbn_bench.cli import cli


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and fbn_bench.__version__ in result.output


def test_user_error_is_one_line_on_stderr_with_status_2():
    proc = subprocess.run(
        [sys.executable, "-m", "fbn_bench", "run", "--tasks", "vaa", "--no-progress"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "Error: unknown task 'vaa'; use 'all' or a comma-separated subset of va, expr, au and the opt-in au_int"
    ]
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "fbn_bench", "--debug", "run", "--tasks", "vaa"], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "FbnError" in proc.stderr


def test_plugins_table_lists_builtins():
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert "macro_f1" in result.output and "fbn_plugins.metrics.builtin" in result.output
