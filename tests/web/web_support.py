"""Helpers for the browser tests: the live-server handle and the images the tests upload.

Images are generated in the test run; nothing binary is checked in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from capsight.inference.classifier import Classifier
from capsight.settings import Settings
from live_app import serve

# Small enough that a test can exceed it with a modest image, large enough for every other upload.
SERVER_MAX_UPLOAD_BYTES = 1_000_000
RESULT_TIMEOUT_MS = 15_000
# Set CAPSIGHT_SCREENSHOTS=DIR to save what the browser rendered, for a human to look at.
SCREENSHOT_DIR = os.environ.get("CAPSIGHT_SCREENSHOTS")


@dataclass(frozen=True)
class LiveServer:
    url: str
    settings: Settings
    api_key: str | None = None


# Live servers being stopped on a thread, and what stopping them raised: see serve_stopped_later.
_STOPPING: list[tuple[threading.Thread, list[BaseException]]] = []


@contextlib.contextmanager
def serve_stopped_later(settings: Settings, classifier: Classifier | None = None) -> Iterator[str]:
    """``live_app.serve``, stopped on a thread: uvicorn's stop is some 0.3 s of waiting (its 0.1 s tick,
    a fixed 0.1 s for open connections, the app's shutdown) that the browser's close, or the module's
    next test, can use. ``wait_for_stopped_servers`` (the conftest runs it as each module ends) waits
    for every such stop. Not for a test that needs the server gone when its block ends."""
    stack = contextlib.ExitStack()
    url = stack.enter_context(serve(settings, classifier=classifier))
    try:
        yield url
    finally:
        errors: list[BaseException] = []

        def stop() -> None:
            try:
                stack.close()
            except BaseException as exc:  # raised again by wait_for_stopped_servers
                errors.append(exc)

        thread = threading.Thread(target=stop, name="live-server-stop", daemon=True)
        thread.start()
        _STOPPING.append((thread, errors))


def wait_for_stopped_servers() -> None:
    """Until every server left by ``serve_stopped_later`` has stopped; raises what stopping raised."""
    stopping = _STOPPING[:]
    _STOPPING.clear()
    for thread, _ in stopping:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread, _ in stopping), "a live server did not stop within 30 s"
    for _, errors in stopping:
        if errors:
            raise errors[0]


@functools.cache
def photo_jpeg(
    colour: tuple[int, int, int], size: tuple[int, int] = (800, 600), seed: int = 0, quality: int = 88
) -> bytes:
    """A photo-like JPEG dominated by ``colour``: lighting gradient, a couple of shapes, sensor noise.

    The same arguments always make the same bytes (``seed``), so each is made once a run: 0.08 s for
    800x600, 0.3 s for a 1080x1920 phone photo, asked for again by test after test."""
    w, h = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 0.75 + 0.25 * (x / w) * (1 - y / h)
    base = np.asarray(colour, dtype=np.float32)[None, None, :] * light[..., None]
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    shade = tuple(int(c * 0.7) for c in colour)
    draw.ellipse((w * 0.3, h * 0.2, w * 0.6, h * 0.8), fill=shade)
    draw.rectangle(
        (w * 0.65, h * 0.5, w * 0.85, h * 0.9), fill=tuple(min(255, int(c * 1.1) + 10) for c in colour)
    )
    pixels = np.asarray(img, dtype=np.float32) + rng.normal(0, 6, size=(h, w, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@functools.cache
def heic_photo(colour: tuple[int, int, int], size: tuple[int, int] = (200, 150)) -> bytes:
    """``photo_jpeg(colour, size)`` as an iPhone saves it, HEIC (HEIF). Small and made once a run:
    encoding HEIF is slow (800x600 took 2 s on a loaded machine, 200x150 0.15 s). Skips the test
    without pillow-heif."""
    pytest.importorskip("pillow_heif").register_heif_opener()  # to write the test file only
    buf = io.BytesIO()
    Image.open(io.BytesIO(photo_jpeg(colour, size=size))).save(buf, format="HEIF", quality=90)
    return buf.getvalue()


def noisy_png(size: tuple[int, int], seed: int = 1) -> bytes:
    """An incompressible PNG: random pixels, about 3 bytes per pixel on disk."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


# -- driving the upload page --------------------------------------------------------------------


def upload(page: Any, name: str, mime: str, data: bytes, selector: str = "#file-input") -> None:
    page.set_input_files(selector, files=[{"name": name, "mimeType": mime, "buffer": data}])


# Sets ``#file-input`` to a file made in the page, as ``set_input_files`` does (input, then change).
_UPLOAD_MADE_IN_PAGE = """([name, type, head, size]) => {
    const bytes = new Uint8Array(size);
    bytes.set(head);
    const input = document.getElementById('file-input');
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type }));
    input.files = dt.files;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
}"""


def upload_made_in_page(page: Any, name: str, mime: str, size: int, head: bytes = b"") -> None:
    """Upload a ``size``-byte file that is ``head`` and then zeros, made inside the page.

    For files of megabytes: ``upload`` pushes its bytes through the automation pipe as base64, about a
    second per megabyte on a loaded machine (24 MB took 23 s)."""
    page.evaluate(_UPLOAD_MADE_IN_PAGE, [name, mime, list(head), size])


def classify_requests(page: Any) -> list[str]:
    """URLs of the classify calls the page makes from now on (to prove client-side checks stop them)."""
    seen: list[str] = []
    page.on("request", lambda req: seen.append(req.url) if "classify" in req.url else None)
    return seen


def read_result(page: Any) -> dict[str, Any]:
    page.wait_for_selector("#result:not([hidden])")
    rows = page.eval_on_selector_all(
        "#probabilities .prob-row",
        """rows => rows.map(r => ({
            label: r.dataset.label,
            probability: Number(r.dataset.probability),
            text: r.querySelector('.prob-value').textContent,
            top: r.classList.contains('top'),
            bar: r.querySelector('.prob-bar').style.width,
        }))""",
    )
    return {
        "label": page.inner_text("#result-label"),
        "confidence": page.inner_text("#result-confidence"),
        "rows": rows,
        "status": page.inner_text("#status"),
        "error_hidden": page.is_hidden("#error"),
    }


def shot(page: Any, name: str) -> None:
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"), full_page=True)


def page_at(browser: Any, live_server: LiveServer, now: dt.datetime, locale: str = "en-GB") -> Any:
    """The upload page in a browser set to ``locale`` (UTC), its clock fixed at ``now``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale, timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(RESULT_TIMEOUT_MS)
    page.clock.set_fixed_time(now)
    page.goto(live_server.url + "/")
    return page


def refuse_with_retry_after(page: Any, route: str, retry_after: str) -> None:
    """Answer ``route`` with a 429 asking to come back after ``retry_after`` (seconds or an HTTP date)."""
    page.route(
        route,
        lambda r: r.fulfill(
            status=429,
            headers={"Retry-After": retry_after},
            content_type="application/json",
            body=json.dumps({"error": "Rate limit exceeded."}),
        ),
    )
