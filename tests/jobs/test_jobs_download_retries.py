"""A download answered 429, 502, 503 or 504 is tried again (3 tries, 1 s then 2 s apart).

Why: every download had one try, so an image host that throttles (429) or a CDN edge that hiccups
(503) for a moment made an error row of each image asked meanwhile, and a job of 100,000 URLs
"succeeded" with hundreds of them, the client left to find and send them again. Other answers
(404, 403, a redirect) are final at once, as before, and so are refused or unreachable hosts.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import JobApp, image, wait_for_job

from capsight.jobs import execution
from capsight.jobs.allowlist import Allowlist
from capsight.jobs.downloads import DownloadLimits, download_all
from local_http import local_http_server

BODY = image("closed")


class _Flaky(BaseHTTPRequestHandler):
    """``/<status>/<n>/name``: answers ``status`` to the first ``n`` requests of that path, then 200."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server: Any = self.server
        with server.lock:
            server.hits[self.path] += 1
            server.times[self.path].append(time.monotonic())
            hit = server.hits[self.path]
        _, status, times, _ = self.path.split("/", 3)
        if hit <= int(times):
            self.send_response(int(status))
            if self.path.endswith("/wait-2.png"):
                self.send_header("Retry-After", "2")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


@pytest.fixture
def flaky() -> Iterator[ThreadingHTTPServer]:
    with local_http_server(_Flaky, hits=Counter(), times=defaultdict(list), lock=threading.Lock()) as server:
        yield server


def _base(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


class _RecordedWaits(threading.Event):
    """A job's cancel event: the waits between tries are recorded, not waited. ``cancel_on_wait``:
    the cancel comes during the first wait (the event is set and the wait ends with it)."""

    def __init__(self, cancel_on_wait: bool = False) -> None:
        super().__init__()
        self.cancel_on_wait = cancel_on_wait
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if self.cancel_on_wait:
            self.set()
        return self.is_set()


def test_a_url_job_gets_the_image_of_a_host_that_was_busy_for_a_moment(
    make_app: JobApp, flaky: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job's own limits with 10 ms between tries, not 1 s then 2 s (the delays are checked below,
    # unwaited); the tries themselves are the app's.
    monkeypatch.setattr(execution, "DownloadLimits", partial(DownloadLimits, retry_delay=0.01))
    base = _base(flaky)
    busy_once, throttled_twice = f"{base}/503/1/a.png", f"{base}/429/2/b.png"
    client = make_app(job_url_allowlist=[f"{base}/"], job_url_private_networks=["127.0.0.0/8"])
    job = client.post("/v1/jobs", json={"urls": [busy_once, throttled_twice]}).json()
    done = wait_for_job(client, job["id"])
    assert done["state"] == "succeeded" and done["errors"] == 0, done
    assert done["counts"]["closed"] == 2
    rows = client.get(f"/v1/jobs/{job['id']}/results?format=jsonl").text.splitlines()
    assert {json.loads(r)["path"]: json.loads(r)["label"] for r in rows} == {
        busy_once: "closed",
        throttled_twice: "closed",
    }
    hits: Counter[str] = flaky.hits  # type: ignore[attr-defined]
    assert hits["/503/1/a.png"] == 2 and hits["/429/2/b.png"] == 3


def test_three_tries_then_an_error_row_and_final_answers_are_not_retried(
    flaky: ThreadingHTTPServer, tmp_path: Path
) -> None:
    base = _base(flaky)
    urls = [f"{base}/{status}/9/x.png" for status in (503, 502, 504, 429, 404, 403, 500)]
    limits = DownloadLimits(max_bytes=100_000, retry_delay=0.01)
    cancel = _RecordedWaits()
    report = download_all(
        urls, tmp_path / "in", tmp_path / "m.jsonl", Allowlist([f"{base}/"], ["127.0.0.0/8"]), limits, cancel
    )
    # Two waits (retry_delay, then twice that) for each of the 4 "later" answers; none for final ones.
    assert sorted(cancel.waits) == [0.01] * 4 + [0.02] * 4, cancel.waits  # type: ignore[type-var]
    assert report.complete and report.files == {}
    assert dict(report.errors) == {
        f"{base}/503/9/x.png": "DownloadError: HTTP 503 (3 tries)",
        f"{base}/502/9/x.png": "DownloadError: HTTP 502 (3 tries)",
        f"{base}/504/9/x.png": "DownloadError: HTTP 504 (3 tries)",
        f"{base}/429/9/x.png": "DownloadError: HTTP 429 (3 tries)",
        f"{base}/404/9/x.png": "DownloadError: HTTP 404",
        f"{base}/403/9/x.png": "DownloadError: HTTP 403",
        f"{base}/500/9/x.png": "DownloadError: HTTP 500",
    }
    hits: Counter[str] = flaky.hits  # type: ignore[attr-defined]
    assert hits == Counter(
        {
            "/503/9/x.png": 3,
            "/502/9/x.png": 3,
            "/504/9/x.png": 3,
            "/429/9/x.png": 3,
            "/404/9/x.png": 1,
            "/403/9/x.png": 1,
            "/500/9/x.png": 1,
        }
    )


def test_a_cancel_during_the_wait_records_nothing(flaky: ThreadingHTTPServer, tmp_path: Path) -> None:
    """Cut short by a cancel (or a shutdown), the URL is no outcome: the resumed job asks again."""
    url = f"{_base(flaky)}/503/9/y.png"
    cancel = _RecordedWaits(cancel_on_wait=True)
    limits = DownloadLimits(max_bytes=100_000, retry_delay=5.0)
    report = download_all(
        [url], tmp_path / "in", tmp_path / "m.jsonl", Allowlist([url], ["127.0.0.0/8"]), limits, cancel
    )
    assert cancel.waits == [5.0]  # the wait was on the cancel event, and ended with it: no second try
    assert flaky.hits["/503/9/y.png"] == 1  # type: ignore[attr-defined]
    assert not report.complete and report.errors == []
    assert not (tmp_path / "m.jsonl").read_text()


def test_a_hosts_retry_after_is_waited_for(flaky: ThreadingHTTPServer, tmp_path: Path) -> None:
    """A throttling host says when to come back (``Retry-After``): tries 1 and 2 s apart all failed."""
    base = _base(flaky)
    urls = [f"{base}/429/1/wait-2.png", f"{base}/503/1/wait-2.png"]
    limits = DownloadLimits(max_bytes=100_000, retry_delay=0.01)
    cancel = _RecordedWaits()
    report = download_all(
        urls, tmp_path / "in", tmp_path / "m.jsonl", Allowlist([f"{base}/"], ["127.0.0.0/8"]), limits, cancel
    )
    assert report.complete and report.errors == [] and len(report.files) == 2
    assert cancel.waits == [2.0, 2.0], cancel.waits  # not retry_delay's 0.01 s
    hits: Counter[str] = flaky.hits  # type: ignore[attr-defined]
    assert hits["/429/1/wait-2.png"] == 2 and hits["/503/1/wait-2.png"] == 2
    assert "retry_after" not in (tmp_path / "m.jsonl").read_text()  # the manifest keeps outcomes only
