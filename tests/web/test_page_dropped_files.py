"""What the upload page does with files that are not one readable photo: a folder, several files."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from web_support import classify_requests, photo_jpeg, read_result

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def test_a_folder_is_not_blamed_on_the_connection(page: Any, tmp_path: Path) -> None:
    # A folder given as a file (what dropping one onto the zone gives) cannot be read, and fetch then
    # fails like a network error. Playwright refuses folders; the DevTools protocol takes one.
    folder = tmp_path / "holiday photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#file-input"})["nodeId"]
    cdp.send("DOM.setFileInputFiles", {"files": [str(folder)], "nodeId": node})
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error-message")
    assert "“holiday photos” could not be read" in message and "folder" in message
    assert "connection" not in message


def test_of_several_dropped_files_the_first_photo_is_classified_and_the_page_says_so(page: Any) -> None:
    data = base64.b64encode(photo_jpeg(LABEL_COLOURS["closed"], size=(200, 150), seed=3)).decode()
    transfer = page.evaluate_handle(
        """b64 => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File(['shopping list'], 'notes.txt', { type: 'text/plain' }));
            dt.items.add(new File([bytes], 'bottle.jpg', { type: 'image/jpeg' }));
            dt.items.add(new File([bytes], 'again.jpg', { type: 'image/jpeg' }));
            return dt;
        }""",
        data,
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    assert read_result(page)["label"] == "closed"
    shown = page.inner_text("#file-name")
    assert shown.startswith("bottle.jpg") and "1 of the 3 files" in shown


def test_a_photo_dropped_beside_the_zone_is_classified_once(page: Any) -> None:
    data = base64.b64encode(photo_jpeg(LABEL_COLOURS["closed"], size=(200, 150), seed=4)).decode()
    make = """b64 => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'beside.jpg', { type: 'image/jpeg' }));
        return dt;
    }"""
    sent = classify_requests(page)
    page.dispatch_event("#result-heading", "drop", {"dataTransfer": page.evaluate_handle(make, data)})
    assert read_result(page)["label"] == "closed"
    assert page.inner_text("#file-name").startswith("beside.jpg")
    with page.expect_request_finished(lambda req: "classify" in req.url):
        page.dispatch_event("#drop-zone", "drop", {"dataTransfer": page.evaluate_handle(make, data)})
    page.wait_for_selector("#busy", state="hidden")  # and no other upload of it still going
    assert len(sent) == 2  # one for each drop: the zone's own drop is not classified twice
