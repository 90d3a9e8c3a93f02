"""A download the network cut short (refused, reset, dropped, timed out, a DNS server that did not
answer) is tried again, as a 503 is: 3 tries, 1 s then 2 s apart.

Why: one network blip made an error row of the image (``DownloadError: RemoteProtocolError: Server
disconnected without sending a response.``), and a job of 100,000 URLs "succeeded" with a row per
blip. Every try connects afresh through the address check (``jobs/addresses.py``): a name whose
answer turns private between tries is refused, and a refusal is final, never tried again. A name
that does not exist (NXDOMAIN) and a certificate that does not verify are final too.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import JobApp, image, wait_for_job

from capsight.jobs import execution
from capsight.jobs.allowlist import Allowlist
from capsight.jobs.downloads import DownloadLimits, DownloadReport, download_all
from local_http import local_http_server

BODY = image("closed")
# The read timeout is no part of what these tests check (no server here stalls): at 0.5 s a healthy read
# of the local server on a loaded machine once took longer, was tried again, and the name was resolved a
# third time (the DNS test, with 3 workers on 2 cores).
FAST = DownloadLimits(max_bytes=100_000, retry_delay=0.05, read_timeout=5.0)
_real_getaddrinfo = socket.getaddrinfo


class _Blips(BaseHTTPRequestHandler):
    """``/<how>/<n>/name``: the first ``n`` requests of a path end as ``how`` says, then 200.

    ``drop``: the connection is closed without an answer; ``reset``: reset (RST) without an answer;
    ``cut``: headers and half the body, then closed; ``busy``: 503, which is no blip."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server: Any = self.server
        with server.lock:
            server.hits[self.path] += 1
            hit = server.hits[self.path]
        _, how, times, _ = self.path.split("/", 3)
        if hit <= int(times):
            if how == "cut":
                self.send_response(200)
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY[: len(BODY) // 2])
                self.wfile.flush()
            elif how == "busy":  # an answer, not a blip: "later"
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif how == "reset":  # SO_LINGER 0, closed at once (no FIN first): an RST
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


@pytest.fixture
def blips() -> Iterator[ThreadingHTTPServer]:
    with local_http_server(_Blips, hits=Counter(), lock=threading.Lock()) as server:
        yield server


def _port(server: ThreadingHTTPServer) -> int:
    return int(server.server_address[1])


def _download(
    urls: list[str],
    tmp_path: Path,
    allowlist: Allowlist,
    limits: DownloadLimits = FAST,
    cancel: threading.Event | None = None,
) -> DownloadReport:
    return download_all(urls, tmp_path / "in", tmp_path / "m.jsonl", allowlist, limits, cancel)


class _RecordedWaits(threading.Event):
    """A job's cancel event that is never set: the waits between tries are recorded, not waited."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def _resolve(monkeypatch: pytest.MonkeyPatch, name: str, answer: Callable[[int], str]) -> list[str]:
    """``name`` resolves to ``answer(n)`` at its n-th lookup (from 1); a ``gaierror`` code (an int as
    text) raises that lookup failure instead. Returns what each lookup gave."""
    given: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != name:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        address = answer(len(given) + 1)
        given.append(address)
        if address.lstrip("-").isdigit():
            raise socket.gaierror(int(address), "lookup failed")
        return _real_getaddrinfo(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return given


@pytest.mark.parametrize("how", ["drop", "reset", "cut", "stall"])
def test_a_blip_is_tried_again_and_the_image_is_kept(
    how: str, blips: ThreadingHTTPServer, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{_port(blips)}"
    url = f"{base}/{how}/1/a.png"
    report = _download([url], tmp_path, Allowlist([f"{base}/"], ["127.0.0.0/8"]))
    assert report.errors == [] and list(report.files.values()) == [url]
    assert (tmp_path / "in" / next(iter(report.files))).read_bytes() == BODY
    assert blips.hits[f"/{how}/1/a.png"] == 2  # type: ignore[attr-defined]


def test_a_host_that_keeps_dropping_is_an_error_row_after_three_tries(
    blips: ThreadingHTTPServer, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{_port(blips)}"
    url = f"{base}/drop/9/a.png"
    report = _download([url], tmp_path, Allowlist([f"{base}/"], ["127.0.0.0/8"]))
    assert report.errors == [
        (url, "DownloadError: RemoteProtocolError: Server disconnected without sending a response. (3 tries)")
    ]
    assert blips.hits["/drop/9/a.png"] == 3  # type: ignore[attr-defined]


class _StartOnWait(_RecordedWaits):
    """The cancel event of a download whose host comes back during the first wait between tries:
    ``start`` runs then (staged, not timed: no wait is waited)."""

    def __init__(self, start: Callable[[], None]) -> None:
        super().__init__()
        self.start = start

    def wait(self, timeout: float | None = None) -> bool:
        if not self.waits:
            self.start()
        return super().wait(timeout)


def test_a_refused_connection_is_tried_again_until_the_host_is_back(tmp_path: Path) -> None:
    """Nothing listens on the port at the first try; the server starts before the second."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    url = f"http://127.0.0.1:{port}/drop/0/a.png"
    servers: list[ThreadingHTTPServer] = []

    def start() -> None:
        server = ThreadingHTTPServer(("127.0.0.1", port), _Blips)
        server.hits = Counter()  # type: ignore[attr-defined]
        server.lock = threading.Lock()  # type: ignore[attr-defined]
        servers.append(server)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    cancel = _StartOnWait(start)
    try:
        limits = DownloadLimits(max_bytes=100_000, retry_delay=1.0)
        report = _download([url], tmp_path, Allowlist([url], ["127.0.0.0/8"]), limits, cancel)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert report.errors == [] and list(report.files.values()) == [url]
    assert cancel.waits == [1.0]  # refused once, then tried again after the policy's wait
    assert servers and servers[0].hits["/drop/0/a.png"] == 1  # type: ignore[attr-defined]


def test_a_dns_server_that_did_not_answer_is_asked_again(
    blips: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _resolve(
        monkeypatch, "images.example", lambda n: str(socket.EAI_AGAIN) if n == 1 else "127.0.0.1"
    )
    url = f"http://images.example:{_port(blips)}/drop/0/a.png"
    report = _download([url], tmp_path, Allowlist([url], ["127.0.0.0/8"]))
    assert report.errors == [] and list(report.files.values()) == [url]
    assert given == [str(socket.EAI_AGAIN), "127.0.0.1"]


def test_a_name_that_does_not_exist_is_final_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = _resolve(monkeypatch, "gone.example", lambda n: str(socket.EAI_NONAME))
    url = "http://gone.example/a.png"
    limits = DownloadLimits(max_bytes=100_000, retry_delay=5.0)
    cancel = _RecordedWaits()
    report = _download([url], tmp_path, Allowlist([url]), limits, cancel)
    assert cancel.waits == []  # no 5 s wait for a second try
    assert len(report.errors) == 1 and report.errors[0][1].startswith("DownloadError: ConnectError: ")
    assert "tries" not in report.errors[0][1] and len(given) == 1


def test_a_refused_address_is_never_tried_again(
    blips: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = _resolve(monkeypatch, "inside.example", lambda n: "127.0.0.1")
    url = f"http://inside.example:{_port(blips)}/drop/0/a.png"
    limits = DownloadLimits(max_bytes=100_000, retry_delay=5.0)
    cancel = _RecordedWaits()
    report = _download([url], tmp_path, Allowlist([url]), limits, cancel)  # loopback not allowed
    assert cancel.waits == []
    assert report.errors == [
        (
            url,
            "NotAllowed: its host inside.example resolves to 127.0.0.1, a loopback address "
            "(allowed only inside CAPSIGHT_JOB_URL_PRIVATE_NETWORKS)",
        )
    ]
    assert given == ["127.0.0.1"] and blips.hits == Counter()  # type: ignore[attr-defined]


def test_each_try_checks_the_address_again(
    blips: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first answer is allowed and its server drops the connection; the retry's lookup answers a
    loopback address outside the allowed network: refused, and not tried a third time."""
    given = _resolve(monkeypatch, "rebind.example", lambda n: "127.0.0.2" if n == 1 else "127.0.0.1")
    second = ThreadingHTTPServer(("127.0.0.2", 0), _Blips)  # all of 127/8 is this host's loopback
    second.hits = Counter()  # type: ignore[attr-defined]
    second.lock = threading.Lock()  # type: ignore[attr-defined]
    port = _port(second)
    threading.Thread(target=second.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://rebind.example:{port}/drop/9/a.png"
        report = _download([url], tmp_path, Allowlist([url], ["127.0.0.2/32"]))
    finally:
        second.shutdown()
        second.server_close()
    assert report.errors == [
        (
            url,
            "NotAllowed: its host rebind.example resolves to 127.0.0.1, a loopback address "
            "(allowed only inside CAPSIGHT_JOB_URL_PRIVATE_NETWORKS)",
        )
    ]
    assert given == ["127.0.0.2", "127.0.0.1"]
    assert second.hits["/drop/9/a.png"] == 1  # type: ignore[attr-defined]


def test_a_url_job_keeps_the_image_of_a_host_that_dropped_a_connection(
    make_app: JobApp, blips: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job's own limits with 10 ms between tries, not 1 s (the waits are checked above, unwaited).
    monkeypatch.setattr(execution, "DownloadLimits", partial(DownloadLimits, retry_delay=0.01))
    base = f"http://127.0.0.1:{_port(blips)}"
    dropped, reset = f"{base}/drop/1/a.png", f"{base}/reset/1/b.png"
    client = make_app(job_url_allowlist=[f"{base}/"], job_url_private_networks=["127.0.0.0/8"])
    job = client.post("/v1/jobs", json={"urls": [dropped, reset]}).json()
    done = wait_for_job(client, job["id"])
    assert done["state"] == "succeeded" and done["errors"] == 0, done
    assert done["counts"]["closed"] == 2


def test_a_tls_failure_is_final_at_once(blips: ThreadingHTTPServer, tmp_path: Path) -> None:
    """https:// to a server that speaks plain HTTP: the handshake fails the same way on every try."""
    url = f"https://127.0.0.1:{_port(blips)}/drop/0/a.png"
    limits = DownloadLimits(max_bytes=100_000, retry_delay=5.0)
    cancel = _RecordedWaits()
    report = _download([url], tmp_path, Allowlist([url], ["127.0.0.0/8"]), limits, cancel)
    assert cancel.waits == []  # no 5 s wait for a second try
    assert len(report.errors) == 1 and report.errors[0][1].startswith("DownloadError: ConnectError: ")
    assert "SSL" in report.errors[0][1] and "tries" not in report.errors[0][1], report.errors


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_host_that_is_down_costs_its_tries_for_a_few_urls_only(tmp_path: Path) -> None:
    """Nothing listens: every try is refused. Retried, each URL cost its waits (3 s at the defaults;
    a job of 100,000 URLs of a host that was down, 21 hours); after 3 URLs in a row failed on every
    try, the host's next URLs get one try each."""
    base = f"http://127.0.0.1:{_closed_port()}"
    urls = [f"{base}/{n}.png" for n in range(12)]
    limits = DownloadLimits(max_bytes=100_000, retry_delay=0.2, concurrency=1)
    cancel = _RecordedWaits()
    report = _download(urls, tmp_path, Allowlist([f"{base}/"], ["127.0.0.0/8"]), limits, cancel)
    # Before: 12 URLs x 2 waits (0.2 s then 0.4 s) = 24 waits, 7.2 s; now only the first 3 URLs wait.
    assert cancel.waits == [0.2, 0.4] * 3, cancel.waits
    errors = dict(report.errors)
    refused = "DownloadError: ConnectError: [Errno 111] Connection refused"
    assert [errors[u] for u in urls[:3]] == [f"{refused} (3 tries)"] * 3
    assert [errors[u] for u in urls[3:]] == [
        f"{refused} (not retried: its host failed the URLs before it on every try)"
    ] * 9


def test_a_host_that_answers_again_is_retried_again(blips: ThreadingHTTPServer, tmp_path: Path) -> None:
    """Another host's outage does not count, and an answer from the host ends its own."""
    base = f"http://127.0.0.1:{_port(blips)}"
    down = f"http://127.0.0.1:{_closed_port()}"
    urls = [
        *(f"{base}/drop/9/{n}.png" for n in range(3)),  # 3 URLs in a row fail every try
        f"{down}/a.png",  # another host: not this one's trouble
        f"{base}/busy/1/ok.png",  # an answer, a 503: the outage is over, and a 503 is tried again
        f"{base}/drop/1/blip.png",  # retried again, and kept
    ]
    limits = DownloadLimits(max_bytes=100_000, retry_delay=0.05, concurrency=1)
    report = _download(urls, tmp_path, Allowlist([f"{base}/", f"{down}/"], ["127.0.0.0/8"]), limits)
    errors = dict(report.errors)
    assert all(errors[u].endswith("(3 tries)") for u in urls[:4]), errors
    assert sorted(report.files.values()) == sorted(urls[4:])
    assert blips.hits["/busy/1/ok.png"] == 2  # type: ignore[attr-defined]
    assert blips.hits["/drop/1/blip.png"] == 2  # type: ignore[attr-defined]
