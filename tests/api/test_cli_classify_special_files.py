"""``capsight classify`` given a named pipe (``capsight classify inbox/*`` over a folder holding one):
``open`` of a FIFO waits for a writer that never comes, so the command hung for ever, without a line
for the photos before or after it. ``capsight batch`` refused such files already; classify now gives
the pipe an error line, exit 1, and answers the other files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from model_factory import LABEL_COLOURS, solid_image_bytes


def test_a_named_pipe_is_an_error_line_not_a_hang(colour_model_dir: Path, tmp_path: Path) -> None:
    pipe = tmp_path / "a-pipe"
    os.mkfifo(pipe)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    cmd = [
        sys.executable,
        "-m",
        "capsight",
        "classify",
        str(pipe),
        str(photo),
        "--model",
        str(colour_model_dir),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith(f"{photo}: opened (")
    assert f"capsight: error: {pipe}: Not a regular file" in done.stderr
