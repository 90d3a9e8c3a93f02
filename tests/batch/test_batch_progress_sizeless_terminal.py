"""A terminal that does not know its size (0x0) still gets a bar.

Found in review: under ``docker exec -t``, ``kubectl exec -t`` and other ptys nobody sized, the
terminal reports 0 columns and 0 rows; tqdm then drew nothing: a run of the 710 shared photos
showed no progress at all until its closing line. It is drawn 80 columns wide there instead.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from pathlib import Path

from batch_helpers import ImageFolder


def _run_on_a_pty(argv: list[str], rows: int, columns: int) -> tuple[int, str]:
    """Run ``argv`` with a terminal of that size as its stdin, stdout and stderr; its exit status and
    all it wrote there."""
    pid, master = pty.fork()
    if pid == 0:  # the child: the terminal is sized before the program starts
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        os.execv(argv[0], argv)
    out = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(master)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def _batch(folder: ImageFolder, out: Path, model: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "capsight",
        "batch",
        str(folder.root),
        "--out",
        str(out),
        "--model",
        str(model),
    ]


def test_a_terminal_of_no_size_still_shows_the_bar(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path
) -> None:
    code, drawn = _run_on_a_pty(_batch(image_folder, tmp_path / "out", colour_model_dir), 0, 0)
    total = image_folder.total
    assert code == 0, drawn
    assert f"{total}/{total}" in drawn and "errors=2" in drawn, repr(drawn)
    bar_lines = [line for line in drawn.replace("\r", "\n").split("\n") if "img/s" in line]
    assert bar_lines and max(len(line) for line in bar_lines) <= 80, bar_lines


def test_a_sized_terminal_gets_a_bar_of_its_width(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path
) -> None:
    code, drawn = _run_on_a_pty(_batch(image_folder, tmp_path / "out", colour_model_dir), 30, 100)
    assert code == 0, drawn
    assert f"{image_folder.total}/{image_folder.total}" in drawn, repr(drawn)
