"""Leaving the page while an answer to "Is this right?" is on its way, in real headless Chromium.

An upload in flight asks before the page is left (test_page_leave_mid_upload.py), an answer did not:
clicking "closed" and then "API docs" (or closing the tab) at once dropped the correction without a
word, the server never told. While an answer is sent, or waits in line behind an earlier one, the page
now asks the browser's "Leave site?" question too; once the last one is answered, it asks nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser

WOULD_ASK = """() => {
  const e = new Event('beforeunload', { cancelable: true });
  window.dispatchEvent(e);
  return e.defaultPrevented || (typeof e.returnValue === 'string' && e.returnValue !== '');
}"""


def _wait_for(page: Any, held: list[Any], count: int) -> None:
    for _ in range(100):  # the request reaches the route a moment after the click
        if len(held) >= count:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{len(held)} feedback requests held, expected {count}")


def test_leaving_while_an_answer_is_sent_asks_first(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        assert read_result(page)["label"] == "opened"
        assert page.evaluate(WOULD_ASK) is False

        held: list[Any] = []
        page.route("**/v1/feedback", lambda route: held.append(route))  # a slow server
        dialogs: list[str] = []

        def stay(dialog: Any) -> None:
            dialogs.append(dialog.type)
            dialog.dismiss()  # "Stay on page"

        page.on("dialog", stay)
        page.click("#feedback-labels button[data-label='closed']")
        page.click("#feedback-yes")  # waits in line behind the first
        _wait_for(page, held, 1)
        assert page.evaluate(WOULD_ASK) is True
        with page.expect_event("dialog", timeout=5_000):  # not asked: the page is left, and this times out
            page.click("a[href='docs']")  # a real click: the browser asks before following the link
        assert dialogs == ["beforeunload"]
        assert page.url == live_server.url + "/"

        held[0].continue_()
        _wait_for(page, held, 2)
        assert page.evaluate(WOULD_ASK) is True  # the second answer is still on its way
        held[1].continue_()
        page.wait_for_function(
            "() => document.getElementById('feedback-status').textContent.startsWith('Thanks')"
        )
        assert page.evaluate(WOULD_ASK) is False
        page.click("a[href='docs']")
        page.wait_for_url("**/docs", wait_until="commit")  # gone, without a question
        assert dialogs == ["beforeunload"]  # not asked again
    finally:
        context.close()


def test_a_failed_answer_no_longer_asks(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
        assert read_result(page)["label"] == "opened"
        held: list[Any] = []
        page.route("**/v1/feedback", lambda route: held.append(route))
        page.click("#feedback-yes")
        _wait_for(page, held, 1)
        assert page.evaluate(WOULD_ASK) is True
        held[0].abort("connectionrefused")  # the server went away
        page.wait_for_selector("#feedback-status.failed")
        assert page.evaluate(WOULD_ASK) is False
    finally:
        context.close()
