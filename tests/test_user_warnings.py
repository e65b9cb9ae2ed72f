"""Warnings meant for the user name the database and split they are about, and the CLI prints them as one
`warning: ...` line, without Python's file name and source line."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from test_collapse import _constant_frame

from fbn_bench.cli import _show_warning
from fbn_bench.errors import FbnWarning
from fbn_bench.evaluate import score_split
from fbn_bench.tasks import AUS, EXPRESSIONS


def test_an_undefined_metric_names_its_database_and_split():
    frame = _constant_frame()  # sadness and surprise never occur; every prediction is a constant
    spec = SimpleNamespace(tasks={"va", "expr", "au"}, aus=AUS)
    split = SimpleNamespace(name="synth-x", split="val", spec=spec, n_skipped=0, classes=EXPRESSIONS)
    with pytest.warns(FbnWarning) as caught:
        records = score_split(split, frame, ("va", "expr", "au"))
    messages = [str(w.message) for w in caught]
    assert messages and all(m.startswith("synth-x/val: ") for m in messages)
    assert any(f"{EXPRESSIONS[5]}, {EXPRESSIONS[6]}: no labelled sample" in m for m in messages)
    assert {r["dataset"] for r in records} == {"synth-x"}


def test_the_cli_prints_a_user_warning_on_one_line():
    out = io.StringIO()
    _show_warning(FbnWarning("synth-x/val: AU1: no positive label"), FbnWarning, "evaluate.py", 104, file=out)
    assert out.getvalue() == "warning: synth-x/val: AU1: no positive label\n"
    other = io.StringIO()
    _show_warning(UserWarning("plain"), UserWarning, "x.py", 3, file=other)
    assert "x.py:3: UserWarning: plain" in other.getvalue()  # anything else as Python shows it


def test_the_cli_says_a_user_warning_once():
    """A split's note comes at every validation (eight in a default run); the user reads it once."""
    out = io.StringIO()
    for _ in range(3):
        _show_warning(FbnWarning("synth-y/val: AU14: no positive label"), FbnWarning, "evaluate.py", 104, file=out)
    _show_warning(FbnWarning("synth-y/test: AU14: no positive label"), FbnWarning, "evaluate.py", 104, file=out)
    assert out.getvalue().splitlines() == [
        "warning: synth-y/val: AU14: no positive label",
        "warning: synth-y/test: AU14: no positive label",
    ]
