"""The upload page when things go sideways: a pixel bomb, keyboard-only use, no JavaScript.

Found by driving the page the way a hostile file, a keyboard or a locked-down browser would (real
headless Chromium against the real app, as in ``test_page.py``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, classify_requests, photo_jpeg, read_result, upload

from model_factory import LABEL_COLOURS, png_bomb_header

pytestmark = pytest.mark.browser


def test_server_pixel_limit_error_is_shown_and_nothing_is_previewed(page: Any) -> None:
    """A 1 KB PNG that declares 20000x20000 pixels: the server refuses it from its header (413); the
    page shows that answer and never asks the browser to decode it for a preview (gigabytes)."""
    requests = classify_requests(page)
    upload(page, "bomb.png", "image/png", png_bomb_header(20_000, 20_000))
    page.wait_for_selector("#error:not([hidden])")
    assert "20000x20000 pixels" in page.inner_text("#error-message")
    assert len(requests) == 1
    assert page.is_hidden("#preview") and page.get_attribute("#preview", "src") is None


def test_keyboard_focus_stays_on_the_button_through_an_upload(page: Any) -> None:
    page.focus("#choose-button")
    with page.expect_file_chooser() as chooser_info:
        page.keyboard.press("Enter")
    data = photo_jpeg(LABEL_COLOURS["closed"], seed=21)
    chooser_info.value.set_files(files=[{"name": "k.jpg", "mimeType": "image/jpeg", "buffer": data}])
    assert read_result(page)["label"] == "closed"
    assert page.evaluate("() => document.activeElement.id") == "choose-button"


def test_without_javascript_the_page_offers_a_plain_form(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(live_server.url + "/")
        form = page.locator("noscript form, form.noscript")
        assert form.count() == 1 and "needs JavaScript" in form.inner_text()
        data = photo_jpeg(LABEL_COLOURS["opened"], seed=4)
        page.set_input_files(
            "form.noscript input[type=file]",
            files=[{"name": "n.jpg", "mimeType": "image/jpeg", "buffer": data}],
        )
        with page.expect_navigation():
            page.click("form.noscript button[type=submit]")
        answer = json.loads(page.inner_text("body"))
        assert answer["bottle_status"] == "opened"  # the legacy endpoint's JSON, shown by the browser
    finally:
        context.close()


def test_a_date_in_retry_after_reads_as_a_date(page: Any) -> None:
    """capsight sends seconds, but a proxy in front may send an HTTP date (RFC 9110 allows both). It
    is read as a date, not shown raw: this one is past (dates still to come: test_page_retry_after)."""
    date = "Wed, 21 Oct 2026 07:28:00 GMT"
    page.route(
        "**/v1/classify",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": date, "Content-Type": "application/json"},
            body=json.dumps({"error": "Rate limit exceeded."}),
        ),
    )
    upload(page, "p.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], seed=2))
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error-message") == "Rate limit exceeded. (you can retry now)"


def test_model_status_recovers_when_the_server_becomes_ready(browser: Any, live_server: LiveServer) -> None:
    """The page loaded while the server was still warming up (503): it asks again instead of saying
    "unavailable" forever."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        answered: list[int] = []

        def first_503(route: Any) -> None:
            answered.append(503 if not answered else 200)
            if answered[-1] == 503:
                route.fulfill(
                    status=503, headers={"Retry-After": "1"}, body='{"error": "Model is not loaded yet."}'
                )
            else:
                route.continue_()

        page.route("**/v1/models", first_503)
        page.clock.install()  # the page asks again a second later: that second is skipped, not waited
        page.goto(live_server.url + "/")
        page.wait_for_selector("#model-info.down")
        page.clock.fast_forward(1000)
        page.wait_for_selector("#model-info.ready")
        assert "bottle-status" in page.inner_text("#model-text")
        assert answered[:2] == [503, 200]
    finally:
        context.close()
