"""A count that cannot be negative is refused by argparse, naming the flag, before any work starts.

``capsight batch --threads -2`` ran (ONNX Runtime was handed -2 intra-op threads), and ``capsight
serve --workers 0`` blamed ``CAPSIGHT_WORKERS='0'``, a variable the user had not set. ``--seed -1``
(train, prepare-data) was accepted and reached numpy's ``default_rng``, which refuses a negative seed
with a ValueError: a traceback once the photos were being augmented or composited."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from capsight.cli import main
from capsight.cli_types import non_negative_int


def test_non_negative_int_names_what_it_takes() -> None:
    assert non_negative_int("0") == 0 and non_negative_int("7") == 7
    for bad, message in (("-1", "must be >= 0, got -1"), ("two", "whole number")):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            non_negative_int(bad)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["batch", "photos", "--out", "out", "--threads", "-2"], "--threads"),
        (["batch", "photos", "--out", "out", "--workers", "-1"], "--workers"),
        (["batch", "photos", "--out", "out", "--batch-size", "0"], "--batch-size"),
        (["train", "photos", "--out", "model", "--seed", "-1"], "--seed"),
        (["prepare-data", "--seed", "-1"], "--seed"),
        (["serve", "--workers", "0"], "--workers"),
        (["serve", "--workers", "-3"], "--workers"),
    ],
)
def test_a_meaningless_count_is_a_usage_error_naming_the_flag(
    argv: list[str],
    flag: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAPSIGHT_WORKERS", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {flag}: must be >= " in err
    assert "CAPSIGHT_" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing was started or written


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_a_backbone_lr_multiplier_that_is_not_a_positive_number_is_refused(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``nan`` passed the loop's ``<= 0`` check, and AdamW takes a NaN learning rate in a parameter
    group without a word: the backbone's weights would turn NaN during training."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["train", "photos", "--out", "model", "--backbone-lr-mult", value])
    assert exited.value.code == 2
    assert "error: argument --backbone-lr-mult: must be in (0, " in capsys.readouterr().err
