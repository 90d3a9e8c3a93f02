"""While "Try again" waits out the time the server asked for, the pointer over it says "not now", not
"working", in real headless Chromium.

Every button marked aria-disabled took the "progress" pointer (a spinning wheel): right for "Choose
photo" while a photo is on its way, wrong for "Try again in 28 min", where nothing is happening and
nothing will for 28 minutes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import photo_jpeg, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

CURSOR = "e => getComputedStyle(e).cursor"


def test_the_waiting_button_does_not_show_a_busy_pointer(page: Any) -> None:
    held: list[Any] = []
    page.route("**/v1/classify", lambda route: held.append(route))
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#busy", state="visible")
    assert page.eval_on_selector("#choose-button", CURSOR) == "progress"  # a photo is on its way

    held[0].fulfill(
        status=429,
        headers={"Retry-After": str(28 * 60)},
        content_type="application/json",
        body=json.dumps({"error": "Rate limit exceeded."}),
    )
    page.wait_for_selector("#error:not([hidden])")
    assert page.get_attribute("#retry-button", "aria-disabled") == "true"
    assert page.eval_on_selector("#retry-button", CURSOR) == "not-allowed"
    assert page.eval_on_selector("#choose-button", CURSOR) == "pointer"
