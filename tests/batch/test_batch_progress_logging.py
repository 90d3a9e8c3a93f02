"""A warning logged while the terminal bar is shown (a --sort copy that fails, an S3 object that
cannot be read) must get a line of its own, not be glued onto the end of the bar."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from capsight.batch.options import BatchProgress
from capsight.batch.progress import BatchProgressView


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_warning_during_the_bar_starts_a_line_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = _Terminal()
    monkeypatch.setattr(sys, "stderr", tty)  # what the CLI's logging.basicConfig writes to
    handler = logging.StreamHandler(tty)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        bar = BatchProgressView(tty)
        bar(BatchProgress(0, 10, 0, 0))
        bar(BatchProgress(4, 10, 0, 0))
        logging.getLogger("capsight.batch.sorting").warning("cannot copy a.jpg: disk full")
        bar(BatchProgress(10, 10, 0, 0))
        bar.close()
        assert handler in root.handlers  # the console handler is the CLI's again after the bar
    finally:
        root.removeHandler(handler)

    text = tty.getvalue()
    at = text.index("WARNING cannot copy a.jpg: disk full")
    # What the terminal shows before the message on its line: after the last \r, only blanks.
    shown_before = text[:at].split("\n")[-1].split("\r")[-1]
    assert shown_before.strip() == "", f"the warning was glued onto the bar: {shown_before!r}"
    assert "10/10" in text[at:]  # the bar is drawn again below the warning
