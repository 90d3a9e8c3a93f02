"""``-v`` was a flag of ``capsight`` alone: ``capsight evaluate MODEL DATA -v``, where most tools take
it, was refused ("unrecognized arguments: -v", exit 2) after nothing was done. Every command (and each
action of ``keys``, ``db``, ``feedback``) takes it too, as the same switch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from capsight.cli import build_parser
from model_factory import LABEL_COLOURS, solid_image_bytes


def test_evaluate_takes_v_after_its_arguments(colour_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for label, colour in LABEL_COLOURS.items():
        (data / label).mkdir(parents=True)
        (data / label / "a.jpg").write_bytes(solid_image_bytes(colour))
    (data / "closed" / "broken.jpg").write_bytes(b"not a photo")
    argv = [sys.executable, "-m", "capsight.cli", "evaluate", str(colour_model_dir), str(data), "-v"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "DEBUG capsight.training.evaluate: skipped closed/broken.jpg" in done.stderr


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [
        (["classify", "a.jpg"], False),
        (["-v", "classify", "a.jpg"], True),
        (["classify", "a.jpg", "-v"], True),
        (["classify", "--verbose", "a.jpg"], True),
        (["-v", "keys", "list"], True),
        (["keys", "list", "-v"], True),
        (["db", "status", "--verbose"], True),
        (["feedback", "export", "--out", "x", "-v"], True),
        (["promote", "cand", "--to", "served", "--force", "-v"], True),
    ],
)
def test_v_is_one_switch_wherever_it_is_given(argv: list[str], verbose: bool) -> None:
    assert build_parser().parse_args(argv).verbose is verbose
