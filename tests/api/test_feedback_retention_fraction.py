"""Feedback under a retention of a fraction of a day (CAPSIGHT_RETENTION_DAYS=0.5, 12 hours): an
answer issued 13 hours ago is purged and refused 410, one issued 11 hours ago is taken; and a
retention longer than the calendar reaches back keeps every answer, so nothing is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers import AppFactory
from test_feedback_purged_answers import _uuid7_hex


def test_half_a_day_refuses_an_answer_13_hours_old_and_takes_one_11_hours_old(
    make_client: AppFactory,
) -> None:
    client = make_client(store=True, retention_days=0.5)
    old = _uuid7_hex(datetime.now(UTC) - timedelta(hours=13))
    r = client.post("/v1/feedback", json={"request_id": old, "label": "opened"})
    assert r.status_code == 410, r.text
    assert "(CAPSIGHT_RETENTION_DAYS=0.5)" in r.json()["error"]
    recent = _uuid7_hex(datetime.now(UTC) - timedelta(hours=11))
    r = client.post("/v1/feedback", json={"request_id": recent, "label": "opened"})
    assert r.status_code == 202, r.text


def test_a_retention_past_year_one_takes_old_answers(make_client: AppFactory) -> None:
    client = make_client(store=True, retention_days=1_000_000)  # "keep about for ever"
    old = _uuid7_hex(datetime.now(UTC) - timedelta(days=800))
    r = client.post("/v1/feedback", json={"request_id": old, "label": "opened"})
    assert r.status_code == 202, r.text
