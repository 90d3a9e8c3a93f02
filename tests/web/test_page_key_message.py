"""The first upload to a server that needs an API key, in real headless Chromium against the real app
with keys required.

The page showed the server's words for API clients, "Missing API key: send 'Authorization: Bearer
<key>' or 'X-API-Key: <key>'.", above the key field: a person on the page sends no header, and was
told to. It says what to do on the page instead."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def test_the_first_upload_without_a_key_says_to_enter_it_below(browser: Any, auth_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(auth_server.url + "/")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        page.wait_for_selector("#key-form:not([hidden])")
        message = page.inner_text("#error-message")
        for jargon in ("Authorization", "X-API-Key", "Bearer", "header"):
            assert jargon not in message
        assert "API key" in message and "below" in message

        # A wrong key is still named as the server names it.
        page.fill("#api-key", "cs_not-a-real-key")
        page.press("#api-key", "Enter")
        page.wait_for_function(
            "() => document.getElementById('error-title').textContent.includes('not accepted')"
        )
        assert page.inner_text("#error-message") == "Invalid or revoked API key."
        assert auth_server.api_key is not None
        page.fill("#api-key", auth_server.api_key)
        page.press("#api-key", "Enter")
        assert read_result(page)["label"] == "opened"
    finally:
        context.close()
