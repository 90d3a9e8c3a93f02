"""An answer that is not a classification (a Wi-Fi sign-in page served in place of the server's, a
proxy's page) is not blamed on the photo, in real headless Chromium.

A hotel or café network that wants a sign-in answers every request with its own web page, 200 OK. The
page headed that "This photo could not be classified", said "The server sent an unexpected answer."
and offered no "Try again": people gave up on a good photo. Now the heading names the answer, the
message says a web page came instead and what to do, and "Try again" sends the same photo.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

PORTAL = "<!doctype html><html><head><title>Sign in</title></head><body>Welcome to Café Wi-Fi</body></html>"


def test_a_sign_in_page_instead_of_an_answer_is_not_blamed_on_the_photo(page: Any) -> None:
    intercept = {"yes": True}

    def portal(route: Any) -> None:
        if intercept["yes"]:
            route.fulfill(status=200, content_type="text/html", body=PORTAL)
        else:
            route.continue_()

    page.route("**/v1/classify", portal)
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error-title") == "The answer was not from the classifier"
    message = page.inner_text("#error-message")
    assert "web page" in message and "sign" in message, message
    assert page.is_visible("#retry-button")

    intercept["yes"] = False
    page.click("#retry-button")
    assert read_result(page)["label"] == "opened"


def test_json_without_a_label_is_not_blamed_on_the_photo_either(page: Any) -> None:
    page.route(
        "**/v1/classify",
        lambda route: route.fulfill(status=200, content_type="application/json", body='{"status": "ok"}'),
    )
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error-title") == "The answer was not from the classifier"
    assert page.inner_text("#error-message") == "The server sent an unexpected answer."
    assert page.is_visible("#retry-button")
