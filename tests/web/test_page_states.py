"""Every answer state of the upload page, driven in real headless Chromium against the real app.

Each server state is provoked the honest way (Settings with a rate limit, a tiny body timeout or
upload limit, a classifier that fails, a server that has gone away) and the page is read the way a
person would: the message in the error card, the focus, and no Content-Security-Policy violation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from web_support import (
    RESULT_TIMEOUT_MS,
    LiveServer,
    heic_photo,
    photo_jpeg,
    read_result,
    serve_stopped_later,
    upload,
    upload_made_in_page,
)

from capsight.inference import OnnxClassifier
from capsight.settings import Settings
from live_app import serve
from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

CSP_LISTENER = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)
PREVIEW_SHOWN = "() => { const i = document.getElementById('preview'); return i.complete && i.naturalWidth; }"


class _FailingClassifier:
    """The real model's metadata, but every model call raises (a broken ONNX Runtime, say)."""

    def __init__(self, inner: OnnxClassifier) -> None:
        self.metadata = inner.metadata

    def predict(self, batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("simulated ONNX Runtime failure")


class _GatedClassifier:
    """The real model, but each call waits until the test opens the gate: requests pile up."""

    def __init__(self, inner: OnnxClassifier) -> None:
        self.inner = inner
        self.metadata = inner.metadata
        self.gate = threading.Event()
        self.entered = threading.Event()

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.entered.set()
        self.gate.wait(timeout=20)
        return self.inner.predict(batch)


@pytest.fixture()
def open_page(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def _open(url: str, wait_for_model: bool = True, models_down: bool = False) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.add_init_script(CSP_LISTENER)
        page.on("filechooser", lambda chooser: None)  # see the page fixture in conftest.py
        if models_down:
            page.route("**/v1/models", lambda route: route.abort())
        page.goto(url + "/")
        if wait_for_model:
            page.wait_for_selector("#model-info.ready")
        return page

    try:
        yield _open
    finally:
        for context in contexts:
            context.close()


def _error(page: Any) -> str:
    page.wait_for_selector("#error:not([hidden])")
    assert page.is_hidden("#result")
    return str(page.inner_text("#error-message"))


def _settings(model_dir: Path, tmp: Path, **overrides: Any) -> Settings:
    return Settings(model_dir=model_dir, data_dir=tmp, intra_op_threads=1, **overrides)


JPEG = photo_jpeg(LABEL_COLOURS["opened"], seed=31)
# 1.5 MB: a JPEG's first bytes, then zeros, made in the page (upload_made_in_page): the server's body
# limits answer before any picture is read, and sending a real 1.5 MB JPEG through Playwright's pipe
# took 0.4 s a test (making it, 0.25 s in every worker that collected this file).
BIG_SIZE, JPEG_HEAD = 1_500_000, b"\xff\xd8\xff\xe0"


def test_rate_limited_upload_says_when_to_retry(
    open_page: Any, colour_model_dir: Path, tmp_path: Path
) -> None:
    with serve_stopped_later(_settings(colour_model_dir, tmp_path, rate_limit="1/minute")) as url:
        page = open_page(url)
        upload(page, "a.jpg", "image/jpeg", JPEG)
        assert read_result(page)["label"] == "opened"
        upload(page, "a.jpg", "image/jpeg", JPEG)
        message = _error(page)
        assert message.startswith("Rate limit exceeded.") and message.endswith(" s)")
        assert page.evaluate("window.__csp") == []


def test_body_timeout_shows_the_servers_408_message(
    open_page: Any, colour_model_dir: Path, tmp_path: Path
) -> None:
    """The whole-body limit ran out: the message names it (not the idle limit, which never passed),
    however close to the deadline the server's timer fired."""
    settings = _settings(colour_model_dir, tmp_path, body_timeout_seconds=0.0005)
    with serve_stopped_later(settings) as url:
        page = open_page(url)
        upload_made_in_page(page, "big.jpg", "image/jpeg", BIG_SIZE, head=JPEG_HEAD)
        assert _error(page) == "The request body did not arrive within 0.0005 s."
        assert page.evaluate("window.__csp") == []


def test_server_side_413_when_the_page_does_not_know_the_limit(
    open_page: Any, colour_model_dir: Path, tmp_path: Path
) -> None:
    """/v1/models failed, so the page checks against its default; the server's 413 is still worded."""
    with serve_stopped_later(_settings(colour_model_dir, tmp_path, max_upload_bytes=50_000)) as url:
        page = open_page(url, wait_for_model=False, models_down=True)
        upload_made_in_page(page, "big.jpg", "image/jpeg", BIG_SIZE, head=JPEG_HEAD)
        assert _error(page) == "File too large: the upload limit is 50000 bytes."


def test_inference_failure_500_is_shown(open_page: Any, colour_model_dir: Path, tmp_path: Path) -> None:
    classifier = _FailingClassifier(OnnxClassifier(colour_model_dir, intra_op_threads=1))
    settings = _settings(colour_model_dir, tmp_path, warmup=False)
    with serve_stopped_later(settings, classifier=classifier) as url:  # type: ignore[arg-type]
        page = open_page(url)
        upload(page, "a.jpg", "image/jpeg", JPEG)
        assert _error(page) == (
            "Inference failed. The fault is on the server, not your photo: "
            "try again now, or later if it fails again."
        )
        assert page.inner_text("#error-title") == "Something went wrong on the server"
        assert page.is_hidden("#busy") and page.get_attribute("#choose-button", "aria-disabled") == "false"
        assert page.evaluate("window.__csp") == []


def test_server_gone_says_it_cannot_be_reached(
    open_page: Any, colour_model_dir: Path, tmp_path: Path
) -> None:
    with serve(_settings(colour_model_dir, tmp_path)) as url:  # stopped when the block ends, not later
        page = open_page(url)
    upload(page, "a.jpg", "image/jpeg", JPEG)  # the server has stopped
    assert _error(page) == "Could not reach the server. Check your connection and try again."
    assert page.is_hidden("#busy")
    assert page.evaluate("window.__csp") == []


def test_focus_returns_to_the_page_after_the_api_key_is_accepted(
    open_page: Any, auth_server: LiveServer
) -> None:
    """Enter in the key field sends the photo again; the form then hides. The keyboard focus must not
    fall to <body> with it (a keyboard user would have to tab through the whole page again)."""
    page = open_page(auth_server.url, wait_for_model=False)
    upload(page, "p.jpg", "image/jpeg", JPEG)
    page.wait_for_selector("#key-form:not([hidden])")
    assert auth_server.api_key is not None
    page.fill("#api-key", auth_server.api_key)
    page.press("#api-key", "Enter")
    assert read_result(page)["label"] == "opened"
    assert page.is_hidden("#key-form")
    assert page.evaluate("() => document.activeElement.id") == "choose-button"
    with page.expect_file_chooser() as chooser_info:
        page.keyboard.press("Enter")  # and from there the next photo is one key away
    assert chooser_info.value.element.get_attribute("id") == "file-input"


def test_heic_then_jpeg_the_preview_comes_back(page: Any) -> None:
    upload(page, "IMG_0001.HEIC", "image/heic", heic_photo(LABEL_COLOURS["opened"]))
    assert read_result(page)["label"] == "opened"
    page.wait_for_selector("#drop-prompt:not([hidden])")
    assert page.is_hidden("#preview")
    upload(page, "b.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["closed"], seed=3))
    page.wait_for_function("() => document.getElementById('result-label').textContent === 'closed'")
    page.wait_for_function(PREVIEW_SHOWN)
    assert page.is_visible("#preview") and page.is_hidden("#drop-prompt")


def test_a_20_megapixel_photo_is_previewed_without_freezing_the_page(
    open_page: Any, colour_model_dir: Path, tmp_path: Path
) -> None:
    with serve_stopped_later(_settings(colour_model_dir, tmp_path)) as url:
        page = open_page(url)
        size = page.evaluate(
            """async () => {
                const c = document.createElement('canvas'); c.width = 5472; c.height = 3648;
                const g = c.getContext('2d');
                for (let i = 0; i < 4000; i++) {
                    g.fillStyle = `rgb(${i % 50}, ${i % 70}, ${200 + i % 55})`;
                    g.fillRect((i * 137) % 5472, (i * 71) % 3648, 90, 90);
                }
                const blob = await new Promise(r => c.toBlob(r, 'image/jpeg', 0.95));
                window.__gaps = []; let last = performance.now();
                (function tick() {
                    const now = performance.now(); window.__gaps.push(now - last); last = now;
                    requestAnimationFrame(tick);
                })();
                const input = document.getElementById('file-input'); const dt = new DataTransfer();
                dt.items.add(new File([blob], 'IMG_20MP.jpg', { type: 'image/jpeg' }));
                input.files = dt.files; input.dispatchEvent(new Event('change', { bubbles: true }));
                return blob.size;
            }"""
        )
        assert size > 1_000_000
        assert read_result(page)["label"] == "opened"
        page.wait_for_function("() => document.getElementById('preview').naturalWidth === 5472")
        page.wait_for_timeout(300)
        assert page.evaluate("Math.max(...window.__gaps.slice(1))") < 1000  # frames kept coming
        assert page.evaluate("window.__csp") == []


def test_overloaded_503_says_when_to_retry(open_page: Any, colour_model_dir: Path, tmp_path: Path) -> None:
    """The queue is full (one image in the model, one waiting, queue_max=1): the server answers 503 with
    Retry-After, and the page passes the wait on as it does for a 429."""
    model = _GatedClassifier(OnnxClassifier(colour_model_dir, intra_op_threads=1))
    settings = _settings(colour_model_dir, tmp_path, warmup=False, queue_max=1)
    answers: list[httpx.Response] = []
    senders: list[threading.Thread] = []

    def post(url: str, seed: int) -> None:
        # Distinct bytes per sender: copies of one photo share one model call (api/coalesce.py) and
        # never take a second place in the queue, so the queue would never fill.
        files = {"file": ("a.jpg", photo_jpeg(LABEL_COLOURS["opened"], seed=seed), "image/jpeg")}
        answers.append(httpx.post(f"{url}/v1/classify", files=files, timeout=30))

    with serve_stopped_later(settings, classifier=model) as url:  # type: ignore[arg-type]
        page = open_page(url)
        try:
            deadline = time.monotonic() + 10
            while not any(a.status_code == 503 for a in answers) and time.monotonic() < deadline:
                if len(senders) - len(answers) < 3:  # keep the model busy and the queue full
                    senders.append(threading.Thread(target=post, args=(url, 1000 + len(senders))))
                    senders[-1].start()
                time.sleep(0.05)
            full = [a for a in answers if a.status_code == 503]
            assert full and full[0].headers["retry-after"] == "1"
            # The batcher may move the waiting image on and admit one more: the page's own upload
            # then waits in the queue. A newer photo supersedes it, and the queue fills up for good.
            for _ in range(5):
                upload(page, "a.jpg", "image/jpeg", JPEG)
                try:
                    page.wait_for_selector("#error:not([hidden])", timeout=1500)
                    break
                except PlaywrightTimeout:
                    continue
            assert _error(page) == "Server is overloaded, retry shortly. (retry in 1 s)"
            assert page.evaluate("window.__csp") == []
        finally:
            model.gate.set()
            for sender in senders:
                sender.join(timeout=20)


def test_a_proxys_plain_408_reads_as_a_slow_upload_not_a_rejected_file(page: Any) -> None:
    """nginx in front answers a slow body with its own HTML 408 (client_body_timeout): no JSON error to
    quote, and "the server rejected this file" would send the user looking for a fault in the photo."""
    page.route(
        "**/v1/classify",
        lambda route: route.fulfill(
            status=408,
            headers={"Content-Type": "text/html"},
            body="<html><body><h1>408 Request Time-out</h1></body></html>",
        ),
    )
    upload(page, "a.jpg", "image/jpeg", JPEG)
    message = _error(page)
    assert "took too long" in message and "rejected" not in message
