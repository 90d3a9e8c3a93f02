"""The server goes away between a photo's answer and the person's "Is this right?", in real headless
Chromium.

An upload that finds the server gone asks the server again, and the header turns to "Model information
unavailable" (test_page_server_gone.py). A feedback send that found it gone said "Could not reach the
server to send your answer." while the header kept its green dot and "Model … ready" beside it: two
answers at once. It now asks again too, for a refused connection and for a proxy's 502/504 alike.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, photo_jpeg, read_result, upload

from capsight.settings import Settings
from live_app import serve
from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

DOWN_TIMEOUT_MS = 5_000
FAILED = "() => document.getElementById('feedback-status').classList.contains('failed')"


def test_a_feedback_send_that_finds_the_server_stopped_turns_the_header(
    browser: Any, colour_model_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(model_dir=colour_model_dir, data_dir=tmp_path, intra_op_threads=1)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        with contextlib.ExitStack() as running:
            url = running.enter_context(serve(settings))
            page.goto(url + "/")
            page.wait_for_selector("#model-info.ready")
            upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
            assert read_result(page)["label"] == "opened"
        # The server is stopped (its port closed); the page still shows the answer and the question.
        page.click("#feedback-yes")
        page.wait_for_function(FAILED)
        assert page.inner_text("#feedback-status") == "Could not reach the server to send your answer."
        page.wait_for_selector("#model-info.down", timeout=DOWN_TIMEOUT_MS)
        assert page.inner_text("#model-text") == "Model information unavailable"
    finally:
        context.close()


@pytest.mark.parametrize("code", [502, 504])
def test_a_feedback_send_that_meets_a_gateway_error_turns_the_header(page: Any, code: int) -> None:
    """nginx in front, the app behind it gone: the proxy answers 502 (or 504) for every path."""
    page.wait_for_selector("#model-info.ready")
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["closed"], size=(200, 150)))
    assert read_result(page)["label"] == "closed"

    def gateway(route: Any) -> None:
        route.fulfill(status=code, content_type="text/html", body=f"<html><h1>{code}</h1></html>")

    page.route("**/v1/feedback", gateway)
    page.route("**/v1/models", gateway)
    page.click("#feedback-yes")
    page.wait_for_function(FAILED)
    assert page.inner_text("#feedback-status").startswith("Your answer was not recorded")
    page.wait_for_selector("#model-info.down", timeout=DOWN_TIMEOUT_MS)
