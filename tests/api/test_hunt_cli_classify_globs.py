"""``capsight classify 'photos/*.jpg'``: a pattern the shell did not expand (quoted in a script,
Windows' cmd and PowerShell, a container's exec-form command) was taken as one file name and
answered "no such file". Like ``capsight batch``, classify expands it; a name that exists is
always that file, wildcards or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_an_unexpanded_pattern_is_expanded_in_order(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, label in (("b.jpg", "opened"), ("a.jpg", "closed"), ("c.png", "background")):
        (tmp_path / name).write_bytes(solid_image_bytes(LABEL_COLOURS[label]))
    assert main(["classify", "--json", str(tmp_path / "*.jpg"), "--model", str(colour_model_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [(r["path"], r["label"]) for r in result] == [
        (str(tmp_path / "a.jpg"), "closed"),
        (str(tmp_path / "b.jpg"), "opened"),
    ]


def test_a_pattern_matching_nothing_says_so(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["classify", str(tmp_path / "*.gif"), "--model", str(colour_model_dir)]) == 1
    assert f"capsight: error: {tmp_path / '*.gif'}: no file matches" in capsys.readouterr().err


def test_a_file_named_with_a_wildcard_is_that_file(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / "shot[1].jpg"
    odd.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    (tmp_path / "shot1.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"]))
    assert main(["classify", str(odd), "--model", str(colour_model_dir)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{odd}: opened (1.000)"]
