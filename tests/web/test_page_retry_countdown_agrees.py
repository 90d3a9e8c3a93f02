"""After a refusal that says when to come back, the error text and the "Try again" countdown tell the
same remaining time, in real headless Chromium with the page's clock under the test's control.

The message kept the wait as it was when the answer came, "(retry in 28 min)", while the button
counted down: a minute later the card said "retry in 28 min" next to "Try again in 27 min", and at the
end "retry in 28 min" next to a "Try again" that worked. Both now read one deadline.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import photo_jpeg, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def _refuse(page: Any, retry_after: str) -> None:
    page.route(
        "**/v1/classify",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": retry_after},
            content_type="application/json",
            body=json.dumps({"error": "Rate limit exceeded."}),
        ),
    )
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#error:not([hidden])")


def _texts(page: Any) -> tuple[str, str]:
    return str(page.inner_text("#error-message")), str(page.inner_text("#retry-button"))


def _waits(page: Any) -> tuple[str, str]:
    """The wait each of the two tells (the clock runs on between the test's steps: seconds may drift)."""
    message, button = _texts(page)
    assert message.startswith("Rate limit exceeded. (retry in ") and message.endswith(")"), message
    assert button.startswith("Try again in "), button
    return message.removeprefix("Rate limit exceeded. (retry in ").removesuffix(")"), button.removeprefix(
        "Try again in "
    )


def test_the_message_counts_down_with_the_button(page: Any) -> None:
    page.clock.install()
    _refuse(page, str(28 * 60))
    assert _texts(page) == ("Rate limit exceeded. (retry in 28 min)", "Try again in 28 min")

    page.clock.run_for(61_000)
    assert _texts(page) == ("Rate limit exceeded. (retry in 27 min)", "Try again in 27 min")

    page.clock.fast_forward(1_527_000)  # 1590 s in: 90 s left
    page.clock.run_for(1_000)
    message_wait, button_wait = _waits(page)
    assert message_wait == button_wait
    assert message_wait in {"89 s", "90 s", "91 s"}

    page.clock.fast_forward(92_000)
    page.clock.run_for(1_000)
    assert _texts(page) == ("Rate limit exceeded. (you can retry now)", "Try again")
    assert page.inner_text("#status") == "You can try again now."


def test_seconds_count_down_together_and_are_not_read_out_at_every_tick(page: Any) -> None:
    page.clock.install()
    _refuse(page, "45")
    assert _texts(page) == ("Rate limit exceeded. (retry in 45 s)", "Try again in 45 s")
    page.clock.run_for(10_000)
    message_wait, button_wait = _waits(page)
    assert message_wait == button_wait
    assert message_wait in {"34 s", "35 s"}
    # The changing part of the alert is kept out of its announcements, like the button's countdown.
    live = page.evaluate(
        """() => {
            const msg = document.getElementById('error-message');
            const node = [...msg.querySelectorAll('*')].find(n => n.textContent.includes('retry in'));
            return node ? node.getAttribute('aria-live') : null;
        }"""
    )
    assert live == "off"
