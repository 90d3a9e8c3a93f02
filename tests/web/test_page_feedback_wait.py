"""An answer to "Is this right?" refused for now (429 rate limit, 503 busy) says when it can be sent,
in real headless Chromium with the page's clock set.

The page said "Your answer was not recorded: Rate limit exceeded." and nothing more: people clicked
again and again into the same refusal, the server's Retry-After unread. It now names the time on the
person's clock (a wait in minutes, written once, would go stale in a line that stays on screen).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

NOW = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("status", "retry_after", "shown"),
    [
        (429, "150", "Your answer was not recorded: Rate limit exceeded. Please try again after 10:03."),
        (503, "3600", "Your answer was not recorded: Server is busy. Please try again after 11:00."),
        (429, "", "Your answer was not recorded: Rate limit exceeded."),
    ],
)
def test_a_refused_answer_says_when_to_send_it_again(
    browser: Any, live_server: LiveServer, status: int, retry_after: str, shown: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="UTC")
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.clock.set_fixed_time(NOW)
        page.goto(live_server.url + "/")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150), seed=5))
        assert read_result(page)["label"] == "opened"
        error = "Rate limit exceeded." if status == 429 else "Server is busy."
        page.route(
            "**/v1/feedback",
            lambda route: route.fulfill(
                status=status,
                headers={"Retry-After": retry_after} if retry_after else {},
                content_type="application/json",
                body=json.dumps({"error": error}),
            ),
        )
        page.click("#feedback-yes")
        page.wait_for_function(
            "() => document.getElementById('feedback-status').textContent.startsWith('Your answer')"
        )
        assert page.inner_text("#feedback-status") == shown
    finally:
        context.close()
