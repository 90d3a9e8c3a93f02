"""A photo pasted (Ctrl+V) before the page's deferred scripts have run, in real headless Chromium.

A drop and a chosen photo were held by index.html's inline script until input.js took them over; a
paste was not: on a slow link the photo pasted into a page that looked ready was ignored without a
word. The inline script holds a pasted image the same way, still allowed by its hash in the page's
Content-Security-Policy.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from test_page_early_drop import DRAWN
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

PASTE = """b64 => {
    const dt = new DataTransfer();
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
    const paste = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
    document.body.dispatchEvent(paste);
    return paste.defaultPrevented;
}"""


def test_a_photo_pasted_before_the_scripts_have_run_is_kept_and_classified(
    browser: Any, live_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(RESULT_TIMEOUT_MS)
    held: list[Any] = []
    page.route("**/static/app.js", lambda route: held.append(route))  # the slow link: not here yet
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page.goto(live_server.url + "/", wait_until="commit")
        page.wait_for_selector("#drop-zone")
        page.evaluate(DRAWN)
        assert held, "app.js was not requested"
        photo = base64.b64encode(photo_jpeg(LABEL_COLOURS["closed"], size=(200, 150), seed=9)).decode()
        assert page.evaluate(PASTE, photo) is True
        held[0].continue_()
        assert read_result(page)["label"] == "closed"
        assert page.inner_text("#file-name").startswith("image.png")
        assert violations == []
    finally:
        context.close()
