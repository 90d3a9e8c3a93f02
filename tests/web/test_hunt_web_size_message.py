"""A photo a few bytes over the server's upload limit is refused with sizes a person can compare.

Both sizes were rounded alike: "The file is 977 KB; the limit is 977 KB" (or "16.0 MB; the limit is
16 MB" on a default server), a refusal that reads as if the photo were within the limit.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, SERVER_MAX_UPLOAD_BYTES, LiveServer, classify_requests

pytestmark = pytest.mark.browser

CHOOSE_FILE_OF_SIZE = """size => {
    const input = document.getElementById('file-input');
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(size)], 'IMG_2041.jpg', { type: 'image/jpeg' }));
    input.files = dt.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
}"""


def _told_apart(size: str, limit: str) -> bool:
    """What a person compares: the rounded figures ("16.0 MB" is "16 MB"), or the exact bytes beside
    them when those agree."""
    (size_n, size_unit), (limit_n, limit_unit) = size.split()[:2], limit.split()[:2]
    if float(size_n) != float(limit_n) or size_unit != limit_unit:
        return True
    return "bytes" in size and size != limit


@pytest.mark.parametrize("over", [1, 300])
def test_a_file_just_over_the_limit_is_shown_bigger_than_the_limit(page: Any, over: int) -> None:
    requests = classify_requests(page)
    page.wait_for_selector("#model-info.ready")  # the limit comes from /v1/models
    page.evaluate(CHOOSE_FILE_OF_SIZE, SERVER_MAX_UPLOAD_BYTES + over)
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error-message")
    found = re.search(r"is (.+); the limit is (.+)\. Please", message)
    assert found is not None, message
    size, limit = found.groups()
    assert _told_apart(size, limit), message
    assert "the limit is 977 KB" in message  # still the figure the page's hint shows
    assert requests == []


def test_on_the_default_limit_too(browser: Any, live_server: LiveServer) -> None:
    """/v1/models unanswered, the page holds photos to its default 16 MB: "16.0 MB; the limit is 16 MB"."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.route("**/v1/models", lambda route: route.abort())
        page.goto(live_server.url + "/")
        page.evaluate(CHOOSE_FILE_OF_SIZE, 16 * 1024 * 1024 + 1)
        page.wait_for_selector("#error:not([hidden])")
        message = page.inner_text("#error-message")
        found = re.search(r"is (.+); the limit is (.+)\. Please", message)
        assert found is not None, message
        size, limit = found.groups()
        assert _told_apart(size, limit), message
    finally:
        context.close()
