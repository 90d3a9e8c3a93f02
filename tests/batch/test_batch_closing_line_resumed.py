"""The closing line of a resumed ``capsight batch`` says how many images this run classified.

Found walking README as a new user: an interrupted run over 600 photos, run again, closed with
"600 images (...; 0 errors) in 4.5 s, 77.0 images/s": 600 images in 4.5 s is 133 a second, and
nothing said that 256 of them had come from the interrupted run (the rate was this run's 344).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from capsight.cli import main
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_a_resumed_run_counts_this_runs_images_apart_from_the_earlier_ones(
    colour_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(solid_image_bytes(LABEL_COLOURS["closed"], "PNG"))
    args = ["batch", str(photos), "--out", str(tmp_path / "out"), "--model", str(colour_model_dir)]
    assert main([*args, "--no-progress"]) == 0
    first = capsys.readouterr().out
    assert "earlier run" not in first, first  # nothing was resumed: the line stays as it was

    # Two new photos join the one the first run did: this run classifies 2 and resumes 1.
    (photos / "b.png").write_bytes(solid_image_bytes(LABEL_COLOURS["opened"], "PNG"))
    (photos / "c.png").write_bytes(solid_image_bytes(LABEL_COLOURS["background"], "PNG"))
    assert main([*args, "--no-progress"]) == 0
    closing = capsys.readouterr().out.splitlines()[0]
    assert closing.startswith("3 images (background 1, closed 1, opened 1; 0 errors) in "), closing
    assert "images/s (2 classified now, 1 from an earlier run) -> " in closing, closing
