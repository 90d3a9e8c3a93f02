"""The first progress line of a run off a terminal (a log, CI) does not read as a stalled run.

Found in review: every run logged "0/710 images (0%), 0 errors, 0.0 img/s" as it started, and the
next line came 30 s later; a log reader saw a run at a standstill. (The empty inbox and the rerun
with nothing left had been fixed alike.) The first line says "starting" instead; a later line with
no progress still says 0.0 img/s, which then is the truth.
"""

from __future__ import annotations

import io

from capsight.batch.options import BatchProgress
from capsight.batch.progress import BatchProgressView


def test_the_first_line_says_starting_and_a_later_standstill_is_still_shown() -> None:
    log = io.StringIO()
    lines = BatchProgressView(log, interval_s=0.0)
    lines(BatchProgress(0, 710, 0, 0))
    lines(BatchProgress(0, 710, 0, 0))  # nothing done since: now it is a standstill
    lines.close()
    first, second = log.getvalue().splitlines()
    assert first == "0/710 images (0%), 0 errors, starting"
    assert second == "0/710 images (0%), 0 errors, 0.0 img/s"


def test_a_resumed_run_starts_with_what_an_earlier_run_did() -> None:
    log = io.StringIO()
    lines = BatchProgressView(log, interval_s=3600)
    lines(BatchProgress(192, 710, 3, 192))
    lines.close()
    assert log.getvalue().splitlines() == [
        "192/710 images (27%), 3 errors, starting (192 from an earlier run)"
    ]
