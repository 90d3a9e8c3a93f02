"""Two answers clicked in quick succession reach the server in the order clicked: it keeps the last
one it receives, and the page shows the last one clicked."""

from __future__ import annotations

from typing import Any

import pytest
from web_support import LiveServer, photo_jpeg, read_result, upload

from capsight.settings import Settings
from capsight.store.database import Database
from model_factory import LABEL_COLOURS

pytestmark = pytest.mark.browser


def _labels_recorded(settings: Settings, request_id: str) -> list[str]:
    from capsight.store.models import FeedbackRow

    db = Database(settings.resolved_database_url())
    try:
        with db.session() as session:
            rows = session.query(FeedbackRow).filter_by(request_id=request_id).order_by(FeedbackRow.id)
            return [row.label for row in rows]
    finally:
        db.dispose()


def test_a_slow_first_answer_does_not_overtake_the_second(page: Any, live_server: LiveServer) -> None:
    upload(page, "bottle.jpg", "image/jpeg", photo_jpeg(LABEL_COLOURS["opened"], size=(200, 150), seed=21))
    assert read_result(page)["label"] == "opened"
    request_id = page.inner_text("#result-meta").split("request ")[1].split()[0]
    held: list[Any] = []

    def hold_the_first(route: Any) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # a slow network: the first answer takes its time

    page.route("**/v1/feedback", hold_the_first)
    answered: list[Any] = []  # both answers, once the page has the server's reply to each
    page.on("requestfinished", lambda req: answered.append(req) if "v1/feedback" in req.url else None)
    page.click("#feedback-labels button[data-label='closed']")
    page.wait_for_function("() => document.getElementById('feedback-status').textContent === 'Sending…'")
    page.click("#feedback-yes")  # changed my mind at once: the model was right
    page.wait_for_timeout(300)
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_function(
        "() => document.getElementById('feedback-status').textContent.startsWith('Thanks')"
    )
    for _ in range(500):  # let an overtaken answer land too (each click sends one)
        if len(answered) == 2:
            break
        page.wait_for_timeout(20)
    assert len(answered) == 2
    assert page.inner_text("#feedback-status") == "Thanks: recorded that this is opened."
    assert page.get_attribute("#feedback-yes", "aria-pressed") == "true"
    assert _labels_recorded(live_server.settings, request_id)[-1] == "opened"
