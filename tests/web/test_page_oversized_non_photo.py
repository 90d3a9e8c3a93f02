"""A video or a sound file over the upload limit, dropped on the page, in real headless Chromium.

Dropped or pasted (the file dialog offers photos only), a screen recording over the limit was refused
as "The file “screen-recording.mov” is 1 MB; the limit is 977 KB. Please choose a smaller photo.":
it is no photo at all, and no smaller copy of it would be classified. A file whose type says video or
audio is now told so. Photos, and files of no type (a chat app's "IMG_1234"), keep the size refusal.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import SERVER_MAX_UPLOAD_BYTES, classify_requests

pytestmark = pytest.mark.browser

DROP_FILE = """([name, type, size]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(size)], name, { type }));
    const zone = document.getElementById('drop-zone');
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
}"""


@pytest.mark.parametrize(
    ("name", "mime", "kind"),
    [("screen-recording.mov", "video/quicktime", "a video"), ("voice-note.m4a", "audio/mp4", "a sound file")],
)
def test_an_oversized_video_is_told_it_is_no_photo(page: Any, name: str, mime: str, kind: str) -> None:
    requests = classify_requests(page)
    page.wait_for_selector("#model-info.ready")  # the limit comes from /v1/models
    page.evaluate(DROP_FILE, [name, mime, SERVER_MAX_UPLOAD_BYTES + 100_000])
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error-message")
    assert message == (
        f"“{name}” is {kind} ({mime}), not a photo. Please choose a JPEG, PNG, HEIC, WebP, AVIF, GIF, BMP "
        "or TIFF photo."
    )
    assert requests == []


@pytest.mark.parametrize(("name", "mime"), [("IMG_2041.jpg", "image/jpeg"), ("IMG_2041", "")])
def test_an_oversized_photo_still_hears_the_limit(page: Any, name: str, mime: str) -> None:
    requests = classify_requests(page)
    page.wait_for_selector("#model-info.ready")
    page.evaluate(DROP_FILE, [name, mime, SERVER_MAX_UPLOAD_BYTES + 100_000])
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error-message")
    assert message.startswith(f"The file “{name}” is 1 MB; the limit is 977 KB.")
    assert message.endswith("Please choose a smaller photo.")
    assert requests == []
