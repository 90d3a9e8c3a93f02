"""Several files dropped or pasted at once, and a dropped folder, in real headless Chromium.

Of several files the page took the first whose *type* said image: a note renamed "notes.jpg" (typed
image/jpeg by its name) won over the real photo dropped with it, and the server refused it, "not an
image". The page now reads each file's first bytes, as the server does (JPEG, PNG, WebP, GIF, BMP,
TIFF, HEIF/AVIF), and classifies the first that is an image, naming it.

A dropped folder was shown as "holiday · 4 KB" and sent: it is now refused before sending, saying that
a folder cannot be classified here and what can classify one.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from web_support import classify_requests, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

# files: [name, type, base64 bytes]; given as a drop on the zone or as a paste.
GIVE = """([how, files]) => {
    const dt = new DataTransfer();
    for (const [name, type, b64] of files) {
        dt.items.add(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], name, { type }));
    }
    const init = { bubbles: true, cancelable: true };
    if (how === 'drop') {
        const zone = document.getElementById('drop-zone');
        zone.dispatchEvent(new DragEvent('drop', { ...init, dataTransfer: dt }));
    } else {
        document.body.dispatchEvent(new ClipboardEvent('paste', { ...init, clipboardData: dt }));
    }
}"""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 90), colour).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("how", ["drop", "paste"])
def test_a_renamed_note_does_not_win_over_the_photo_dropped_with_it(page: Any, how: str) -> None:
    photo = _b64(photo_jpeg(LABEL_COLOURS["closed"], size=(200, 150), seed=3))
    note = _b64(b"shopping list: milk, eggs, bottle caps\n" * 20)
    files = [["notes.jpg", "image/jpeg", note], ["IMG_2207", "", photo], ["more.txt", "text/plain", note]]
    page.evaluate(GIVE, [how, files])
    assert read_result(page)["label"] == "closed"
    shown = page.inner_text("#file-name")
    assert shown.startswith("IMG_2207 · ") and "1 of the 3 files" in shown


def test_a_png_by_its_bytes_is_taken_whatever_its_type(page: Any) -> None:
    files = [
        ["scan.heic", "image/heic", _b64(b"\x00" * 300)],
        ["shot", "application/octet-stream", _b64(_png(LABEL_COLOURS["opened"]))],
    ]
    page.evaluate(GIVE, ["drop", files])
    assert read_result(page)["label"] == "opened"
    assert page.inner_text("#file-name").startswith("shot · ")


def test_with_no_image_among_them_the_first_file_is_refused_by_the_server_as_before(page: Any) -> None:
    note = _b64(b"not a photo at all\n" * 10)
    page.evaluate(GIVE, ["drop", [["a.txt", "text/plain", note], ["b.jpg", "image/jpeg", note]]])
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#file-name").startswith("b.jpg")  # named like a photo: the server says why not


def test_a_dropped_folder_is_refused_before_it_is_sent(page: Any, tmp_path: Path) -> None:
    folder = tmp_path / "holiday"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    sent = classify_requests(page)
    box = page.locator("#drop-zone").bounding_box()
    cdp = page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(folder)], "dragOperationsMask": 0xFFFF}
    x, y = int(box["x"] + box["width"] / 2), int(box["y"] + box["height"] / 2)
    for kind in ("dragEnter", "dragOver", "drop"):
        cdp.send("Input.dispatchDragEvent", {"type": kind, "x": x, "y": y, "data": data})
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error-message")
    assert "“holiday” is a folder" in message and "capsight batch" in message
    assert "KB" not in page.inner_text("#file-name") or page.is_hidden("#file-name")
    page.wait_for_timeout(300)
    assert sent == []


def test_a_folder_dropped_during_an_upload_replaces_it_with_the_message(page: Any, tmp_path: Path) -> None:
    """A drop replaces an upload in flight: the folder's message was left under "Classifying…", to be
    wiped by the older photo's answer."""
    folder = tmp_path / "holiday"
    folder.mkdir()
    page.route("**/v1/classify", lambda route: None)  # the first photo's answer never comes
    with page.expect_request("**/v1/classify"):
        upload(page, "a.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#busy:not([hidden])")
    box = page.locator("#drop-zone").bounding_box()
    cdp = page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(folder)], "dragOperationsMask": 0xFFFF}
    x, y = int(box["x"] + box["width"] / 2), int(box["y"] + box["height"] / 2)
    for kind in ("dragEnter", "dragOver", "drop"):
        cdp.send("Input.dispatchDragEvent", {"type": kind, "x": x, "y": y, "data": data})
    page.wait_for_selector("#error:not([hidden])")
    page.wait_for_selector("#busy", state="hidden", timeout=2000)
    assert "“holiday” is a folder" in page.inner_text("#error-message")
    assert page.is_hidden("#cancel-button")
