"""The keyboard focus stays visible in forced-colours mode (Windows High Contrast and the like).

That mode drops box-shadows, which is all the page's focus ring was (with ``outline: none``): a keyboard
user saw no focus at all on the drop zone and the buttons. A transparent outline is kept and painted
in the system's colour there, and invisible otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

FOCUS_RING = """() => {
  const s = getComputedStyle(document.activeElement);
  const alpha = s.outlineColor.startsWith('rgba') ? Number(s.outlineColor.match(/[\\d.]+/g)[3]) : 1;
  return [document.activeElement.id || document.activeElement.textContent,
          s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && alpha > 0];
}"""


def test_focus_is_visible_in_forced_colours_mode(browser: Any, live_server: LiveServer) -> None:
    # A touch screen with a keyboard (a tablet's): "Take photo" is offered there, not on a desktop.
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, forced_colors="active", has_touch=True
    )
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        read_result(page)
        seen = []
        for selector in ["#drop-zone", "#choose-button", "#camera-button", "#feedback-yes"]:
            page.focus(selector)
            page.keyboard.press("Shift+Tab")  # focus from the keyboard, so :focus-visible applies
            page.keyboard.press("Tab")
            seen.append(page.evaluate(FOCUS_RING))
        page.focus("#feedback-yes")
        page.keyboard.press("Tab")  # the first "No, it is ..." label
        seen.append(page.evaluate(FOCUS_RING))
        assert [name for name, _ in seen[:4]] == [
            "drop-zone",
            "choose-button",
            "camera-button",
            "feedback-yes",
        ]
        assert [visible for _, visible in seen] == [True] * 5, seen
    finally:
        context.close()
