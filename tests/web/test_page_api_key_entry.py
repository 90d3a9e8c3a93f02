"""The API key a person types or pastes into the page when the server requires one."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, classify_requests, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def test_a_key_with_a_character_no_key_has_is_refused_before_it_is_sent(
    browser: Any, auth_server: LiveServer
) -> None:
    """A key cut off with "…" (what a narrow terminal shows) cannot go in an HTTP header: fetch failed
    as if the server were down ("Could not reach the server"), and the key was kept, so every photo
    after failed the same way with no key form to fix it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(auth_server.url + "/")
        data = photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150), seed=5)
        upload(page, "p.jpg", "image/jpeg", data)
        page.wait_for_selector("#key-form:not([hidden])")
        sent = classify_requests(page)
        page.fill("#api-key", "cs_1a2b3c…")
        page.press("#api-key", "Enter")
        page.wait_for_function("() => document.getElementById('error-message').textContent.includes('key')")
        assert "Could not reach" not in page.inner_text("#error-message")
        assert sent == []
        assert page.is_visible("#key-form")
        assert page.get_attribute("#api-key", "aria-invalid") == "true"
        assert page.evaluate("() => document.activeElement.id") == "api-key"
        assert page.evaluate("() => sessionStorage.getItem('capsight-api-key')") is None

        assert auth_server.api_key is not None
        page.fill("#api-key", auth_server.api_key)
        page.press("#api-key", "Enter")
        assert read_result(page)["label"] == "opened"
        assert page.get_attribute("#api-key", "aria-invalid") is None
    finally:
        context.close()


def test_a_bad_key_kept_by_an_older_page_asks_for_a_new_one(browser: Any, auth_server: LiveServer) -> None:
    """The tab kept a key from before the page checked them: the page asks for a key again rather
    than fail every upload with the browser's own message about header values."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.add_init_script("sessionStorage.setItem('capsight-api-key', 'cs_1a2b3c…')")
        page.goto(auth_server.url + "/")
        upload(page, "p.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150), seed=6))
        page.wait_for_selector("#key-form:not([hidden])")
        assert "header" not in page.inner_text("#error-message")
    finally:
        context.close()
