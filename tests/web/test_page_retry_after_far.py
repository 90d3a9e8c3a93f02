"""A refusal whose Retry-After is hours, days or years away (429, 503), in real headless Chromium with
the page's clock set.

A gateway with a wrong clock sent an HTTP date years ahead: the page counted it down as "retry in
95488 h 37 min", "Try again" locked for a decade. A long wait is now said as a time on the person's
clock (with the day when it is not today), and a wait past a week is not believed: "retry later", with
"Try again" offered. An answer to "Is this right?" said "Please try again after 10:00" for a date years
away, as if it were today: it says "later" too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from web_support import (
    LiveServer,
    page_at,
    photo_jpeg,
    read_result,
    refuse_with_retry_after,
    upload,
)

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

NOW = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.UTC)
YEARS_AWAY = "Fri, 01 Jan 2038 00:00:00 GMT"


@pytest.mark.parametrize(
    ("retry_after", "note", "button", "locked"),
    [
        ("30000", " (retry after 18:20)", "Try again after 18:20", "true"),
        ("86400", " (retry after Mon 30 Nov, 10:00)", "Try again after Mon 30 Nov, 10:00", "true"),
        (
            "Wed, 02 Dec 2026 08:30:00 GMT",
            " (retry after Wed 2 Dec, 08:30)",
            "Try again after Wed 2 Dec, 08:30",
            "true",
        ),
        (YEARS_AWAY, " (retry later)", "Try again", "false"),
        ("999999999", " (retry later)", "Try again", "false"),
        ("3600", " (retry in 1 h)", "Try again in 1 h", "true"),
    ],
)
def test_a_long_wait_is_a_time_on_the_clock_and_an_absurd_one_is_later(
    browser: Any, live_server: LiveServer, retry_after: str, note: str, button: str, locked: str
) -> None:
    page = page_at(browser, live_server, NOW)
    try:
        refuse_with_retry_after(page, "**/v1/classify", retry_after)
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        page.wait_for_selector("#error:not([hidden])")
        assert page.inner_text("#error-message") == "Rate limit exceeded." + note
        assert page.inner_text("#retry-button") == button
        assert page.get_attribute("#retry-button", "aria-disabled") == locked
    finally:
        page.context.close()


def test_a_feedback_refusal_years_away_says_later(browser: Any, live_server: LiveServer) -> None:
    page = page_at(browser, live_server, NOW)
    try:
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], seed=5))
        assert read_result(page)["label"] == "opened"
        refuse_with_retry_after(page, "**/v1/feedback", YEARS_AWAY)
        page.click("#feedback-yes")
        page.wait_for_function(
            "() => document.getElementById('feedback-status').textContent.startsWith('Your answer')"
        )
        assert page.inner_text("#feedback-status") == (
            "Your answer was not recorded: Rate limit exceeded. Please try again later."
        )
    finally:
        page.context.close()
