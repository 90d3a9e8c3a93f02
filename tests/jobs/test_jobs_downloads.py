"""URL downloads against a server that drips: the time limit and a cancel must still bite."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from capsight.jobs.allowlist import Allowlist
from capsight.jobs.downloads import DownloadLimits, download_all
from local_http import local_http_server


class _Drip(BaseHTTPRequestHandler):
    """Promises 1000 bytes and sends one every 0.1 s (a slow-loris image host)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:  # the client gave up: what the test wants
            pass


@pytest.fixture()
def drip() -> Iterator[ThreadingHTTPServer]:
    with local_http_server(_Drip, hits=0) as server:
        yield server


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/slow.jpg"


def test_a_dripping_server_hits_the_total_time_limit(drip: ThreadingHTTPServer, tmp_path: Path) -> None:
    limits = DownloadLimits(max_bytes=10_000, read_timeout=5.0, total_timeout=1.0)
    started = time.monotonic()
    report = download_all(
        [_url(drip)], tmp_path / "in", tmp_path / "m.jsonl", Allowlist([_url(drip)]), limits
    )
    assert time.monotonic() - started < 20.0  # not until the 1000 bytes arrived (100 s)
    assert report.errors == [(_url(drip), "DownloadError: took longer than 1 s")]


def test_a_cancel_stops_a_download_in_flight(drip: ThreadingHTTPServer, tmp_path: Path) -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    limits = DownloadLimits(max_bytes=10_000, read_timeout=5.0, total_timeout=60.0)
    started = time.monotonic()
    report = download_all(
        [_url(drip)], tmp_path / "in", tmp_path / "m.jsonl", Allowlist([_url(drip)]), limits, cancel=cancel
    )
    assert time.monotonic() - started < 20.0  # the drip alone would take 100 s
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
