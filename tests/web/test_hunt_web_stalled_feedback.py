"""An answer to "Is this right?" that the server never acknowledges: the page said "Sending…" for
ever, and as answers are sent one after another, every later answer (for this photo or the next)
waited behind it and was never sent. The stalled server is a Playwright route that never answers."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

STATUS_IS = "t => document.getElementById('feedback-status').textContent.startsWith(t)"


def test_a_stalled_answer_fails_with_a_message_and_does_not_block_the_next(page: Any) -> None:
    page.clock.install()
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150), seed=31))
    assert read_result(page)["label"] == "opened"
    page.route("**/v1/feedback", lambda route: None)  # neither fulfilled nor continued
    with page.expect_request("**/v1/feedback"):
        page.click("#feedback-labels button[data-label='closed']")
    assert page.inner_text("#feedback-status") == "Sending…"
    page.clock.fast_forward(61_000)
    page.wait_for_function(STATUS_IS, arg="The server did not answer")
    assert "not recorded" in page.inner_text("#feedback-status")
    assert page.get_attribute("#feedback-status", "class") == "feedback-status failed"
    page.unroute("**/v1/feedback")
    page.click("#feedback-yes")  # sent now, not queued behind the stalled one
    page.wait_for_function(STATUS_IS, arg="Thanks")
    assert page.inner_text("#feedback-status") == "Thanks: recorded that this is opened."
