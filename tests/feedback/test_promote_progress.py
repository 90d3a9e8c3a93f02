"""``capsight promote --data`` scores both models on every photo: on a big folder, minutes without a
word. On a terminal it now draws one progress bar on stderr over both models' scoring (photos
scored of twice the photos); off a terminal stderr stays as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from test_promote_trained_photos import OPENED_AS_CLOSED, RIGHT, _photos

from model_factory import build_colour_model
from terminal_run import stderr_on_a_terminal


def _argv(tmp_path: Path) -> list[str]:
    _photos(tmp_path / "photos")  # 6 photos
    served = build_colour_model(tmp_path / "served", version="v1", weight=OPENED_AS_CLOSED)
    candidate = build_colour_model(tmp_path / "candidate", version="v2", weight=RIGHT)
    cli = [sys.executable, "-m", "capsight.cli", "promote", str(candidate), "--to", str(served)]
    return [*cli, "--data", str(tmp_path / "photos"), "--dry-run"]


def test_a_terminal_gets_one_bar_over_both_models(tmp_path: Path) -> None:
    status, stdout, drawn = stderr_on_a_terminal(_argv(tmp_path))
    assert status == 0, drawn
    assert b"/12" in drawn and b"photo" in drawn, drawn  # 6 photos, twice
    assert b"candidate is better" in stdout


def test_the_total_counts_the_photos_not_their_sidecars(tmp_path: Path) -> None:
    # A sidecar beside each photo (.xmp): the bar's total counted them, twice: 24 for 12 scorings.
    argv = _argv(tmp_path)
    for photo in list((tmp_path / "photos").rglob("*.jpg")):
        photo.with_suffix(".xmp").write_text("<x:xmpmeta/>\n")
    status, stdout, drawn = stderr_on_a_terminal(argv)
    assert status == 0, drawn
    assert b"/12 " in drawn and b"/24" not in drawn, drawn  # 6 photos, twice
    assert b"candidate is better" in stdout


def test_off_a_terminal_stderr_has_no_bar(tmp_path: Path) -> None:
    done = subprocess.run(_argv(tmp_path), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "/12" not in done.stderr
