"""URL downloads against a server that drips: the time limit and a cancel must still bite."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from capsight.jobs import downloads as downloads_module
from capsight.jobs.allowlist import Allowlist
from capsight.jobs.downloads import DownloadLimits, download_all
from local_http import local_http_server


class _Drip(BaseHTTPRequestHandler):
    """Promises 1000 bytes and sends one every 0.1 s (a slow-loris image host). Staged cancel: the
    server's ``cancel`` event is set just before byte ``cancel_at`` is sent, and the rest of the body
    is held back until the test ends (``release``): only a download that stops at the cancel ends well."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server: Any = self.server
        server.hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for sent in range(1, 1001):
                if sent == server.cancel_at:
                    server.cancel.set()
                self.wfile.write(b"x")
                self.wfile.flush()
                if sent == server.cancel_at:
                    server.release.wait(60)
                else:
                    time.sleep(0.1)
        except OSError:  # the client gave up: what the test wants
            pass


@pytest.fixture()
def drip() -> Iterator[ThreadingHTTPServer]:
    release = threading.Event()
    with local_http_server(
        _Drip, hits=0, cancel=threading.Event(), cancel_at=None, release=release
    ) as server:
        try:
            yield server
        finally:
            release.set()


class _Clock:
    """The downloads' clock: each read moves it on 0.25 s and is counted, so the total time limit
    is crossed at a known read, whatever the machine's load: staged, not timed."""

    def __init__(self) -> None:
        self.now, self.reads = 1000.0, 0

    def monotonic(self) -> float:
        self.reads += 1
        self.now += 0.25
        return self.now - 0.25


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/slow.jpg"


def test_a_dripping_server_hits_the_total_time_limit(
    drip: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    monkeypatch.setattr(downloads_module, "time", clock)
    limits = DownloadLimits(max_bytes=10_000, read_timeout=5.0, total_timeout=1.0)
    report = download_all(
        [_url(drip)], tmp_path / "in", tmp_path / "m.jsonl", Allowlist([_url(drip)]), limits
    )
    assert report.errors == [(_url(drip), "DownloadError: took longer than 1 s")]
    # The deadline (start + 1 s), then one look at the clock for each piece of the body as it came:
    # the 5th piece was past it (1.25 s). Not after the 1000 bytes arrived (100 s of drip).
    assert clock.reads == 1 + 5


def test_a_cancel_stops_a_download_in_flight(drip: ThreadingHTTPServer, tmp_path: Path) -> None:
    cancel: threading.Event = drip.cancel  # type: ignore[attr-defined]
    drip.cancel_at = 3  # type: ignore[attr-defined]  # the cancel comes with byte 3 of 1000
    # One try: a download that reads on past the cancel gets no more bytes, and its ReadTimeout is
    # an error row, not retried (the retry's wait would end with the cancel and hide it).
    limits = DownloadLimits(max_bytes=10_000, read_timeout=5.0, total_timeout=60.0, attempts=1)
    report = download_all(
        [_url(drip)], tmp_path / "in", tmp_path / "m.jsonl", Allowlist([_url(drip)]), limits, cancel=cancel
    )
    # No outcome: neither an error row nor a manifest line, so a resumed job fetches it again.
    assert not report.complete and report.files == {} and report.errors == []
    assert (tmp_path / "m.jsonl").read_text() == ""


def test_a_job_cancelled_before_it_ran_fetches_nothing(drip: ThreadingHTTPServer, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    limits = DownloadLimits(max_bytes=10_000)
    report = download_all(
        [_url(drip)], tmp_path / "in", tmp_path / "m.jsonl", Allowlist([_url(drip)]), limits, cancel=cancel
    )
    assert not report.complete and report.files == {} and report.errors == []
    assert drip.hits == 0  # type: ignore[attr-defined]
