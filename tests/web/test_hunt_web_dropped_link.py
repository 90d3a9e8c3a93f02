"""A picture dragged from another web page (Safari hands over its address, not the image) dropped on
the upload page, in real headless Chromium.

The page did nothing at all: no request, no message, the prompt still saying "Drop a photo here",
so the person dropped it again and again.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, classify_requests, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

LINK_ONLY = """() => {
  const dt = new DataTransfer();
  dt.setData('text/uri-list', 'https://example.com/photos/bottle.jpg');
  dt.setData('text/plain', 'https://example.com/photos/bottle.jpg');
  return dt;
}"""


@pytest.mark.parametrize("target", ["#drop-zone", "#result-heading"])
def test_a_dropped_link_says_a_file_is_needed(page: Any, target: str) -> None:
    sent = classify_requests(page)
    page.dispatch_event(target, "drop", {"dataTransfer": page.evaluate_handle(LINK_ONLY)})
    page.wait_for_selector("#error:not([hidden])", timeout=3_000)
    message = page.inner_text("#error-message")
    assert "file" in message and "web page" in message
    assert sent == []


def test_a_link_dropped_after_a_photo_leaves_no_old_photo_beside_the_message(page: Any) -> None:
    upload(page, "first.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    assert read_result(page)["label"] == "opened"
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": page.evaluate_handle(LINK_ONLY)})
    page.wait_for_selector("#error:not([hidden])")
    assert page.is_hidden("#result") and page.is_hidden("#preview") and page.is_hidden("#file-name")


def test_text_dragged_into_the_api_key_field_is_no_error(browser: Any, auth_server: LiveServer) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(auth_server.url + "/")
        upload(page, "p.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        page.wait_for_selector("#key-form:not([hidden])")  # 401: the page asks for a key
        before = page.inner_text("#error-message")
        text = page.evaluate_handle(
            "() => { const dt = new DataTransfer(); dt.setData('text/plain', 'cs_x'); return dt; }"
        )
        prevented = page.evaluate(
            """dt => {
                const e = new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true });
                return !document.getElementById('api-key').dispatchEvent(e);
            }""",
            text,
        )
        assert prevented is False  # the browser may put the text in the field
        assert page.inner_text("#error-message") == before
    finally:
        context.close()
