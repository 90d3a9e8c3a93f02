"""The server refuses the upload for its API key (401 no key or a wrong one, 403 a key without the
right), in real headless Chromium against the real app with keys required.

The page put the server's words under the heading "This photo could not be classified": a person with
a perfectly good photo went looking for a fault in it, not in the key.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def _error(page: Any) -> dict[str, str]:
    page.wait_for_selector("#error:not([hidden])")
    return {"title": page.inner_text(".error-title"), "message": page.inner_text("#error-message")}


@pytest.mark.parametrize("stored_key", ["", "cs_not-a-real-key"])
def test_a_missing_or_wrong_key_is_named_as_the_problem(
    browser: Any, auth_server: LiveServer, stored_key: str
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        if stored_key:
            page.add_init_script(f"sessionStorage.setItem('capsight-api-key', '{stored_key}')")
        page.goto(auth_server.url + "/")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        page.wait_for_selector("#key-form:not([hidden])")
        shown = _error(page)
        assert "API key" in shown["title"]
        assert "photo" not in shown["title"]

        # The right key: the answer comes, and the next failure about the photo gets its own heading.
        assert auth_server.api_key is not None
        page.fill("#api-key", auth_server.api_key)
        page.press("#api-key", "Enter")
        assert read_result(page)["label"] == "opened"
        upload(page, "notes.jpg", "image/jpeg", b"not a photo at all\n" * 4)
        assert _error(page)["title"] == "This photo could not be classified"
    finally:
        context.close()


def test_a_key_without_the_right_is_named_as_the_problem(browser: Any, auth_server: LiveServer) -> None:
    # The 403 is the test's own: the module's app with keys serves the page (a second app without
    # keys, for the page fixture, cost a start and a stop).
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.route(
            "**/v1/classify",
            lambda route: route.fulfill(
                status=403,
                content_type="application/json",
                body='{"error": "This API key may not classify images."}',
            ),
        )
        page.goto(auth_server.url + "/")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        shown = _error(page)
        assert "API key" in shown["title"] and "photo" not in shown["title"]
        assert shown["message"] == "This API key may not classify images."
    finally:
        context.close()
