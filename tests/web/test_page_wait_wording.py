"""When to come back after a refusal (429, 503 with Retry-After), in a browser set to another language,
in real headless Chromium with the page's clock set.

The page is in English, and a short wait was English everywhere ("retry in 30 s"), but a time on the
clock was written in the browser's own language inside the English sentence: "Try again after Mo.,
30. Nov., 10:00" (German), "after 06:20 PM" beside "18:20" elsewhere (US English), Arabic-Indic digits
(Arabic). The moment is now written as the rest of the page writes it, "Mon 30 Nov, 10:00", in every
browser, still on the person's own clock (time zone).
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
LOCALES = ["en-US", "de-DE", "ar-EG"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("retry_after", "when"),
    [("30000", "after 18:20"), ("86400", "after Mon 30 Nov, 10:00"), ("90", "in 90 s")],
)
def test_an_upload_refusal_says_when_in_the_page_words(
    browser: Any, live_server: LiveServer, locale: str, retry_after: str, when: str
) -> None:
    page = page_at(browser, live_server, NOW, locale)
    try:
        refuse_with_retry_after(page, "**/v1/classify", retry_after)
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        page.wait_for_selector("#error:not([hidden])")
        assert page.inner_text("#error-message") == f"Rate limit exceeded. (retry {when})"
        assert page.inner_text("#retry-button") == f"Try again {when}"
    finally:
        page.context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_a_feedback_refusal_says_when_in_the_page_words(
    browser: Any, live_server: LiveServer, locale: str
) -> None:
    page = page_at(browser, live_server, NOW, locale)
    try:
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], seed=5))
        assert read_result(page)["label"] == "opened"
        refuse_with_retry_after(page, "**/v1/feedback", "150")
        page.click("#feedback-yes")
        page.wait_for_function(
            "() => document.getElementById('feedback-status').textContent.startsWith('Your answer')"
        )
        assert page.inner_text("#feedback-status") == (
            "Your answer was not recorded: Rate limit exceeded. Please try again after 10:03."
        )
    finally:
        page.context.close()
