"""A drag that starts on the page itself, in real headless Chromium with real mouse drags.

A click on the photo that moved a little (choosing the next photo with a shaky hand or a touchpad)
drags the preview, and dropping it on the page was taken for a picture dragged in from another web
page: the photo and its answer vanished for "Only a photo file can be dropped here: a picture dragged
from a web page comes as its address". Dragged text (the label, selected) did the same. The page now
ignores a drag it started itself: the photo and the answer stay, no error. A file dropped from
outside is still classified (test_page.py, test_page_dropped_files.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

DROPS = """() => { window.drops = 0; window.addEventListener('drop', () => window.drops++, true); }"""


def _drag(page: Any, start: dict[str, float], end: tuple[float, float]) -> None:
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 20, y + 15, steps=5)
    page.mouse.move(end[0], end[1], steps=5)
    page.mouse.up()
    # The drop reached the page (DROPS counts it first), and the page's own drop handlers, which run in
    # the same dispatch, have reacted, were they to.
    page.wait_for_function("() => window.drops > 0")


def _answer_still_shown(page: Any) -> None:
    assert page.evaluate("() => window.drops") == 1  # the drag was real, and dropped
    assert page.is_hidden("#error")
    assert read_result(page)["label"] == "opened"
    assert page.is_visible("#preview")
    assert "dragging" not in (page.get_attribute("#drop-zone", "class") or "")


def test_a_wobbly_click_on_the_photo_keeps_the_answer(page: Any) -> None:
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(400, 300)))
    assert read_result(page)["label"] == "opened"
    page.wait_for_selector("#preview:not([hidden])")
    page.evaluate(DROPS)
    box = page.locator("#preview").bounding_box()
    assert box is not None
    _drag(page, box, (box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2 + 30))
    _answer_still_shown(page)


def test_dragged_text_from_the_page_keeps_the_answer(page: Any) -> None:
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(400, 300)))
    assert read_result(page)["label"] == "opened"
    page.wait_for_selector("#preview:not([hidden])")
    page.evaluate(DROPS)
    page.dblclick("#result-label")  # selects the word
    label = page.locator("#result-label").bounding_box()
    zone = page.locator("#drop-zone").bounding_box()
    assert label is not None and zone is not None
    _drag(page, label, (zone["x"] + zone["width"] / 2, zone["y"] + zone["height"] / 2))
    _answer_still_shown(page)
