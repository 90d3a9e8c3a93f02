"""The heading over an upload that failed for a reason that is not the photo, in real headless
Chromium.

Every failure was headed "This photo could not be classified": with the server unreachable (a phone
out of signal, the server restarting), silent, or busy (429, 503), people tried another photo, or
gave up on this one, when the same photo a moment later would have been answered. The heading now
names the cause (a 408: the upload was too slow); a photo the server refuses keeps "This photo could not be
classified".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import photo_jpeg, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def _answer(status: int) -> Any:
    def handle(route: Any) -> None:
        if status == 0:
            route.abort("connectionreset")
            return
        route.fulfill(
            status=status,
            headers={"Retry-After": "5"},
            content_type="application/json",
            body=json.dumps({"error": "Server is overloaded, retry shortly."}),
        )

    return handle


@pytest.mark.parametrize(
    ("status", "heading"),
    [
        (0, "The server could not be reached"),
        (429, "Too many requests for now"),
        (503, "The server is busy"),
        (408, "The upload did not reach the server in time"),
        (400, "This photo could not be classified"),
    ],
)
def test_the_heading_names_the_cause(page: Any, status: int, heading: str) -> None:
    page.route("**/v1/classify", _answer(status))
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text(".error-title") == heading


def test_the_heading_of_an_upload_the_server_never_answers(page: Any) -> None:
    page.clock.install()
    page.route("**/v1/classify", lambda route: None)  # held unanswered, as a dead link holds it
    with page.expect_request("**/v1/classify"):
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.clock.fast_forward(61_000)
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text(".error-title") == "The server did not answer"
