"""The network link drops while a photo is being sent, in real headless Chromium over real sockets.

Between the browser and the app sits a relay on a loopback port: it passes every request on, but
while the "link is down" it takes the first bytes of an upload's body and then resets the
connection, as a phone that loses its signal mid-upload does.

The page said "The server could not be reached" (as for a server that was never there, though it had
been sending to it), and "Try again" sent the photo without what had been said about the files given
with it ("1 of the 3 files given", the ones that are no photo): gone from the page. It now says the
upload was cut off, that the photo was not classified, and that "Try again" sends the same photo;
everything said about what the person gave stays.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_support import RESULT_TIMEOUT_MS, noisy_png, read_result, serve_stopped_later, upload_made_in_page

from capsight.settings import Settings
from local_http import local_http_server

pytestmark = pytest.mark.browser

HOP_BY_HOP = {
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "accept-encoding",
}


class Relay(BaseHTTPRequestHandler):
    """Passes requests on to the app; while ``server.link.is_set()`` is false, cuts an upload mid-body."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _relay(self, body: bytes | None) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        relay: Any = self.server
        answer = relay.client.request(self.command, relay.upstream + self.path, headers=headers, content=body)
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def do_GET(self) -> None:
        self._relay(None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.lengths.append(length)  # type: ignore[attr-defined]
        if self.server.link.is_set():  # type: ignore[attr-defined]
            self._relay(self.rfile.read(length))
            return
        self.rfile.read(min(length, 16_384))  # the first bytes arrive, then the signal is gone
        first_cut = not self.server.cut.is_set()  # type: ignore[attr-defined]
        self.server.cut.set()  # type: ignore[attr-defined]
        if self.server.silent:  # type: ignore[attr-defined]
            # No reset either: nothing more is read until the test ends, as a link gone quiet.
            self.server.link.wait(RESULT_TIMEOUT_MS / 1000)  # type: ignore[attr-defined]
            self.close_connection = True
            return
        # Chromium reports the bytes sent every 100 ms or so: held long enough that it has, as a real
        # upload's first seconds would be. Chromium then sends the request again on each of its other
        # kept-alive connections (a reset on a reused socket is retried; six more here): those are cut
        # at once, not held half a second each (3 s a test).
        if first_cut:
            time.sleep(0.5)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()  # a reset, not an answer
        self.close_connection = True


@contextlib.contextmanager
def relay(upstream: str, silent: bool = False) -> Iterator[Any]:
    """``silent``: a link down takes an upload's first bytes and then nothing more, never resetting."""
    link = threading.Event()
    link.set()
    # One client for every request passed on: a new one each (a page load is a dozen) cost ~0.1 s.
    client = httpx.Client()
    state = {"upstream": upstream, "link": link, "cut": threading.Event(), "silent": silent, "lengths": []}
    with client, local_http_server(Relay, client=client, **state) as server:
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield server
        finally:
            link.set()  # a held upload lets go


GIVE = """files => {
    const dt = new DataTransfer();
    for (const [name, type, b64] of files) {
        dt.items.add(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], name, { type }));
    }
    document.getElementById('drop-zone').dispatchEvent(
        new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
}"""


@pytest.fixture(scope="module")
def roomy_server(colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with a 40 MB upload limit, for both tests: one start instead of two."""
    settings = Settings(
        model_dir=colour_model_dir,
        data_dir=tmp_path_factory.mktemp("link-dropped"),
        max_upload_bytes=40_000_000,
        intra_op_threads=1,
    )
    with serve_stopped_later(settings) as url:
        yield url


def test_a_link_lost_mid_upload_says_so_and_try_again_sends_the_same_photo(
    browser: Any, roomy_server: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        with relay(roomy_server) as server:
            page = context.new_page()
            page.set_default_timeout(RESULT_TIMEOUT_MS)
            page.goto(server.url + "/")
            page.wait_for_selector("#model-info.ready")
            photo = base64.b64encode(noisy_png((300, 300), seed=7)).decode()  # ~270 KB: cut after 16 KB
            note = base64.b64encode(b"not a photo\n" * 20).decode()
            chosen: list[Any] = []
            page.on("filechooser", lambda chooser: chosen.append(chooser))
            server.link.clear()
            page.evaluate(
                GIVE,
                [
                    ["IMG_0301.png", "image/png", photo],
                    ["notes.jpg", "image/jpeg", note],
                    ["b.txt", "", note],
                ],
            )
            page.wait_for_selector("#error:not([hidden])")
            assert server.cut.is_set()  # the relay took the first bytes: the upload had begun
            assert page.inner_text("#error-title") == "The upload did not reach the server"
            assert page.inner_text("#error-message") == (
                "The connection was lost while “IMG_0301.png” was being sent, so it was not classified. "
                "Check your connection, then press Try again to send the same photo."
            )
            given = page.inner_text("#file-name")
            assert given.startswith("IMG_0301.png · ")
            assert given.endswith(
                "(1 of the 3 files given: the page classifies one photo at a time). "
                "Not photos: “notes.jpg”, “b.txt”."
            )

            server.link.set()
            page.click("#retry-button")
            result = read_result(page)
            assert result["error_hidden"] and result["label"] in {"opened", "closed", "background"}
            assert page.inner_text("#file-name") == given  # nothing said about what was given is lost
            assert chosen == []  # nothing had to be chosen again
    finally:
        context.close()


def test_an_upload_that_stops_mid_way_says_it_did_not_reach_the_server(
    browser: Any, roomy_server: str
) -> None:
    """The link goes quiet mid-upload (no reset: the common way a phone loses its signal). After the
    page's minute of silence it said "The server did not answer", as if the photo had reached it."""
    # Larger than what the loopback sockets hold: the page sees the upload stop part of the way.
    big_size = 24_000_008  # a PNG signature, then zeros
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        with relay(roomy_server, silent=True) as server:
            page = context.new_page()
            page.set_default_timeout(RESULT_TIMEOUT_MS)
            page.goto(server.url + "/")
            page.wait_for_selector("#model-info.ready")
            page.clock.install()
            server.link.clear()
            upload_made_in_page(page, "big.png", "image/png", big_size, head=b"\x89PNG\r\n\x1a\n")
            page.wait_for_function(
                "() => /Sending photo… \\d+%/.test(document.getElementById('busy-text').textContent)"
            )
            assert server.cut.wait(RESULT_TIMEOUT_MS / 1000)
            page.clock.fast_forward(61_000)
            page.wait_for_selector("#error:not([hidden])")
            assert page.inner_text("#error-title") == "The upload did not reach the server"
            message = page.inner_text("#error-message")
            stopped = re.fullmatch(
                r"The upload of “big\.png” stopped at (\d+)%, so it was not classified\. "
                r"Check your connection, then press Try again to send the same photo\.",
                message,
            )
            assert stopped and int(stopped[1]) < 100, message

            server.link.set()
            page.click("#retry-button")
            page.wait_for_selector("#error:not([hidden])")  # zeros are no PNG: the server says so
            assert server.lengths[-1] == server.lengths[0] > big_size  # the same file, sent whole
            assert "did not reach" not in page.inner_text("#error-title")
    finally:
        context.close()
