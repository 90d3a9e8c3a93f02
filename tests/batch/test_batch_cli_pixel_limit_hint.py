"""``capsight batch`` over photos above the pixel limit (a 108-megapixel phone mode, panoramas):
each became an error row "ImageTooLarge: ... the limit is 50000000 pixels" and the run's last lines
said to rerun with --retry-errors, which failed them again. The limit is CAPSIGHT_MAX_PIXELS; the
run now says how many images it refused for it and that setting it higher lets them through."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_the_summary_names_the_setting_that_refused_large_images(
    colour_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("pano-1.png", "pano-2.png"):
        Image.new("RGB", (400, 300), LABEL_COLOURS["closed"]).save(photos / name)  # 120,000 pixels
    (photos / "small.jpg").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    argv = ["batch", str(photos), "--out", str(tmp_path / "out"), "--model", str(colour_model_dir)]
    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", "100000")
    assert main([*argv, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "3 errors" in out
    hints = [line for line in out.splitlines() if "CAPSIGHT_MAX_PIXELS" in line]
    assert len(hints) == 1 and hints[0].startswith(
        "2 of them have more pixels than CAPSIGHT_MAX_PIXELS (100000)"
    )
    monkeypatch.setenv("CAPSIGHT_MAX_PIXELS", "200000")  # what the hint says to do
    assert main([*argv, "--no-progress", "--retry-errors"]) == 0
    out = capsys.readouterr().out
    assert "(background 0, closed 2, opened 1; 1 error)" in out and "CAPSIGHT_MAX_PIXELS" not in out


def test_no_hint_without_such_errors(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    argv = ["batch", str(photos), "--out", str(tmp_path / "out"), "--model", str(colour_model_dir)]
    assert main([*argv, "--no-progress"]) == 3  # its only image failed (test_batch_exit_codes.py)
    out = capsys.readouterr().out
    assert "1 error" in out and "CAPSIGHT_MAX_PIXELS" not in out
