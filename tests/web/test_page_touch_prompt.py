"""What the drop zone tells a person to do, on a phone and at a desk, in real headless Chromium.

On a phone (a touch screen, no mouse, no keyboard) it said "Drop a photo here, or press Enter to
choose a file": neither can be done there. A touch screen now reads "Tap to choose a photo"; a
desktop browser keeps the drop and the Enter key.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("phone", [True, False])
def test_the_prompt_names_what_this_device_can_do(browser: Any, live_server: LiveServer, phone: bool) -> None:
    device = {"is_mobile": True, "has_touch": True} if phone else {}
    viewport = {"width": 360, "height": 740} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=viewport, **device)
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        prompt = page.inner_text("#drop-prompt")
        assert "JPEG" in prompt  # the formats and the size limit are said on both
        if phone:
            assert "Tap to choose a photo" in prompt
            assert "Drop" not in prompt and "Enter" not in prompt
        else:
            assert "Drop a photo here" in prompt and "press Enter" in prompt
            assert "Tap" not in prompt
    finally:
        context.close()
