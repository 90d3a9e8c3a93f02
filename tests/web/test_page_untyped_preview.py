"""A photo the browser gives no type (a file with no extension, "IMG_1234" saved from a chat app) is
previewed like any other once the server has classified it, in real headless Chromium.

The page previewed only files whose type began with "image/": such a JPEG was classified ("opened",
768x1024 px JPEG in the answer) while the drop zone still asked "Drop a photo here", as if no photo had
been taken in. And a WebP with no type was not turned by its EXIF orientation as the server turned it.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_hunt_web_webp_orientation import PREVIEW, _stored
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def test_a_photo_without_a_type_is_previewed(page: Any) -> None:
    upload(page, "IMG_1234", "", photo_jpeg(LABEL_COLOURS["opened"], size=(300, 400)))
    assert page.evaluate("() => document.getElementById('file-input').files.length") == 0  # read
    assert read_result(page)["label"] == "opened"
    page.wait_for_selector("#preview:not([hidden])")
    assert page.evaluate("() => document.getElementById('preview').naturalWidth") == 300
    assert page.get_attribute("#preview", "alt") == "Preview of IMG_1234"
    assert page.is_hidden("#drop-prompt")


def test_a_webp_without_a_type_is_turned_as_the_server_turned_it(page: Any) -> None:
    data, expected = _stored(6, "WEBP")
    upload(page, "photo", "", data)
    read_result(page)
    page.wait_for_function(PREVIEW)
    assert page.evaluate(PREVIEW) == expected
