"""The upload page in a real headless Chromium against the real app and a real (tiny) ONNX model.

Each test reads what a person would see: the DOM after the page has talked to the server. The
colour model answers "opened" for blue photos, so the expected label follows from the image.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest
from web_support import (
    RESULT_TIMEOUT_MS,
    SERVER_MAX_UPLOAD_BYTES,
    LiveServer,
    classify_requests,
    heic_photo,
    photo_jpeg,
    read_result,
    shot,
    upload,
)

from model_factory import BOTTLE_LABELS, LABEL_COLOURS

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# True once every probability bar has grown to its final, rendered width.
BARS_DRAWN = """() => {
    const rows = [...document.querySelectorAll('#probabilities .prob-row')];
    return rows.length > 0 && rows.every(r => {
        const bar = r.querySelector('.prob-bar').getBoundingClientRect().width;
        const track = r.querySelector('.prob-track').getBoundingClientRect().width;
        return Math.abs(bar / track - Number(r.dataset.probability)) < 0.01;
    });
}"""


def test_blue_photo_shows_opened_with_confidence_and_three_bars(page: Any) -> None:
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"]))
    result = read_result(page)

    assert result["label"] == "opened"
    assert re.fullmatch(r"\d{1,3}(\.\d)?% confidence", result["confidence"])
    assert float(result["confidence"].split("%")[0]) > 50
    rows = result["rows"]
    assert sorted(r["label"] for r in rows) == sorted(BOTTLE_LABELS)
    assert rows[0]["label"] == "opened" and rows[0]["top"]
    assert [r["top"] for r in rows[1:]] == [False, False]
    assert [r["probability"] for r in rows] == sorted((r["probability"] for r in rows), reverse=True)
    assert sum(r["probability"] for r in rows) == pytest.approx(1.0, abs=1e-4)
    # The bars are drawn to scale with the probabilities the API returned (once they finish growing).
    page.wait_for_function(BARS_DRAWN)
    drawn = page.eval_on_selector_all(
        ".prob-row",
        """rows => rows.map(r => r.querySelector('.prob-bar').getBoundingClientRect().width
                               / r.querySelector('.prob-track').getBoundingClientRect().width)""",
    )
    assert drawn == pytest.approx([r["probability"] for r in rows], abs=0.01)
    shot(page, "desktop-result")
    assert "Result: opened" in result["status"]  # the screen-reader summary in the live region
    assert result["error_hidden"]
    # The preview shows the chosen photo, decoded by the browser once the server accepted it.
    page.wait_for_function(
        "() => { const i = document.getElementById('preview'); return i.complete && i.naturalWidth === 800; }"
    )


def test_result_matches_the_api_answer_for_the_same_photo(page: Any, live_server: LiveServer) -> None:
    data = photo_jpeg(LABEL_COLOURS["closed"], seed=3)
    api = httpx.post(f"{live_server.url}/v1/classify", files={"file": ("p.jpg", data, "image/jpeg")}).json()
    upload(page, "closed.jpg", "image/jpeg", data)
    result = read_result(page)
    assert result["label"] == api["label"] == "closed"
    shown = {r["label"]: r["probability"] for r in result["rows"]}
    assert shown == pytest.approx(api["probabilities"], abs=1e-6)


def test_model_name_and_version_from_v1_models(page: Any, live_server: LiveServer) -> None:
    page.wait_for_selector("#model-info.ready")
    text = page.inner_text("#model-text")
    assert "bottle-status" in text and "test-1" in text


def test_text_file_shows_the_api_error_message(page: Any, live_server: LiveServer) -> None:
    data = b"this is not an image, just some notes\n"
    api = httpx.post(f"{live_server.url}/v1/classify", files={"file": ("notes.txt", data, "text/plain")})
    assert api.status_code == 400
    requests = classify_requests(page)
    upload(page, "notes.txt", "text/plain", data)
    page.wait_for_selector("#error:not([hidden])")
    shot(page, "desktop-error")
    assert page.inner_text("#error-message") == api.json()["error"]
    assert page.is_hidden("#result")
    assert len(requests) == 1  # the server, not the page, decided that this is not an image


def test_empty_file_is_refused_without_a_request(page: Any) -> None:
    requests = classify_requests(page)
    upload(page, "empty.jpg", "image/jpeg", b"")
    page.wait_for_selector("#error:not([hidden])")
    assert "empty" in page.inner_text("#error-message")
    assert requests == []


def test_file_over_the_servers_limit_is_refused_without_a_request(page: Any) -> None:
    requests = classify_requests(page)
    page.wait_for_selector("#model-info.ready")  # the limit comes from /v1/models, not from the page
    limit = page.evaluate("() => document.getElementById('max-size').textContent")
    assert SERVER_MAX_UPLOAD_BYTES == 1_000_000 and limit == "977 KB"
    # The file is made inside the page: pushing megabytes through the automation pipe takes seconds.
    page.evaluate(
        """size => {
            const input = document.getElementById('file-input');
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(size)], 'big.jpg', { type: 'image/jpeg' }));
            input.files = dt.files;
            input.dispatchEvent(new Event('change', { bubbles: true }));
        }""",
        SERVER_MAX_UPLOAD_BYTES + 1,
    )
    page.wait_for_selector("#error:not([hidden])")
    message = page.inner_text("#error-message")
    assert "the limit is 977 KB" in message
    assert requests == []


def test_a_new_photo_replaces_an_error(page: Any) -> None:
    upload(page, "notes.txt", "text/plain", b"nope")
    page.wait_for_selector("#error:not([hidden])")
    upload(page, "red.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["background"], seed=5))
    assert read_result(page)["label"] == "background"
    assert page.is_hidden("#error")


def test_drop_zone_works_from_the_keyboard(page: Any) -> None:
    page.focus("#drop-zone")
    assert page.evaluate("() => document.activeElement.id") == "drop-zone"
    with page.expect_file_chooser() as chooser_info:
        page.keyboard.press("Enter")
    chooser = chooser_info.value
    assert not chooser.is_multiple()
    chooser.set_files(
        files=[{"name": "b.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg((20, 20, 230))}]
    )
    assert read_result(page)["label"] == "opened"


def test_dropping_a_photo_classifies_it(page: Any) -> None:
    data = base64.b64encode(photo_jpeg(LABEL_COLOURS["closed"], seed=7)).decode()
    transfer = page.evaluate_handle(
        """b64 => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], 'dropped.jpg', { type: 'image/jpeg' }));
            return dt;
        }""",
        data,
    )
    page.dispatch_event("#drop-zone", "dragenter", {"dataTransfer": transfer})
    assert "dragging" in page.get_attribute("#drop-zone", "class")
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    assert read_result(page)["label"] == "closed"
    assert "dragging" not in page.get_attribute("#drop-zone", "class")


def test_take_photo_button_opens_the_camera_input(browser: Any, live_server: LiveServer) -> None:
    # Offered on a touch screen only (a desktop has no camera capture: test_page_camera_button.py).
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        assert page.get_attribute("#camera-input", "capture") == "environment"
        assert page.get_attribute("#camera-input", "accept") == "image/*"
        with page.expect_file_chooser() as chooser_info:
            page.click("#camera-button")
        assert chooser_info.value.element.get_attribute("id") == "camera-input"
    finally:
        context.close()


@pytest.mark.parametrize("width", [PHONE["width"], 320])  # 320: the narrowest phones still sold
def test_phone_viewport_has_no_horizontal_overflow(browser: Any, live_server: LiveServer, width: int) -> None:
    viewport = {**PHONE, "width": width}
    context = browser.new_context(viewport=viewport, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        upload(page, "phone.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(1080, 1920)))
        read_result(page)
        page.wait_for_selector("#model-info.ready")
        page.wait_for_function(BARS_DRAWN)
        shot(page, f"phone-{width}-result")
        widths = page.evaluate(
            """() => ({
                viewport: window.innerWidth,
                doc: document.documentElement.scrollWidth,
                body: document.body.scrollWidth,
                widest: Math.max(...[...document.querySelectorAll('body *')]
                    .filter(e => e.getClientRects().length && !e.closest('.visually-hidden'))
                    .map(e => e.getBoundingClientRect().right)),
            })"""
        )
        assert widths["viewport"] == width
        assert widths["doc"] <= width
        assert widths["body"] <= width
        assert widths["widest"] <= width + 0.5
        # Touch targets: both buttons at least 44 px tall, inside their card (side by side, or
        # stacked on the narrowest screens).
        card = page.locator(".upload-card").bounding_box()
        boxes = [page.locator(sel).bounding_box() for sel in ("#choose-button", "#camera-button")]
        assert card is not None and all(box is not None and box["height"] >= 44 for box in boxes)
        assert all(
            b is not None and b["x"] >= card["x"] and b["x"] + b["width"] <= card["x"] + card["width"]
            for b in boxes
        )
    finally:
        context.close()


def test_loading_state_while_the_server_works(page: Any) -> None:
    held: list[Any] = []
    page.route("**/v1/classify", lambda route: held.append(route))  # held until the test lets it go
    upload(page, "slow.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], seed=9))
    page.wait_for_selector("#busy:not([hidden])")
    assert page.get_attribute("#drop-zone", "aria-busy") == "true"
    assert page.get_attribute("#choose-button", "aria-disabled") == "true"
    assert page.get_attribute("#camera-button", "aria-disabled") == "true"
    page.evaluate(
        "() => { window.openedChooser = 0; "
        "document.getElementById('file-input').addEventListener('click', () => window.openedChooser++); }"
    )
    page.click("#choose-button", force=True)  # ignored while the photo is being classified
    assert page.evaluate("() => window.openedChooser") == 0
    assert page.is_hidden("#preview")  # shown once the server has accepted the photo
    assert "Classifying" in page.inner_text("#status")
    shot(page, "desktop-loading")
    assert len(held) == 1
    held[0].continue_()
    assert read_result(page)["label"] == "opened"
    assert page.is_hidden("#busy")
    assert page.get_attribute("#drop-zone", "aria-busy") == "false"
    assert page.get_attribute("#choose-button", "aria-disabled") == "false"
    assert page.is_visible("#preview")


def test_api_key_prompt_when_the_server_requires_one(browser: Any, auth_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(auth_server.url + "/")
        data = photo_jpeg(LABEL_COLOURS["opened"], seed=11)
        refused = httpx.post(f"{auth_server.url}/v1/classify", files={"file": ("p.jpg", data, "image/jpeg")})
        assert refused.status_code == 401

        upload(page, "p.jpg", "image/jpeg", data)
        page.wait_for_selector("#key-form:not([hidden])")
        shot(page, "auth-prompt")
        # The page's own words, not the server's for API clients ("send 'Authorization: Bearer <key>'").
        asked = page.inner_text("#error-message")
        assert "Enter yours below" in asked
        assert "Authorization" not in asked and refused.json()["error"] not in asked
        assert page.evaluate("() => document.activeElement.id") == "api-key"

        page.fill("#api-key", "cs_nothere_wrongsecret")
        page.click("#key-form button[type=submit]")
        page.wait_for_function(
            "before => document.getElementById('error-message').textContent !== before", arg=asked
        )
        wrong = httpx.post(
            f"{auth_server.url}/v1/classify",
            files={"file": ("p.jpg", data, "image/jpeg")},
            headers={"Authorization": "Bearer cs_nothere_wrongsecret"},
        )
        assert wrong.status_code == 401
        assert page.inner_text("#error-message") == wrong.json()["error"] != refused.json()["error"]
        assert page.is_visible("#key-form")

        assert auth_server.api_key is not None
        page.fill("#api-key", auth_server.api_key)
        page.press("#api-key", "Enter")  # the same photo is sent again with the key
        assert read_result(page)["label"] == "opened"
        assert page.is_hidden("#key-form")
        shot(page, "auth-result")
    finally:
        context.close()


def test_a_bad_file_after_a_photo_clears_the_old_photo_and_answer(page: Any) -> None:
    upload(page, "blue.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], seed=13))
    assert read_result(page)["label"] == "opened"
    assert page.is_visible("#preview")
    upload(page, "notes.txt", "text/plain", b"not a photo")
    page.wait_for_selector("#error:not([hidden])")
    assert page.is_hidden("#result")
    assert page.is_hidden("#preview") and page.is_visible("#drop-prompt")
    assert page.inner_text("#file-name").startswith("notes.txt")


PREVIEW_SHOWN = "() => { const i = document.getElementById('preview'); return i.complete && i.naturalWidth; }"


def test_the_page_works_under_its_content_security_policy(browser: Any, live_server: LiveServer) -> None:
    """The page is served with a strict CSP (own files only, one inline script by its hash): classifying
    a photo, its preview (a blob: URL) and the bars (CSSOM widths) must all work without one violation."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(RESULT_TIMEOUT_MS)
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    try:
        response = page.goto(live_server.url + "/")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"]))
        assert read_result(page)["label"] == "opened"
        page.wait_for_function(BARS_DRAWN)
        page.wait_for_function(PREVIEW_SHOWN)
        page.wait_for_function("() => !document.getElementById('model-text').textContent.startsWith('Load')")
        assert page.evaluate("window.__csp") == []
    finally:
        context.close()


def test_an_iphone_heic_photo_is_classified_though_the_browser_cannot_show_it(page: Any) -> None:
    """Chromium has no HEIC decoder: the preview gives way to the drop prompt, the answer still comes."""
    upload(page, "IMG_0042.HEIC", "image/heic", heic_photo(LABEL_COLOURS["opened"]))
    result = read_result(page)
    assert result["label"] == "opened"
    assert result["error_hidden"]
    page.wait_for_selector("#drop-prompt:not([hidden])")  # what the docstring promises: not a broken picture
    assert page.is_hidden("#preview")
