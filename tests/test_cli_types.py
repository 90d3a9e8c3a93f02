"""Bad numbers and paths are refused by argparse (exit 2, one short line) before any work starts."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from capsight.cli import main
from capsight.cli_types import float_in, int_in, output_dir, output_file, port


def test_int_in_names_its_range() -> None:
    parse = int_in(0, 2000)
    assert parse("0") == 0 and parse("2000") == 2000
    for bad, message in (("-1", "from 0 to 2000, got -1"), ("2001", "got 2001"), ("x", "whole number")):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            parse(bad)


def test_float_in_refuses_nan_inf_and_out_of_range() -> None:
    unit = float_in(0.0, 1.0)
    assert unit("0") == 0.0 and unit("1") == 1.0 and unit("0.98") == 0.98
    for bad in ("nan", "inf", "-inf", "-0.1", "1.5", "abc"):
        with pytest.raises(argparse.ArgumentTypeError):
            unit(bad)
    positive = float_in(0.0, 10.0, low_open=True)
    with pytest.raises(argparse.ArgumentTypeError, match=r"in \(0, 10\]"):
        positive("0")


def test_output_paths(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert output_dir(str(tmp_path / "new")) == tmp_path / "new"
    assert output_dir(str(tmp_path)) == tmp_path
    with pytest.raises(argparse.ArgumentTypeError, match="not a folder"):
        output_dir(str(tmp_path / "file"))
    assert output_file(str(tmp_path / "r.html")) == tmp_path / "r.html"
    with pytest.raises(argparse.ArgumentTypeError, match="is a folder"):
        output_file(str(tmp_path))
    with pytest.raises(argparse.ArgumentTypeError, match="does not exist"):
        output_file(str(tmp_path / "no" / "r.html"))
    assert port("8000") == 8000
    with pytest.raises(argparse.ArgumentTypeError):
        port("99999")


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "DATA", "--out", "FILE"],
        ["train", "DATA", "--out", "OUT", "--lr", "nan"],
        ["train", "DATA", "--out", "OUT", "--lr", "-1"],
        ["train", "DATA", "--out", "OUT", "--label-smoothing", "2"],
        ["train", "DATA", "--out", "OUT", "--image-size", "1"],
        ["quantize", "DATA", "--data", "DATA", "--out", "OUT", "--min-agreement", "-1"],
        ["quantize", "DATA", "--data", "DATA", "--out", "OUT", "--min-agreement", "nan"],
        ["prepare-data", "--out", "OUT", "--composites-per-bottle", "nan"],
        ["prepare-data", "--out", "OUT", "--rendered", "-1"],
        ["prepare-data", "--out", "OUT", "--lying-every", "101"],
        ["serve", "--port", "99999"],
        ["db", "purge", "--older-than-days", "nan"],
        ["db", "purge", "--older-than-days", "1e12"],
        ["batch", "DATA", "--out", "FILE"],
        ["report", "DATA", "--out", "DATA"],
        ["report", "DATA", "--least", "-1"],
    ],
)
def test_bad_values_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    (tmp_path / "FILE").write_text("not a folder")
    (tmp_path / "DATA").mkdir()
    names = {"FILE": str(tmp_path / "FILE"), "DATA": str(tmp_path / "DATA"), "OUT": str(tmp_path / "OUT")}
    with pytest.raises(SystemExit) as exit_info:
        main([names.get(arg, arg) for arg in argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "Traceback" not in err
    assert len(err.splitlines()[-1]) < 200  # one short line, not every allowed value
    assert not (tmp_path / "OUT").exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["batch", "DATA", "--out", "OUT", "--batch-size", "abc"], "--batch-size: must be a whole number"),
        (["serve", "--workers", "x"], "--workers: must be a whole number"),
        (["train", "DATA", "--out", "OUT", "--epochs", "2.5"], "--epochs: must be a whole number"),
        (["prepare-data", "--out", "OUT", "--workers", "two"], "--workers: must be a whole number"),
        (["batch", "DATA", "--out", "OUT", "--min-confidence", "abc"], "--min-confidence: must be a number"),
        (["batch", "DATA", "--out", "OUT", "--min-confidence", "1.5"], "--min-confidence: must be in [0, 1]"),
    ],
)
def test_a_bad_number_is_named_in_words_not_by_the_parser_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    """argparse words a ValueError from a type function as "invalid <function name> value":
    users read "invalid positive_int value: 'abc'" and "invalid _probability value: 'abc'"."""
    (tmp_path / "DATA").mkdir()
    names = {"DATA": str(tmp_path / "DATA"), "OUT": str(tmp_path / "OUT")}
    with pytest.raises(SystemExit) as exit_info:
        main([names.get(arg, arg) for arg in argv])
    assert exit_info.value.code == 2
    [line] = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert expected in line, line
    assert "positive_int" not in line and "_probability" not in line


def test_an_output_file_under_a_file_says_so(tmp_path: Path) -> None:
    """`capsight report DIR --out photo.jpg/r.html` said "folder photo.jpg does not exist" of a file
    that does exist: the path names a file where a folder must be."""
    (tmp_path / "photo.jpg").write_bytes(b"x")
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        output_file(str(tmp_path / "photo.jpg" / "r.html"))
    assert str(refused.value) == f"{tmp_path / 'photo.jpg'} is a file, not a folder"


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("https://example.com/a.jpg", "download it first"),
        ("s3://bucket/a.jpg", "capsight batch reads s3://"),
    ],
)
def test_capsight_classify_refuses_a_url_naming_it_as_typed(
    capsys: pytest.CaptureFixture[str], url: str, hint: str
) -> None:
    """`capsight classify https://example.com/a.jpg` said "https:/example.com/a.jpg: no such file": the
    URL mangled (a Path folds '//') and no word that classify reads local files only."""
    with pytest.raises(SystemExit) as exit_info:
        main(["classify", url])
    assert exit_info.value.code == 2
    [line] = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert f"argument IMG: {url} is a URL: capsight classify reads local files" in line, line
    assert hint in line
