"""Progress of ``capsight batch`` on stderr: a bar on a terminal, plain lines everywhere else.

Why two: tqdm redraws its bar with carriage returns ten times a second. Into a log file, a pipe,
``nohup`` or a CI job that is one ever-growing line (megabytes over a long run) that ``tail`` and
``grep`` cannot read. Off a terminal we print a whole line now and then instead, and always the last.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import IO, Any

from capsight.batch.options import BatchProgress

FALLBACK_SIZE = os.terminal_size((80, 24))
PLAIN_INTERVAL_S = 30.0  # one line per half minute keeps a day-long run's log short


def errors_text(count: int) -> str:
    """The count in words, "1 error" or "3 errors", for ``capsight batch``'s progress and summary."""
    return f"{count} error" if count == 1 else f"{count} errors"


def images_text(count: int) -> str:
    """The count in words, "1 image" or "3 images", for ``capsight batch``'s closing lines."""
    return f"{count} image" if count == 1 else f"{count} images"


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _is_sized(stream: IO[str]) -> bool:
    """Whether the terminal knows its size; True when it cannot be asked (tqdm decides then)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return True
    return size.columns > 0 and size.lines > 0


class BatchProgressView:
    """Called with each ``BatchProgress``; ``close()`` finishes the display (also after a Ctrl-C)."""

    def __init__(self, stream: IO[str] | None = None, *, interval_s: float = PLAIN_INTERVAL_S) -> None:
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self._terminal = _is_terminal(self.stream)
        self._bar: Any = None
        self._logs_above_bar: contextlib.ExitStack | None = None
        self._started = time.monotonic()
        self._first: BatchProgress | None = None
        self._last: BatchProgress | None = None
        self._printed: BatchProgress | None = None
        self._printed_at = 0.0

    def __call__(self, progress: BatchProgress) -> None:
        if self._terminal:
            self._draw_bar(progress)
            return
        if self._first is None:
            self._first = progress
        self._last = progress
        now = time.monotonic()
        if self._printed is None or now - self._printed_at >= self.interval_s:
            self._print_line(progress, now)

    def _draw_bar(self, progress: BatchProgress) -> None:
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        if self._bar is None:
            # A warning mid-run (a --sort copy that fails, an unreadable S3 object) was written at
            # the cursor, i.e. glued onto the end of the bar's line; through tqdm it is printed on a
            # line of its own above the bar, which is then drawn again.
            self._logs_above_bar = contextlib.ExitStack()
            self._logs_above_bar.enter_context(logging_redirect_tqdm())
            # initial= makes rate and ETA count only this run's images. A terminal nobody sized
            # (docker/kubectl exec -t) says 0x0, where tqdm draws nothing (a bar 0 wide, on no
            # row): 80x24 there.
            sized = _is_sized(self.stream)
            self._bar = tqdm(
                total=progress.total,
                initial=progress.done,
                unit="img",
                file=self.stream,
                dynamic_ncols=sized,
                ncols=None if sized else FALLBACK_SIZE.columns,
                nrows=None if sized else FALLBACK_SIZE.lines,
            )
        self._bar.update(progress.done - self._bar.n)
        self._bar.set_postfix(errors=progress.errors, refresh=False)

    def _print_line(self, progress: BatchProgress, now: float) -> None:
        if progress.total == 0:  # an empty inbox: "0.0 img/s" read as a stalled run
            self.stream.write("0/0 images, nothing to classify\n")
            self.stream.flush()
            self._printed, self._printed_at = progress, now
            return
        share = 100 * progress.done / progress.total if progress.total else 100.0
        assert self._first is not None
        elapsed = now - self._started
        rate = (progress.done - self._first.done) / elapsed if elapsed > 0 else 0.0
        # Everything done by an earlier run: "0.0 img/s" read as a stalled run.
        all_resumed = progress.total > 0 and progress.resumed >= progress.total
        speed = "all from an earlier run" if all_resumed else f"{rate:.1f} img/s"
        if self._printed is None and not all_resumed:
            # The line printed as a run starts: "0.0 img/s" there read as a stalled run, for the
            # 30 s until the next. A later line with no progress does say 0.0: then it is the truth.
            speed = (
                "starting" if not progress.resumed else f"starting ({progress.resumed} from an earlier run)"
            )
        self.stream.write(
            f"{progress.done}/{progress.total} images ({share:.0f}%), {errors_text(progress.errors)}, "
            f"{speed}\n"
        )
        self.stream.flush()
        self._printed, self._printed_at = progress, now

    def close(self) -> None:
        if self._logs_above_bar is not None:
            self._logs_above_bar.close()  # log lines go straight to their stream again
            self._logs_above_bar = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._last is not None and self._last != self._printed:
            self._print_line(self._last, time.monotonic())
