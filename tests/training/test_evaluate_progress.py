"""``capsight evaluate`` on a big folder said nothing until the scores: at about 100 photos a
second, 30,000 photos were five silent minutes in which it could as well have hung. On a terminal
it now draws a progress bar on stderr (photos scored of the total), gone once the scores print;
off a terminal (a log, a pipe, CI) stderr stays as it was: no bar, no carriage returns."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from model_factory import LABEL_COLOURS, solid_image_bytes
from terminal_run import stderr_on_a_terminal

PER_CLASS = 12


def _data(root: Path) -> Path:
    for label, colour in LABEL_COLOURS.items():
        (root / label).mkdir(parents=True)
        for i in range(PER_CLASS):
            (root / label / f"{i}.png").write_bytes(solid_image_bytes(colour, "PNG", (40 + i, 30)))
    return root


def _argv(model: Path, data: Path) -> list[str]:
    return [sys.executable, "-m", "capsight.cli", "evaluate", str(model), str(data)]


def test_a_terminal_gets_a_progress_bar(colour_model_dir: Path, tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    status, stdout, drawn = stderr_on_a_terminal(_argv(colour_model_dir, data))
    assert status == 0, drawn
    total = 3 * PER_CLASS
    assert f"/{total}".encode() in drawn and b"photo" in drawn, drawn
    assert stdout.startswith(f"n={total} ".encode())  # the scores are untouched


def test_the_total_counts_the_photos_not_their_sidecars(colour_model_dir: Path, tmp_path: Path) -> None:
    # 36 photos and a sidecar beside one: the bar said 0/37 and finished at 37 for 36 photos scored,
    # the sidecar counted and read as a photo it never was (it is counted in one line under the scores).
    data = _data(tmp_path / "data")
    (data / "closed" / "0.json").write_text('{"rating": 5}\n')
    status, stdout, drawn = stderr_on_a_terminal(_argv(colour_model_dir, data))
    assert status == 0, drawn
    total = 3 * PER_CLASS
    assert f"/{total} ".encode() in drawn and f"/{total + 1}".encode() not in drawn, drawn
    assert stdout.startswith(f"n={total} ".encode())
    assert b"1 file that is not an image (.json) left out" in stdout


def test_off_a_terminal_stderr_has_no_bar(colour_model_dir: Path, tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    done = subprocess.run(_argv(colour_model_dir, data), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and f"/{3 * PER_CLASS}" not in done.stderr


def test_log_lines_print_above_the_bar_not_onto_it(colour_model_dir: Path, tmp_path: Path) -> None:
    # With -v each skipped photo is a debug line; written at the cursor, it was glued onto the end of
    # the bar ("  0%|          | 0/37 [00:00<?, ?photo/s]2026-... DEBUG ..."). Batch prints its log
    # lines above its bar through tqdm; evaluate's bar does the same.
    data = _data(tmp_path / "data")
    (data / "closed" / "broken.jpg").write_bytes(b"not a photo")
    argv = [sys.executable, "-m", "capsight.cli", "-v", *_argv(colour_model_dir, data)[3:]]
    status, _, output = stderr_on_a_terminal(argv)  # -v writes more than a pty buffer holds
    drawn = output.decode(errors="replace")
    assert status == 0, drawn
    assert "photo" in drawn, drawn  # the bar was drawn
    logged = [line for line in drawn.split("\n") if re.search(r"\d\d:\d\d:\d\d,\d+ DEBUG ", line)]
    assert any("skipped closed/broken.jpg" in line for line in logged), drawn
    for line in logged:  # what the terminal shows of the line: after its last carriage return
        assert re.match(r"\d{4}-\d\d-\d\d ", line.rstrip("\r").rsplit("\r", 1)[-1].lstrip()), repr(line)
