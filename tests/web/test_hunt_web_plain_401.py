"""An API gateway in front of capsight refuses an upload with its own plain 401 or 403 (no JSON error
to quote), in real headless Chromium.

The page asked for an API key, as it should, but said "The server rejected this file (HTTP 401)":
the person went looking for a fault in the photo, not in their key.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import photo_jpeg, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("status", [401, 403])
def test_a_gateways_plain_refusal_blames_the_key_not_the_photo(page: Any, status: int) -> None:
    page.route(
        "**/v1/classify",
        lambda route: route.fulfill(
            status=status,
            headers={"Content-Type": "text/plain"},
            body="Unauthorized" if status == 401 else "",
        ),
    )
    upload(page, "a.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#key-form:not([hidden])")
    message = page.inner_text("#error-message")
    assert "API key" in message and f"HTTP {status}" in message
    assert "file" not in message
