"""Feedback on an answer purged by hand (``capsight db purge --older-than-days N``, N under
CAPSIGHT_RETENTION_DAYS, or with no retention set) is refused 410, not recorded for nothing.

Why: the route only knew the retention window. An operator purging a week early (disk full, a
privacy request) deleted answers that were still inside it; feedback naming one was answered 202
"recorded" and then counted "not matched" at every export. Each purge now records how far back it
deleted (``store/purge_marks.py``), and the route compares the time inside the server's request id
(a UUIDv7) with it. Feedback that arrives before its answer is logged (the log is written in the
background) still names an id issued after the purge: taken, as before.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, runtime_of
from api.logread import flush_log
from capsight.store.requestlog import RequestLog

TINY_DAYS = 1e-9  # everything logged until now


def _classify(client: TestClient, headers: dict[str, str] | None = None) -> str:
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["request_id"])


def _purge_by_hand(client: TestClient) -> None:
    """What ``capsight db purge --older-than-days N`` runs, on the server's own database."""
    flush_log(client)
    services = runtime_of(client).services
    assert services.database is not None and services.request_log is not None
    result = RequestLog(services.database, services.request_log.blobs).purge_older_than(TINY_DAYS)
    assert result.requests >= 1


def _uuid7_hex(at: datetime) -> str:
    value = (int(at.timestamp() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value).hex


def test_feedback_on_an_answer_purged_by_hand_is_410(make_client: AppFactory) -> None:
    client = make_client(store=True, retention_days=30)
    request_id = _classify(client)
    _purge_by_hand(client)
    r = client.post("/v1/feedback", json={"request_id": request_id, "label": "opened"})
    assert r.status_code == 410, r.text
    error = r.json()["error"]
    assert request_id in error and "capsight db purge" in error and "nothing was recorded" in error
    assert f"Request {request_id} is not in the request log" in error


def test_an_id_from_before_the_purge_never_issued_is_not_said_answered(make_client: AppFactory) -> None:
    """A typo in an id, or one of another server: the server cannot tell it from a purged one, and
    says only what it knows (not "was answered at ...", which it never was)."""
    client = make_client(store=True)
    unknown = _uuid7_hex(datetime.now(UTC) - timedelta(hours=1))
    _classify(client)
    _purge_by_hand(client)
    r = client.post("/v1/feedback", json={"request_id": unknown, "label": "opened"})
    assert r.status_code == 410, r.text
    assert "was answered" not in r.json()["error"]


def test_without_retention_a_hand_purge_is_known_too(make_client: AppFactory) -> None:
    client = make_client(store=True)  # CAPSIGHT_RETENTION_DAYS=0: only purges by hand delete
    request_id = _classify(client)
    _purge_by_hand(client)
    assert client.post("/v1/feedback", json={"request_id": request_id, "label": "opened"}).status_code == 410


def test_answers_issued_after_the_purge_are_taken_logged_or_not(make_client: AppFactory) -> None:
    """The purge says nothing of ids issued after it: one the log does not hold yet is recorded
    (matched at export), and a client's own X-Request-ID carries no time the server issued."""
    client = make_client(store=True, retention_days=30)
    _classify(client)
    _purge_by_hand(client)
    later = _classify(client)  # not flushed: maybe not logged yet
    own = _classify(client, {"X-Request-ID": "shop-order-17"})
    for request_id in (later, own, _uuid7_hex(datetime.now(UTC) + timedelta(seconds=1))):
        r = client.post("/v1/feedback", json={"request_id": request_id, "label": "opened"})
        assert r.status_code == 202, (request_id, r.text)


def test_an_old_answer_still_logged_is_taken(make_client: AppFactory) -> None:
    """An answer the log still holds is no purged one, whatever its id says: a client's own
    X-Request-ID may look like an id of before the purge."""
    client = make_client(store=True, retention_days=30)
    _classify(client)
    _purge_by_hand(client)
    own = _uuid7_hex(datetime.now(UTC) - timedelta(days=1))
    assert _classify(client, {"X-Request-ID": own}) == own
    flush_log(client)
    assert client.post("/v1/feedback", json={"request_id": own, "label": "opened"}).status_code == 202
