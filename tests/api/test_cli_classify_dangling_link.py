"""``capsight classify`` given a symbolic link whose photo was moved or deleted (``ls`` lists it, so
the user sees a file) said only "no such file". ``capsight batch`` says "A symbolic link to TARGET,
which does not exist." for the same link; classify now says the same, from the same place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_a_dangling_link_is_said_to_be_one(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "latest.jpg"
    link.symlink_to(tmp_path / "moved away" / "IMG_0001.jpg")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    assert main(["classify", str(link), str(photo), "--model", str(colour_model_dir)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{photo}: opened (")
    target = tmp_path / "moved away" / "IMG_0001.jpg"
    assert f"capsight: error: {link}: A symbolic link to {target}, which does not exist." in captured.err


def test_a_missing_file_is_still_no_such_file(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "gone.jpg"
    assert main(["classify", str(missing), "--json", "--model", str(colour_model_dir)]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [{"path": str(missing), "error": "no such file"}]
