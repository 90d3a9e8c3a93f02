"""What a screen reader finds in the photo card, read line by line, in real headless Chromium.

The two file inputs are hidden (the buttons open them), but their visually-hidden labels were not:
reading the card, a screen reader said "Photo file Photo from camera" between "Take photo" and the
file name, words that name nothing the person can reach.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer

pytestmark = pytest.mark.browser


def test_no_label_of_a_hidden_input_is_read_out(browser: Any, live_server: LiveServer) -> None:
    # A touch screen, where both buttons are offered (a desktop has no "Take photo").
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        tree = page.locator(".upload-card").aria_snapshot()
    finally:
        context.close()
    assert 'button "Choose photo"' in tree and 'button "Take photo"' in tree
    assert "Photo file" not in tree and "Photo from camera" not in tree
