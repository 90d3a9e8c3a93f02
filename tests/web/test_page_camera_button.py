"""Whether the page offers "Take photo", in real headless Chromium with and without touch emulation.

A desktop browser ignores the camera input's ``capture`` attribute: "Take photo" opened the same file
dialog as "Choose photo", a button promising what the computer could not do. It is now offered where a
photo can be taken: a touch-first device (no hover, a coarse pointer: phones, tablets) or a browser that
honours ``capture`` (it has ``HTMLInputElement.capture``: Chrome on Android, Safari on iOS). A desktop,
a touch-screen laptop with its mouse included, shows "Choose photo" alone, across the card.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True}

# What Chrome on Android has and desktop Chromium lacks: the reflected capture attribute.
HONOURS_CAPTURE = """
Object.defineProperty(HTMLInputElement.prototype, 'capture', {
  configurable: true,
  get() { return this.getAttribute('capture') || ''; },
  set(value) { this.setAttribute('capture', value); },
});
"""


def _open(browser: Any, live_server: LiveServer, device: dict[str, Any], init: str = "") -> tuple[Any, Any]:
    context = browser.new_context(**device)
    page = context.new_page()
    page.set_default_timeout(RESULT_TIMEOUT_MS)
    page.on("filechooser", lambda chooser: None)
    if init:
        page.add_init_script(init)
    page.goto(live_server.url + "/")
    page.wait_for_load_state("load")
    return context, page


def test_a_desktop_is_not_offered_a_camera_it_cannot_use(browser: Any, live_server: LiveServer) -> None:
    context, page = _open(browser, live_server, DESKTOP)
    try:
        assert page.is_hidden("#camera-button")
        assert "Take photo" not in page.inner_text(".upload-card")
        # "Choose photo" alone takes the row, not half of it beside a gap.
        row = page.locator(".actions").bounding_box()
        choose = page.locator("#choose-button").bounding_box()
        assert row is not None and choose is not None
        assert choose["width"] >= row["width"] - 1
        # Tab from the drop zone goes straight to "Choose photo", then out of the card.
        page.focus("#drop-zone")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "choose-button"
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") != "camera-button"
        # Busy and idle again: the button stays away (setBusy touches it).
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        assert read_result(page)["label"] == "opened"
        assert page.is_hidden("#camera-button")
    finally:
        context.close()


@pytest.mark.parametrize("device", [PHONE, TABLET], ids=["phone", "tablet"])
def test_a_touch_device_takes_a_photo_with_its_camera(
    browser: Any, live_server: LiveServer, device: dict[str, Any]
) -> None:
    context, page = _open(browser, live_server, device)
    try:
        assert page.is_visible("#camera-button")
        assert page.inner_text("#camera-button").strip() == "Take photo"
        with page.expect_file_chooser() as chooser_info:
            page.tap("#camera-button")
        assert chooser_info.value.element.get_attribute("id") == "camera-input"
        assert chooser_info.value.element.get_attribute("capture") == "environment"
    finally:
        context.close()


def test_a_browser_that_honours_capture_offers_the_camera(browser: Any, live_server: LiveServer) -> None:
    context, page = _open(browser, live_server, DESKTOP, init=HONOURS_CAPTURE)
    try:
        assert page.evaluate("() => 'capture' in HTMLInputElement.prototype")
        assert page.is_visible("#camera-button")
    finally:
        context.close()


# The lead text under the title promised "take one with your phone camera" on a desktop too, where no
# camera is offered: it read as advice to open the page on a phone. It names the camera only where
# "Take photo" is there, and the drop only where one can be made.
@pytest.mark.parametrize(
    ("device", "init", "camera"),
    [(DESKTOP, "", False), (PHONE, "", True), (TABLET, "", True), (DESKTOP, HONOURS_CAPTURE, True)],
    ids=["desktop", "phone", "tablet", "desktop-with-capture"],
)
def test_the_lead_text_names_the_camera_only_where_it_is_offered(
    browser: Any, live_server: LiveServer, device: dict[str, Any], init: str, camera: bool
) -> None:
    context, page = _open(browser, live_server, device, init=init)
    try:
        lead = page.inner_text(".lead")
        assert page.is_visible("#camera-button") is camera
        assert ("camera" in lead) is camera, lead
        assert "phone" not in lead, lead
        assert lead.startswith("Choose a photo"), lead
        assert "sent to this server only" in lead, lead
        if device is DESKTOP and not camera:
            assert "drop one" in lead, lead
    finally:
        context.close()
