"""A webhook receiver's ``Retry-After`` (on 429 or 503) is waited for before the next try.

Why: the retries came 1, 2, 4 and 8 s apart whatever the receiver asked: one that answered 429 with
``Retry-After: 30`` (rate limited) was asked four more times within 15 s, refused each time, and the
delivery ended "failed", never to be sent again, though the receiver had said when to come back.
The wait is capped (``MAX_RETRY_AFTER_S``); a shutdown still cuts it short (the delivery stays
pending for the next start).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from jobs_helpers import WEBHOOK_SECRET

from capsight.jobs.webhook import MAX_RETRY_AFTER_S, RetryPolicy, deliver
from local_http import local_http_server


class _Busy(BaseHTTPRequestHandler):
    """Answers the first POST with the server's ``first`` status and ``retry_after``, then 200."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        server: Any = self.server
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        server.times.append(time.monotonic())
        first = len(server.times) == 1
        self.send_response(server.first if first else 200)
        if first:
            self.send_header("Retry-After", server.retry_after)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def busy() -> Iterator[Any]:
    with local_http_server(_Busy, times=[]) as server:
        yield server


class _StopDuringWait(threading.Event):
    """The delivery's stop event: the shutdown comes during the first wait between tries. The wait
    asked for is recorded, none is waited: staged, not timed."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        self.set()
        return True


class _RecordedWaits(threading.Event):
    """A stop event that is never set: each wait between tries is recorded and returns at once, so
    the wait asked for is checked without being waited (staged, not timed)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return False


def _deliver(server: Any, stop: threading.Event | None = None) -> Any:
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with httpx.Client(trust_env=False) as client:
        return deliver(
            client,
            url,
            b"{}",
            WEBHOOK_SECRET,
            RetryPolicy(attempts=3, base_delay=0.01),
            stop or threading.Event(),
        )


@pytest.mark.parametrize("status", [429, 503])
def test_the_next_try_waits_as_long_as_the_receiver_asked(busy: Any, status: int) -> None:
    busy.first, busy.retry_after = status, "2"
    stop = _RecordedWaits()
    result = _deliver(busy, stop)
    assert result.delivered and result.attempts == 2 and result.status_code == 200
    assert len(busy.times) == 2
    assert stop.waits == [2.0], stop.waits  # not the policy's 0.01 s


def test_a_date_is_read_too(busy: Any) -> None:
    busy.first = 429
    busy.retry_after = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 3))
    stop = _RecordedWaits()
    result = _deliver(busy, stop)
    assert result.delivered and result.attempts == 2 and len(busy.times) == 2
    [waited] = stop.waits
    assert waited is not None and 1.0 <= waited <= 3.0, waited  # the date has whole seconds: 2-3 s ahead


def test_a_huge_wait_is_capped_and_a_shutdown_still_cuts_it_short(busy: Any) -> None:
    assert 10 <= MAX_RETRY_AFTER_S <= 600
    busy.first, busy.retry_after = 503, "86400"
    stop = _StopDuringWait()
    result = _deliver(busy, stop)
    assert stop.waits == [MAX_RETRY_AFTER_S]  # capped, not a day; waited on the stop event
    assert result.interrupted and not result.delivered and len(busy.times) == 1


def test_a_retry_after_on_a_final_answer_changes_nothing(busy: Any) -> None:
    busy.first, busy.retry_after = 410, "2"
    result = _deliver(busy)
    assert not result.delivered and result.attempts == 1 and result.error == "HTTP 410 (not retried)"
