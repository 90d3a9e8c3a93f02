"""``capsight classify`` of a photo over the pixel limit (a 108- or 200-megapixel phone mode, a
stitched panorama) said "the limit is 50000000 pixels" and nothing else: the command reads the limit
from CAPSIGHT_MAX_PIXELS, and the line now names it, so the user can classify their own large photo."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from capsight.cli import main


@pytest.fixture
def big_photo(tmp_path: Path) -> Path:
    path = tmp_path / "panorama.png"
    Image.new("L", (400, 300)).save(path)  # 120,000 pixels: over the limit set below
    return path


def test_the_pixel_limit_error_names_the_setting(
    colour_model_dir: Path,
    big_photo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", "100000")
    assert main(["classify", str(big_photo), "--model", str(colour_model_dir)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        f"capsight: error: {big_photo}: Image has 400x300 pixels (0.12 megapixels); "
        "the limit is 0.1 megapixels. Set CAPSIGHT_MAX_PIXELS (now 100000) higher to classify it."
    )
    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", "200000")  # what the line says to do
    assert main(["classify", str(big_photo), "--model", str(colour_model_dir)]) == 0
    assert capsys.readouterr().out.startswith(f"{big_photo}: ")
