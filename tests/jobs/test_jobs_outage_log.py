"""The job loops report a database outage with one traceback, then a line a minute, then its end
(each retry logged a full traceback: 586 lines in 20 s from two loops)."""

from __future__ import annotations

import logging

import pytest

from capsight.jobs.outagelog import OutageLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(log: OutageLog) -> None:
    try:
        raise ConnectionRefusedError("connection to server at 10.0.0.5 port 5432 failed\nIs it running?")
    except ConnectionRefusedError:
        log.failed()


def test_one_traceback_per_outage_then_a_line_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = OutageLog(logging.getLogger("capsight.jobs.test"), "the job queue", clock=clock)
    with caplog.at_level(logging.INFO, logger="capsight.jobs.test"):
        for _ in range(26):  # every 5 s for 125 s, as the worker loop retries
            _fail(log)
            clock.now += 5
        log.succeeded()
        log.succeeded()  # nothing more to say
        _fail(log)  # a new outage: its own traceback
    records = caplog.records
    with_traceback = [r for r in records if r.exc_info]
    assert len(with_traceback) == 2
    assert [r.getMessage() for r in records[1:3]] == [
        "the job queue: the database is still unavailable after 60 s (13 failures: "
        "connection to server at 10.0.0.5 port 5432 failed); retrying",
        "the job queue: the database is still unavailable after 120 s (25 failures: "
        "connection to server at 10.0.0.5 port 5432 failed); retrying",
    ]
    assert records[3].getMessage() == "the job queue: the database is reachable again after 130 s"
    assert len(records) == 5
