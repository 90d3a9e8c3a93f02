"""Labels are the user's folder names ("猫", "✓ ok"): the CLI prints them whatever the output's encoding."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from model_factory import build_colour_model, solid_image_bytes


def test_a_label_the_output_encoding_cannot_show_is_escaped_not_a_traceback(tmp_path: Path) -> None:
    # Redirected to a file on Windows, stdout is cp1252: printing "猫" raised UnicodeEncodeError after
    # the work was done (classify, evaluate's table), and the answer was lost.
    model = build_colour_model(tmp_path / "model", labels=("猫", "犬 ✓", "café"), name="pets")
    photo = tmp_path / "red.png"
    photo.write_bytes(solid_image_bytes((230, 20, 20), "PNG"))
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    done = subprocess.run(
        [sys.executable, "-m", "capsight", "classify", "--model", str(model), str(photo)],
        env=env,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr.decode("cp1252", "replace")
    assert done.stdout.decode("cp1252").startswith(f"{photo}: \\u732b (")
