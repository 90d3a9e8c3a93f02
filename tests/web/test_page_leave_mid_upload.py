"""Leaving the page while a photo is on its way, in real headless Chromium.

Clicking "API docs" (or closing the tab) while a photo was uploading or being classified left at once:
the upload was lost without a word, a minute of a phone's upload gone. While the request is in flight
the page now asks the browser's "Leave site?" question (a ``beforeunload`` handler); before and after
it (the answer shown, the upload cancelled) it asks nothing, and the links go where they say.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import LiveServer, photo_jpeg, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

# Whether leaving now would be questioned: what a handler does with a beforeunload event.
WOULD_ASK = """() => {
  const e = new Event('beforeunload', { cancelable: true });
  window.dispatchEvent(e);
  return e.defaultPrevented || (typeof e.returnValue === 'string' && e.returnValue !== '');
}"""


def _held_upload(page: Any) -> list[Any]:
    """The classify requests, held (a slow server) until the test lets each go."""
    held: list[Any] = []
    page.route("**/v1/classify", lambda route: held.append(route))
    upload(page, "IMG_0001.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    page.wait_for_selector("#cancel-button", state="visible")
    return held


def test_leaving_mid_upload_asks_first_and_not_after_the_answer(
    browser: Any, live_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        assert page.evaluate(WOULD_ASK) is False  # idle: leaving costs nothing
        dialogs: list[str] = []

        def stay(dialog: Any) -> None:
            dialogs.append(dialog.type)
            dialog.dismiss()  # "Stay on page"

        page.on("dialog", stay)
        held = _held_upload(page)
        assert page.evaluate(WOULD_ASK) is True
        with page.expect_event("dialog", timeout=5_000):  # not asked: the page is left, and this times out
            page.click("a[href='docs']")  # a real click: the browser asks before following the link
        assert dialogs == ["beforeunload"]
        assert page.url == live_server.url + "/"

        for _ in range(100):  # the request reaches the route a moment after the page shows it is busy
            if held:
                break
            page.wait_for_timeout(50)
        held[0].continue_()  # the answer comes after all, to the page that stayed
        page.wait_for_selector("#result:not([hidden])")
        assert page.evaluate(WOULD_ASK) is False
        page.click("a[href='docs']")
        page.wait_for_url("**/docs", wait_until="commit")  # gone, without a question
        assert dialogs == ["beforeunload"]  # not asked again
    finally:
        context.close()


def test_a_cancelled_upload_no_longer_asks(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        _held_upload(page)
        assert page.evaluate(WOULD_ASK) is True
        page.click("#cancel-button")
        page.wait_for_selector("#cancel-button", state="hidden")
        assert page.evaluate(WOULD_ASK) is False
    finally:
        context.close()
