"""The relatedness table: Du et al. values cell by cell, CSV files, and estimation from data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from fbn_bench import AU_COLUMNS, AUS, EXPRESSIONS, FbnError
from fbn_bench.coupling import relatedness, relatedness_tensor
from fbn_bench.coupling.losses import prototypical_mask
from fbn_bench.registry import build_registry

# Transcribed from research/facebehavior.md ("Relatedness ... from Du et al. 2014"), not from the code.
PROTOTYPICAL = {
    "happiness": [12, 25],
    "sadness": [4, 15],
    "fear": [1, 4, 20, 25],
    "anger": [4, 7, 24],
    "surprise": [1, 2, 25, 26],
    "disgust": [9, 10, 17],
    "neutral": [],
}
OBSERVATIONAL = {
    "happiness": {6: 0.51},
    "sadness": {1: 0.60, 6: 0.50, 17: 0.67},
    "fear": {2: 0.57, 5: 0.63, 26: 0.33},
    "anger": {10: 0.26, 17: 0.52, 23: 0.29},
    "surprise": {5: 0.66},
    "disgust": {4: 0.31, 24: 0.26},
    "neutral": {},
}


@pytest.fixture
def registry():
    return build_registry(extra_modules=["relatedness_fixture_plugin"], use_entry_points=False)


def test_du2014_every_cell_matches_the_published_table():
    df = relatedness("du2014")
    assert list(df.index) == list(EXPRESSIONS)
    assert list(df.columns) == [f"AU{a}" for a in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 26)]
    for e in EXPRESSIONS:
        for au in AUS:
            expected = 1.0 if au in PROTOTYPICAL[e] else OBSERVATIONAL[e].get(au, 0.0)
            assert df.at[e, f"AU{au}"] == pytest.approx(expected), (e, au)
    assert (df.loc["neutral"] == 0).all()
    assert "AU11" not in df.columns


def test_default_source_is_du2014_and_tensor_is_canonical():
    df = relatedness()
    shuffled = df.loc[list(reversed(EXPRESSIONS)), list(reversed(AU_COLUMNS))]
    R = relatedness_tensor(shuffled)
    assert R.dtype == torch.float32 and R.shape == (7, 17)
    assert R[EXPRESSIONS.index("fear"), AUS.index(5)].item() == pytest.approx(0.63)
    assert torch.equal(R, relatedness_tensor(df))


def test_prototypical_threshold_recovers_the_prototypical_columns():
    proto = prototypical_mask(relatedness_tensor(relatedness()), 0.7)
    for i, e in enumerate(EXPRESSIONS):
        assert [a for a, on in zip(AUS, proto[i].tolist()) if on] == sorted(PROTOTYPICAL[e])


def test_csv_round_trip_in_any_order(tmp_path):
    df = relatedness()
    path = tmp_path / "r.csv"
    df.loc[list(reversed(EXPRESSIONS)), list(reversed(AU_COLUMNS))].to_csv(path)
    back = relatedness(str(path))
    pd.testing.assert_frame_equal(back, df, check_names=False)
    assert back.attrs["source"] == str(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("anger,0,0,1", "anger,0,0,1.3"), "row 'anger', column AU4: value '1.3'"),
        (lambda t: t.replace("anger,0,0,1", "anger,0,0,abc"), "row 'anger', column AU4: value 'abc'"),
        (lambda t: t.replace("anger,0,0,1", "anger,0,0,"), "row 'anger', column AU4: value ''"),
        (lambda t: t.replace("fear,", "fright,"), "unknown expression row 'fright'"),
        (
            lambda t: "\n".join(line for line in t.splitlines() if not line.startswith("sadness")),
            "missing expression row 'sadness'",
        ),
        (lambda t: t.replace("AU14", "AU11"), "unknown AU column 'AU11'"),
        (lambda t: t.replace("AU14", "AU12"), "duplicate AU column 'AU12'"),
        (lambda t: t.replace("anger,0,0,1,", "anger,0,0,1,1,"), "line 3 (row 'anger') has 18 values for 17"),
        (lambda t: "", "cannot read it as CSV"),
    ],
)
def test_malformed_csv_gives_one_line_error_naming_file_and_cell(tmp_path, edit, message):
    text = relatedness().to_csv(float_format="%g")
    path = tmp_path / "bad.csv"
    path.write_text(edit(text))
    with pytest.raises(FbnError) as info:
        relatedness(str(path))
    assert str(path) in str(info.value) and message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_source_errors():
    with pytest.raises(FbnError, match="does not exist"):
        relatedness("missing.csv")
    with pytest.raises(FbnError, match="unknown relatedness source 'du2015'"):
        relatedness("du2015")
    with pytest.raises(FbnError, match="names no database"):
        relatedness("empirical:")


def test_empirical_counts_with_laplace_smoothing(registry):
    df = relatedness("empirical:relfix-both", registry=registry, smoothing=1.0)
    du = relatedness()
    # (positives + 1) / (labelled + 2), counted by hand from tests/relatedness_fixture_plugin.py
    assert df.at["happiness", "AU12"] == pytest.approx(3 / 5)
    assert df.at["happiness", "AU25"] == pytest.approx(3 / 4)
    assert df.at["happiness", "AU6"] == pytest.approx(1 / 3)
    assert df.at["happiness", "AU4"] == pytest.approx(1 / 5)
    assert df.at["anger", "AU4"] == pytest.approx(3 / 4)
    assert df.at["anger", "AU25"] == pytest.approx(2 / 4)
    # anger never has AU6 labelled; AU1 is not annotated at all; fear has no rows: du2014 values stay
    assert df.at["anger", "AU6"] == du.at["anger", "AU6"]
    assert (df["AU1"] == du["AU1"]).all()
    pd.testing.assert_series_equal(df.loc["fear"], du.loc["fear"])
    unannotated = [c for c in AU_COLUMNS if c not in ("AU4", "AU6", "AU12", "AU25")]
    assert df.attrs["fallback_aus"] == unannotated
    assert df.attrs["fallback_expressions"] == ["neutral", "disgust", "fear", "sadness", "surprise"]
    assert df.attrs["source"] == "empirical:relfix-both"
    assert ((df >= 0) & (df <= 1)).all().all()


def test_empirical_without_smoothing_is_the_raw_frequency(registry):
    df = relatedness("empirical:relfix-both", registry=registry, smoothing=0)
    assert df.at["happiness", "AU12"] == pytest.approx(2 / 3)
    assert df.at["happiness", "AU6"] == 0.0
    assert df.at["anger", "AU4"] == 1.0
    counts = np.array(df.attrs["counts"])
    assert counts[EXPRESSIONS.index("happiness"), AUS.index(12)] == 3


def test_empirical_needs_both_labels_and_a_known_database(registry):
    with pytest.raises(FbnError, match="does not label expr and au"):
        relatedness("empirical:relfix-va", registry=registry)
    with pytest.raises(FbnError, match="unknown dataset 'relfix-bot'.*did you mean 'relfix-both'"):
        relatedness("empirical:relfix-bot", registry=registry)
    with pytest.raises(FbnError, match="smoothing must be >= 0"):
        relatedness("empirical:relfix-both", registry=registry, smoothing=-1)
