"""After a failure that was the server's or the network's, "Try again" sends the same photo again: a
photo just taken with the phone camera cannot be chosen again, only taken again."""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def test_try_again_sends_the_camera_photo_again(page: Any) -> None:
    page.clock.install()  # the 1 s the server asks for passes on the page's clock, not in real time
    calls: list[str] = []

    def busy_once(route: Any) -> None:
        calls.append(route.request.method)
        if len(calls) == 1:
            route.fulfill(
                status=503,
                headers={"Retry-After": "1"},
                content_type="application/json",
                body=json.dumps({"error": "Server is overloaded, retry shortly."}),
            )
        else:
            route.continue_()

    page.route("**/v1/classify", busy_once)
    upload(
        page,
        "IMG_0001.jpg",
        "image/jpeg",
        photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)),
        selector="#camera-input",
    )
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error-message") == "Server is overloaded, retry shortly. (retry in 1 s)"
    page.clock.run_for(1_000)
    page.wait_for_selector("#retry-button[aria-disabled='false']")  # after the 1 s asked for
    page.focus("#retry-button")
    page.keyboard.press("Enter")
    assert read_result(page)["label"] == "opened"
    assert len(calls) == 2
    assert page.inner_text("#file-name").startswith("IMG_0001.jpg")
    assert page.evaluate("() => document.activeElement.id") == "choose-button"  # not dropped to <body>


def test_no_try_again_when_the_file_itself_was_refused(page: Any) -> None:
    upload(page, "notes.txt", "text/plain", b"not a photo")
    page.wait_for_selector("#error:not([hidden])")
    assert page.is_hidden("#retry-button")
