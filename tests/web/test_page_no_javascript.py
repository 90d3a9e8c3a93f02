"""The page with JavaScript off (NoScript, Tor Browser's safest level), in real headless Chromium.

Its form for that case was there, but so was the whole page it stands in for: a second "Choose photo"
that did nothing, a drop zone that dropped nothing ("Drop a photo here", and the browser opened the
photo in place of the page) and "Loading model…" for ever in the header. With JavaScript off only the
form that works is shown; it sends the photo and the server answers in JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def test_only_the_form_that_works_is_shown(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        shown = page.inner_text("body")
        assert "This page needs JavaScript" in shown
        for dead in ("Drop a photo here", "Choose photo", "Loading model", "No photo classified yet"):
            assert dead not in shown, dead
        assert page.is_hidden("#drop-zone") and page.is_hidden("#model-info")
        assert page.is_visible("h1")  # what the page is for, still said
        page.set_input_files(
            "form.noscript input[type=file]",
            files=[
                {
                    "name": "bottle.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)),
                }
            ],
        )
        with page.expect_navigation():
            page.click("form.noscript button[type=submit]")
        answer = json.loads(page.inner_text("body"))
        assert 0 <= answer["confidence"] <= 1
    finally:
        context.close()


def test_with_javascript_the_page_shows_no_form_for_without(page: Any) -> None:
    shown = page.inner_text("body")
    assert "This page needs JavaScript" not in shown
    assert page.is_visible("#drop-zone") and page.is_visible("#choose-button")
