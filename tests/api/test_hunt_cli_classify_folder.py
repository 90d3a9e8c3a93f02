"""``capsight classify photos/`` (a folder where files were expected) says what to run instead of
"cannot read: Is a directory", and still answers the files beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_a_folder_points_to_capsight_batch(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    image = tmp_path / "a.jpg"
    image.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    assert main(["classify", str(photos), str(image), "--model", str(colour_model_dir)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{image}: opened (")
    assert (
        f"capsight: error: {photos}: is a folder: classify a folder with capsight batch {photos} --out DIR"
        in (captured.err)
    )
    assert main(["classify", "--json", str(photos), "--model", str(colour_model_dir)]) == 1
    assert json.loads(capsys.readouterr().out)[0]["error"].startswith("is a folder: ")


def test_the_suggested_command_quotes_the_folder(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "my photos"
    photos.mkdir()
    assert main(["classify", str(photos), "--model", str(colour_model_dir)]) == 1
    assert f"capsight batch '{photos}' --out DIR" in capsys.readouterr().err
