"""On a phone the reason a photo was refused is on screen, in real headless Chromium.

The page scrolled the result card into view only when the card's top edge was near the bottom of the
screen. On a 360 x 740 phone (a common Android size) the card's heading was just on screen, so nothing
scrolled, and the message under "This photo could not be classified" sat below the fold: the person
saw a red heading and not the reason (a text file named .jpg, an empty file, a file over the limit).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, SERVER_MAX_UPLOAD_BYTES, LiveServer, upload

pytestmark = pytest.mark.browser

ERROR_IN_VIEW = """() => {
  const e = document.getElementById('error');
  const r = e.getBoundingClientRect();
  return !e.hidden && r.top >= 0 && r.bottom <= window.innerHeight;
}"""


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.jpg", b"shopping list: milk, bread\n" * 8),  # the server refuses it
        ("empty.jpg", b""),  # refused by the page before it is sent
        ("huge.jpg", os.urandom(SERVER_MAX_UPLOAD_BYTES + 1)),
    ],
)
def test_the_reason_a_file_was_refused_is_on_a_phone_screen(
    browser: Any, live_server: LiveServer, name: str, data: bytes
) -> None:
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, reduced_motion="reduce"
    )
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        page.wait_for_selector("#model-info.ready")  # the server's upload limit is known
        upload(page, name, "image/jpeg", data)
        page.wait_for_selector("#error:not([hidden])")
        page.wait_for_function(ERROR_IN_VIEW, timeout=5_000)
    finally:
        context.close()
