"""The page's "Is this right?" row in real headless Chromium: the answer a person clicks is recorded
through POST /v1/feedback in the server's real database, and a refusal is shown, not swallowed."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import RESULT_TIMEOUT_MS, LiveServer, photo_jpeg, read_result, upload

from capsight.settings import Settings
from capsight.store.database import Database
from live_app import serve
from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def _feedback_rows(settings: Settings) -> list[tuple[str, str]]:
    from capsight.store.models import FeedbackRow

    db = Database(settings.resolved_database_url())
    try:
        with db.session() as session:
            return [
                (row.request_id, row.label) for row in session.query(FeedbackRow).order_by(FeedbackRow.id)
            ]
    finally:
        db.dispose()


def _shown_request_id(page: Any) -> str:
    meta = page.inner_text("#result-meta")
    return meta.split("request ")[1].split()[0]


def test_a_correction_and_a_confirmation_are_recorded(page: Any, live_server: LiveServer) -> None:
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150)))
    assert read_result(page)["label"] == "opened"
    request_id = _shown_request_id(page)
    choices = page.eval_on_selector_all("#feedback button", "bs => bs.map(b => b.textContent)")
    assert choices[0] == "Yes" and sorted(choices[1:]) == ["background", "closed"]  # likeliest first

    page.click("#feedback-labels button[data-label='closed']")
    page.wait_for_function(
        "() => document.getElementById('feedback-status').textContent.startsWith('Thanks')"
    )
    assert page.inner_text("#feedback-status") == "Thanks: recorded that this is closed, not opened."
    pressed = page.eval_on_selector_all(
        "#feedback button",
        "bs => bs.filter(b => b.getAttribute('aria-pressed') === 'true').map(b => b.textContent)",
    )
    assert pressed == ["closed"]  # the recorded answer stays marked
    page.click("#feedback-yes")  # changed my mind: the model was right
    page.wait_for_function(
        "() => document.getElementById('feedback-status').textContent.endsWith('this is opened.')"
    )
    assert page.get_attribute("#feedback-yes", "aria-pressed") == "true"
    assert page.get_attribute("#feedback-labels button[data-label='closed']", "aria-pressed") == "false"
    rows = [row for row in _feedback_rows(live_server.settings) if row[0] == request_id]
    assert rows == [(request_id, "closed"), (request_id, "opened")]


@pytest.fixture(scope="module")
def limited_server(colour_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One request a minute per client: the photo's answer uses it, so the feedback gets 429."""
    settings = Settings(
        model_dir=colour_model_dir,
        data_dir=tmp_path_factory.mktemp("web-limited"),
        rate_limit="1/minute",
        intra_op_threads=1,
    )
    with serve(settings) as url:
        yield LiveServer(url=url, settings=settings)


def test_a_refused_feedback_says_so(browser: Any, limited_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(RESULT_TIMEOUT_MS)
        page.goto(limited_server.url + "/")
        upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["closed"], size=(200, 150)))
        assert read_result(page)["label"] == "closed"
        page.click("#feedback-labels button[data-label='opened']")
        page.wait_for_function(
            "() => document.getElementById('feedback-status').classList.contains('failed')"
        )
        # With the server's Retry-After as a time on the clock (test_page_feedback_wait.py).
        assert re.fullmatch(
            r"Your answer was not recorded: Rate limit exceeded\. "
            r"Please try again after \d\d:\d\d( [AP]M)?\.",
            page.inner_text("#feedback-status"),
        )
        assert page.eval_on_selector_all("#feedback button[aria-pressed='true']", "bs => bs.length") == 0
        time.sleep(0.2)
        assert _feedback_rows(limited_server.settings) == []
    finally:
        context.close()
