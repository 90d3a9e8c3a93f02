"""A refused upload that says when to come back (429 rate limit, 503 busy): the wait is shown as a
person reads it, in real headless Chromium.

Retry-After may be a number of seconds or an HTTP date (RFC 9110; a proxy or gateway in front of
capsight often sends the date). The page showed the date as sent, "(retry after Sun, 29 Nov 2026
03:12:00 GMT)", in a time zone the person is not in; and an hour as "(retry in 3600 s)".
"""

from __future__ import annotations

import json
import time
from email.utils import formatdate
from typing import Any

import pytest
from web_support import photo_jpeg, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def _refused(page: Any, status: int, retry_after: str) -> str:
    page.route(
        "**/v1/classify",
        lambda route: route.fulfill(
            status=status,
            headers={"Retry-After": retry_after},
            content_type="application/json",
            body=json.dumps({"error": "Rate limit exceeded."}),
        ),
    )
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#error:not([hidden])")
    return str(page.inner_text("#error-message"))


@pytest.mark.parametrize(
    ("status", "retry_after", "shown"),
    [
        (429, "45", "Rate limit exceeded. (retry in 45 s)"),
        (429, "3600", "Rate limit exceeded. (retry in 1 h)"),
        (503, "150", "Rate limit exceeded. (retry in 3 min)"),
        (429, "60", "Rate limit exceeded. (retry in 60 s)"),
        (429, "date+300", "Rate limit exceeded. (retry in 5 min)"),
        (429, "date-30", "Rate limit exceeded. (you can retry now)"),
        (429, "soon", "Rate limit exceeded."),
    ],
)
def test_the_wait_is_shown_in_seconds_minutes_or_hours_from_now(
    page: Any, status: int, retry_after: str, shown: str
) -> None:
    if retry_after.startswith("date"):
        retry_after = formatdate(time.time() + int(retry_after[4:]), usegmt=True)
    assert _refused(page, status, retry_after) == shown
