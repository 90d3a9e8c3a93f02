"""The drop zone while a photo is on its way, in real headless Chromium.

"Choose photo" does nothing while a photo is sent and classified (test_page.py), but the drop zone,
under its "Sending photo… 40%" overlay, still opened the file dialog on a click, a tap or Enter: a
phone's impatient tap on the progress brought up the gallery, and the photo picked there (the same one,
often) started the upload again from 0 %. The zone now opens nothing until the answer is in; a photo
dropped or pasted on purpose still replaces the one on its way.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

COUNT_CHOOSERS = """() => {
  window.openedChooser = 0;
  document.getElementById('file-input').addEventListener('click', () => window.openedChooser++);
}"""


def test_the_busy_drop_zone_opens_no_file_dialog(page: Any) -> None:
    held: list[Any] = []
    page.route("**/v1/classify", lambda route: held.append(route))
    page.evaluate(COUNT_CHOOSERS)
    upload(page, "IMG_0001.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#busy:not([hidden])")
    page.click("#drop-zone")
    page.focus("#drop-zone")
    page.keyboard.press("Enter")
    page.keyboard.press(" ")
    assert page.evaluate("() => window.openedChooser") == 0
    for _ in range(100):  # the request reaches the route a moment after the page shows it is busy
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    held[0].continue_()
    assert read_result(page)["label"] == "opened"
    page.click("#drop-zone")  # idle again: the zone opens the dialog
    assert page.evaluate("() => window.openedChooser") == 1
