"""The closing lines of ``capsight batch`` count one image in the singular.

Found in review: a run over one photo closed with "1 images (...)", and one photo over the pixel
limit was "1 of them have more pixels than CAPSIGHT_MAX_PIXELS".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_one_image_and_one_too_large_are_counted_in_the_singular(
    colour_model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG", size=(64, 48)))
    args = ["batch", str(photos), "--out", str(tmp_path / "out"), "--model", str(colour_model_dir)]
    assert main([*args, "--no-progress"]) == 0
    assert capsys.readouterr().out.startswith("1 image (background 0, closed 1, opened 0; 0 errors) in ")

    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", "1000")
    (photos / "b.png").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG", size=(64, 48)))
    assert main([*args, "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "1 of them has more pixels than CAPSIGHT_MAX_PIXELS (1000);" in printed, printed
