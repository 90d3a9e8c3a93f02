"""While a photo is sent and classified, the drop zone shows "Classifying…" alone, in real headless
Chromium.

The busy layer is translucent over the drop prompt: "Classifying…" was drawn across "Drop a photo here"
and the formats line showing through it, two texts on top of each other, and the prompt asking for a
photo while one was on its way. The prompt is now hidden (its space kept) until the answer comes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import LiveServer, photo_jpeg, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [320, 1280])
def test_the_prompt_is_not_drawn_under_classifying(browser: Any, live_server: LiveServer, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 700})
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        held: list[Any] = []
        page.route("**/v1/classify", lambda route: held.append(route))
        zone_before = page.eval_on_selector("#drop-zone", "z => z.getBoundingClientRect().height")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        page.wait_for_selector("#busy", state="visible")
        page.wait_for_function("() => document.getElementById('busy-text').textContent === 'Classifying…'")
        assert page.is_hidden("#drop-prompt")
        # The zone keeps its size: nothing below it jumps while the photo is on its way.
        assert page.eval_on_selector("#drop-zone", "z => z.getBoundingClientRect().height") == zone_before

        for _ in range(500):  # the route's callback runs on a later Playwright call: a loaded machine
            if held:  # once reached the line below before it had (IndexError in CI)
                break
            page.wait_for_timeout(20)
        held[0].fulfill(status=400, content_type="application/json", body=json.dumps({"error": "Bad photo."}))
        page.wait_for_selector("#error:not([hidden])")
        assert page.is_visible("#drop-prompt")
    finally:
        context.close()
