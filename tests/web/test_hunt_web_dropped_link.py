"""A picture dragged from another web page (Safari hands over its address, not the image) dropped on
the upload page, in real headless Chromium.

The page did nothing at all: no request, no message, the prompt still saying "Drop a photo here",
so the person dropped it again and again.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import classify_requests, photo_jpeg, read_result, upload

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
