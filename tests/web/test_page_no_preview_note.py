"""A photo the server classifies but the browser cannot draw (TIFF, or an iPhone's HEIC in Chromium) is
said to have no preview, in real headless Chromium.

The preview gave way to the empty drop zone, "Drop a photo here", beside the answer: as if the photo
had not been taken in, or the answer were about some other one. The zone now says there is no preview
of this photo and why, and the note goes with the next photo or error.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from web_support import photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

NOTE = "#drop-zone .preview-missing"


def _tiff() -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(photo_jpeg(LABEL_COLOURS["opened"], size=(300, 200)))).save(buf, format="TIFF")
    return buf.getvalue()


def test_a_photo_the_browser_cannot_show_is_said_to_have_no_preview(page: Any) -> None:
    upload(page, "scan.tiff", "image/tiff", _tiff())
    assert read_result(page)["label"] == "opened"
    page.wait_for_selector(NOTE, state="visible")
    assert (
        page.inner_text(NOTE)
        == "No preview: this browser cannot show TIFF images (the photo was classified all the same)."
    )
    assert page.is_hidden("#preview")

    upload(page, "b.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["closed"], size=(200, 150), seed=3))
    page.wait_for_function("() => document.getElementById('result-label').textContent === 'closed'")
    page.wait_for_selector("#preview", state="visible")
    assert page.is_hidden(NOTE)


def test_the_note_leaves_with_an_error(page: Any) -> None:
    upload(page, "scan.tiff", "image/tiff", _tiff())
    page.wait_for_selector(NOTE, state="visible")
    upload(page, "empty.jpg", "image/jpeg", b"")
    page.wait_for_selector("#error:not([hidden])")
    assert page.is_hidden(NOTE)


def test_an_iphone_photo_is_named_as_its_file_is(page: Any) -> None:
    """The server calls the format HEIF; the person's file, and every phone's settings, say HEIC."""
    pytest.importorskip("pillow_heif").register_heif_opener()  # to write the test file only
    buf = io.BytesIO()
    Image.open(io.BytesIO(photo_jpeg(LABEL_COLOURS["opened"], size=(300, 200)))).save(buf, format="HEIF")
    upload(page, "IMG_0042.HEIC", "image/heic", buf.getvalue())
    assert read_result(page)["label"] == "opened"
    page.wait_for_selector(NOTE, state="visible")
    assert page.inner_text(NOTE).startswith("No preview: this browser cannot show HEIC images")
