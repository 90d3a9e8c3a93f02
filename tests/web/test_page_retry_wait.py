"""After a refusal that says when to come back (429 with "retry in 28 min"), "Try again" waits, in real
headless Chromium with the page's clock under the test's control.

It was offered at once, and pressing it only met the same refusal again. Now it says how long is left
and does nothing until then, keeps the keyboard focus (aria-disabled, not disabled), keeps the
countdown out of the alert's announcements, and the status region says once when it is time.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def test_try_again_waits_for_the_time_the_server_asked_for(page: Any) -> None:
    page.clock.install()
    calls: list[str] = []

    def limited_once(route: Any) -> None:
        calls.append(route.request.method)
        if len(calls) == 1:
            route.fulfill(
                status=429,
                headers={"Retry-After": str(28 * 60)},
                content_type="application/json",
                body=json.dumps({"error": "Rate limit exceeded."}),
            )
        else:
            route.continue_()

    page.route("**/v1/classify", limited_once)
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#error:not([hidden])")
    button = "#retry-button"
    assert page.get_attribute(button, "aria-disabled") == "true"
    assert page.inner_text(button) == "Try again in 28 min"
    # The countdown sits in the alert region: it must not be read out at every change.
    assert page.get_attribute(button, "aria-live") == "off"

    page.focus(button)
    page.keyboard.press("Enter")
    page.clock.run_for(2_000)
    assert len(calls) == 1  # nothing sent while the wait lasts
    assert page.is_visible("#error")
    assert page.evaluate("() => document.activeElement.id") == "retry-button"

    page.clock.run_for(61_000)
    assert page.inner_text(button) == "Try again in 27 min"  # updating
    assert page.inner_text("#status") == ""  # nothing announced while waiting

    page.clock.fast_forward(27 * 60_000)
    page.clock.run_for(1_000)
    assert page.get_attribute(button, "aria-disabled") == "false"
    assert page.inner_text(button) == "Try again"
    assert page.inner_text("#status") == "You can try again now."
    assert page.evaluate("() => document.activeElement.id") == "retry-button"
    page.keyboard.press("Enter")
    assert read_result(page)["label"] == "opened"
    assert len(calls) == 2
