"""The bars and the chosen "Is this right?" answer stay visible in forced-colours mode (Windows High
Contrast and the like), which paints every background in the page's colour."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

BACKGROUNDS = """() => {
  const bg = sel => getComputedStyle(document.querySelector(sel)).backgroundColor;
  return {
    track: bg('.prob-row.top .prob-track'),
    bar: bg('.prob-row.top .prob-bar'),
    other_bar: bg('.prob-row:not(.top) .prob-bar'),
    chosen: bg('#feedback-yes'),
    not_chosen: bg('#feedback-labels button'),
  };
}"""


def test_bars_and_the_chosen_answer_are_drawn_in_forced_colours(
    browser: Any, live_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, forced_colors="active")
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        read_result(page)
        page.click("#feedback-yes")
        page.wait_for_selector("#feedback-yes[aria-pressed='true']")
        seen = page.evaluate(BACKGROUNDS)
        assert seen["bar"] != seen["track"], seen
        assert seen["other_bar"] != seen["track"], seen
        assert seen["chosen"] != seen["not_chosen"], seen
    finally:
        context.close()
