"""A progress bar for ``capsight evaluate`` and ``promote``'s scoring, on a terminal only.

Why: scoring runs at about 100 photos a second, so a folder of 30,000 was minutes without a word.
Off a terminal (a log, a pipe, CI) nothing is drawn: a bar's carriage returns make one endless line
there, and the scores that follow say it finished.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

FALLBACK_COLUMNS, FALLBACK_ROWS = 80, 24


def _is_sized(stream: IO[str]) -> bool:
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return True  # it cannot be asked: tqdm decides
    return size.columns > 0 and size.lines > 0


@contextmanager
def scoring_progress(total: int, stream: IO[str] | None = None) -> Iterator[Callable[[int], None] | None]:
    """Yields a callback taking how many photos are done (None off a terminal); the bar is cleared on
    the way out, also after Ctrl-C, so the scores print on a clean line."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    if stream is None or not (isatty and isatty()) or total <= 0:
        yield None
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    # A terminal nobody sized (docker/kubectl exec -t) says 0x0, where tqdm draws nothing: 80x24.
    sized = _is_sized(stream)
    bar = tqdm(
        total=total,
        unit="photo",
        file=stream,
        leave=False,
        dynamic_ncols=sized,
        ncols=None if sized else FALLBACK_COLUMNS,
        nrows=None if sized else FALLBACK_ROWS,  # 0 rows: tqdm has no row to draw on
    )

    def update(done: int) -> None:
        bar.update(done - bar.n)

    try:
        # As batch's bar does: a log line (-v's debug lines, a warning) was written at the cursor, on
        # the end of the bar's line; through tqdm it prints on a line of its own above the bar.
        with logging_redirect_tqdm():
            yield update
    finally:
        bar.close()
