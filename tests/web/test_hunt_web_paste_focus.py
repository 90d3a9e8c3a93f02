"""A keyboard user pastes a second photo (Ctrl+V) while on the "Is this right?" buttons, in real
headless Chromium.

The result card, and the button holding the keyboard focus with it, was hidden while the new photo
was classified: the focus fell to <body>, and the person had to tab through the page again from the
top to reach the new answer's buttons.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

# A paste as the browser delivers it for a copied image: a ClipboardEvent whose clipboardData has a file.
PASTE_PHOTO = """b64 => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], 'image.png', { type: 'image/jpeg' }));
  document.activeElement.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
}"""


def test_focus_survives_a_photo_pasted_from_the_feedback_buttons(page: Any) -> None:
    upload(page, "first.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    assert read_result(page)["label"] == "opened"
    page.focus("#feedback-yes")

    second = base64.b64encode(photo_jpeg(LABEL_COLOURS["closed"], size=(200, 150))).decode()
    page.evaluate(PASTE_PHOTO, second)
    page.wait_for_function("() => document.getElementById('result-label').textContent === 'closed'")
    page.wait_for_selector("#result:not([hidden])")
    assert page.evaluate("() => document.activeElement.id") == "choose-button"
