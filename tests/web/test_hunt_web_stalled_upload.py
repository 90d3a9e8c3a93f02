"""An upload the server never answers (a dead mobile link, a proxy holding the request): the page
must not say "Classifying…" forever. A Cancel button stops it, and a long silence ends it with a
message and "Try again". The stalled server is a Playwright route that never answers."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def _stall(page: Any) -> None:
    """Hold every classify request unanswered, as a server that never answers would."""
    page.route("**/v1/classify", lambda route: None)  # neither fulfilled nor continued


def test_a_stalled_upload_can_be_cancelled_from_the_keyboard(page: Any) -> None:
    _stall(page)
    with page.expect_request("**/v1/classify"):
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    assert page.is_visible("#busy")
    page.focus("#cancel-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#busy", state="hidden")
    assert "cancelled" in page.inner_text("#status").lower()
    assert page.is_hidden("#cancel-button")
    assert page.get_attribute("#choose-button", "aria-disabled") == "false"
    assert page.evaluate("() => document.activeElement.id") == "choose-button"  # not dropped to <body>
    page.unroute("**/v1/classify")
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    assert read_result(page)["label"] == "opened"
    assert page.is_hidden("#cancel-button")


def test_an_upload_the_server_never_answers_ends_with_a_message_and_try_again(page: Any) -> None:
    page.clock.install()
    _stall(page)
    with page.expect_request("**/v1/classify"):
        photo = photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150))
        upload(page, "IMG_0002.jpg", "image/jpeg", photo, selector="#camera-input")
    assert page.is_visible("#busy")
    page.clock.fast_forward(30_000)
    assert page.is_visible("#busy")  # a slow answer is not a stalled one
    page.clock.fast_forward(31_000)
    page.wait_for_selector("#error:not([hidden])")
    assert "did not answer" in page.inner_text("#error-message")
    assert page.is_hidden("#busy")
    assert page.is_hidden("#cancel-button")
    page.unroute("**/v1/classify")
    page.click("#retry-button")  # the camera photo is sent again
    assert read_result(page)["label"] == "opened"
