"""An upload the server failed on (500: the model or the server broke) is told as the server's fault, in
real headless Chromium.

It was headed "This photo could not be classified" with "Try again" under it: a person could not tell
whether to fix the photo or wait for the server, and tried other photos, which failed alike. The heading
now names the server, the message says the photo is not at fault and that trying again, now or later,
may help; a 4xx about the photo itself keeps its own heading.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import photo_jpeg, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def _refuse(page: Any, status: int, body: dict[str, str] | None) -> dict[str, Any]:
    page.route(
        "**/v1/classify",
        lambda route: route.fulfill(
            status=status, content_type="application/json", body=json.dumps(body) if body else ""
        ),
    )
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#error:not([hidden])")
    return {
        "title": page.inner_text("#error-title"),
        "message": page.inner_text("#error-message"),
        "retry": page.is_visible("#retry-button"),
    }


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, {"error": "Inference failed."}), (500, {"error": "Internal error."}), (500, None), (501, None)],
)
def test_a_server_failure_says_it_is_the_server_not_the_photo(
    page: Any, status: int, body: dict[str, str] | None
) -> None:
    shown = _refuse(page, status, body)
    assert shown["title"] == "Something went wrong on the server"
    assert "photo could not be classified" not in shown["title"]
    if body:
        assert shown["message"].startswith(body["error"])  # the server's own words kept
    assert "not your photo" in shown["message"]
    assert "try again" in shown["message"].lower() and "later" in shown["message"]
    assert shown["retry"]


def test_a_photo_the_server_refuses_keeps_the_photo_heading(page: Any) -> None:
    shown = _refuse(page, 400, {"error": "Not an image: the bytes are no supported format."})
    assert shown["title"] == "This photo could not be classified"
    assert "not your photo" not in shown["message"]
    assert not shown["retry"]
