"""``capsight classify x.jpg >&-``: standard output closed (a service unit or cron line that closes
it, a script that ran ``exec >&-``). Python then prints into nothing: the answers were lost and the
command said exit 0. An output it cannot write (``> /dev/full``) was exit 1 already; a closed one is
too, with one line on stderr, before the model is loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from model_factory import LABEL_COLOURS, solid_image_bytes


def _close_stdout() -> None:
    """In the child, before capsight starts: ``capsight ... >&-``."""
    os.close(1)


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_closed_stdout_is_an_error(json_flag: list[str], colour_model_dir: Path, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    cmd = [
        sys.executable,
        "-m",
        "capsight",
        "classify",
        str(photo),
        "--model",
        str(colour_model_dir),
        *json_flag,
    ]
    done = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, timeout=60, preexec_fn=_close_stdout)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert lines == [
        "capsight: error: standard output is closed: the answers would be lost (redirect it to a file)"
    ], lines


def test_an_open_stdout_still_gets_the_answers(colour_model_dir: Path, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(solid_image_bytes(LABEL_COLOURS["opened"]))
    cmd = [sys.executable, "-m", "capsight", "classify", str(photo), "--model", str(colour_model_dir)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{photo}: opened (")
