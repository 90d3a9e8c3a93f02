"""Progress off a terminal (a log file, a pipe, CI): whole lines, never a bar redrawn with ``\\r``."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from batch_helpers import ImageFolder

from capsight.batch.options import BatchProgress
from capsight.batch.progress import BatchProgressView


def test_batch_into_a_pipe_prints_whole_lines(
    image_folder: ImageFolder, colour_model_dir: Path, tmp_path: Path
) -> None:
    cmd = [sys.executable, "-m", "capsight", "batch", str(image_folder.root), "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [*cmd, "--model", str(colour_model_dir), "--batch-size", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "\r" not in done.stderr
    total = image_folder.total
    last = done.stderr.splitlines()[-1]
    assert len(image_folder.errors) == 2  # broken.jpg, empty.png; nested/notes.txt is skipped
    assert last.startswith(f"{total}/{total} images (100%), 2 errors, ") and last.endswith(" img/s")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_still_gets_the_bar_and_a_log_a_line_per_interval() -> None:
    tty = _Terminal()
    bar = BatchProgressView(tty)
    for done in (0, 5, 10):
        bar(BatchProgress(done, 10, 0, 0))
    bar.close()
    assert "\r" in tty.getvalue() and "10/10" in tty.getvalue()

    log = io.StringIO()
    lines = BatchProgressView(log, interval_s=3600)
    for done in (0, 5, 10):
        lines(BatchProgress(done, 10, 1, 0))
    lines.close()
    printed = log.getvalue().splitlines()
    assert [line.split(",")[0] for line in printed] == ["0/10 images (0%)", "10/10 images (100%)"]


def test_the_progress_line_counts_one_error_in_the_singular() -> None:
    log = io.StringIO()
    lines = BatchProgressView(log, interval_s=3600)
    lines(BatchProgress(0, 2, 0, 0))
    lines(BatchProgress(2, 2, 1, 0))
    lines.close()
    first, last = log.getvalue().splitlines()
    assert first.startswith("0/2 images (0%), 0 errors, ")
    assert last.startswith("2/2 images (100%), 1 error, ")


def test_a_rerun_with_nothing_left_does_not_read_as_stalled() -> None:
    """A rerun whose images all have results from an earlier run printed "718/718 images (100%),
    8 errors, 0.0 img/s" off a terminal, a stalled run to whoever reads the log, beside the summary
    that says "all from an earlier run"."""
    log = io.StringIO()
    lines = BatchProgressView(log, interval_s=3600)
    lines(BatchProgress(718, 718, 8, 718))
    lines.close()
    assert log.getvalue().splitlines() == ["718/718 images (100%), 8 errors, all from an earlier run"]


def test_an_empty_inbox_does_not_read_as_stalled() -> None:
    """An inbox run (--sort move) that finds nothing logged "0/0 images (100%), 0 errors, 0.0 img/s"
    each time, a stalled run to whoever reads the log, beside the summary's "nothing to classify"."""
    log = io.StringIO()
    lines = BatchProgressView(log, interval_s=3600)
    lines(BatchProgress(0, 0, 0, 0))
    lines.close()
    assert log.getvalue().splitlines() == ["0/0 images, nothing to classify"]
