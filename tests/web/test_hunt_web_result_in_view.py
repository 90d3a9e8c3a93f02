"""On a phone the answer to a photo just taken comes into view, in real headless Chromium.

The page decided whether to scroll the result card into view while the photo above it was not yet
laid out (a preview is a blob URL that loads a moment later). On a 390 x 844 phone, the usual size,
the card then sat above the fold's edge, so no scroll happened; the portrait photo then grew the drop
zone by some 200 px and pushed the answer below the screen: the person saw their photo, and nothing
telling them what it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

LABEL_IN_VIEW = """() => {
  const r = document.getElementById('result-label').getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight;
}"""


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 375, "height": 667}])
def test_the_answer_to_a_portrait_camera_photo_is_on_screen(
    browser: Any, live_server: LiveServer, viewport: dict[str, int]
) -> None:
    context = browser.new_context(
        viewport=viewport, is_mobile=True, has_touch=True, device_scale_factor=2, reduced_motion="reduce"
    )
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        photo = photo_jpeg(LABEL_COLOURS["opened"], size=(540, 960))  # portrait, as a phone takes it
        upload(page, "IMG_0001.jpg", "image/jpeg", photo, selector="#camera-input")
        assert read_result(page)["label"] == "opened"
        page.wait_for_function(
            "() => { const i = document.getElementById('preview'); return i.complete && i.naturalWidth; }"
        )
        page.wait_for_function(LABEL_IN_VIEW, timeout=5_000)
    finally:
        context.close()
