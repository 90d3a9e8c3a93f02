"""Feedback on an answer older than CAPSIGHT_RETENTION_DAYS is refused (410), not stored for nothing.

Why: the retention purge deletes answers and their images; feedback naming one was answered 202
"recorded" and then counted "not matched" at every export, so a client believed its correction
would be trained on. A purged answer and one not logged yet (the log is written in the background)
look the same in the database; the server's request ids tell them apart: they are UUIDv7s (RFC
9562), whose first 48 bits are the Unix time in milliseconds at which the request came.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from helpers import AppFactory, jpeg, runtime_of
from logread import flush_log

from capsight.store.feedback import FeedbackStore


def _uuid7_hex(at: datetime) -> str:
    """A UUIDv7 as RFC 9562 lays it out: 48-bit Unix ms, version 7, variant 0b10, random bits."""
    value = (int(at.timestamp() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return uuid.UUID(int=value).hex


def _classify(client: TestClient, headers: dict[str, str] | None = None) -> str:
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["request_id"])


def _stored_feedback(client: TestClient) -> int:
    database = runtime_of(client).services.database
    assert database is not None
    match = FeedbackStore(database).match()
    return len(match.matched) + match.unmatched


def test_the_servers_request_ids_carry_the_time_they_were_issued(make_client: AppFactory) -> None:
    client = make_client(store=True)
    before = time.time()
    request_id = _classify(client)
    parsed = uuid.UUID(hex=request_id)
    assert request_id == parsed.hex and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    issued = (parsed.int >> 80) / 1000
    assert before - 1 <= issued <= time.time() + 1
    assert _classify(client) != request_id


def test_feedback_on_an_answer_older_than_the_retention_window_is_410(make_client: AppFactory) -> None:
    client = make_client(store=True, retention_days=7)
    old = _uuid7_hex(datetime.now(UTC) - timedelta(days=8))
    r = client.post("/v1/feedback", json={"request_id": old, "label": "opened"})
    assert r.status_code == 410, r.text
    error = r.json()["error"]
    assert old in error and "CAPSIGHT_RETENTION_DAYS=7" in error and "nothing was recorded" in error
    assert _stored_feedback(client) == 0


def test_answers_inside_the_window_or_kept_for_ever_are_still_taken(make_client: AppFactory) -> None:
    """Not logged yet is not purged: an id from within the window is recorded as before (matched at
    export), and so is any id where nothing is purged (retention 0) or the id carries no time."""
    kept = make_client(store=True, retention_days=7)
    recent = _uuid7_hex(datetime.now(UTC) - timedelta(days=6))
    for request_id in (recent, uuid.uuid4().hex, "shop-order-17"):
        r = kept.post("/v1/feedback", json={"request_id": request_id, "label": "opened"})
        assert r.status_code == 202, (request_id, r.text)


def test_without_retention_old_ids_are_taken(make_client: AppFactory) -> None:
    client = make_client(store=True)  # CAPSIGHT_RETENTION_DAYS=0: nothing is purged
    old = _uuid7_hex(datetime.now(UTC) - timedelta(days=800))
    r = client.post("/v1/feedback", json={"request_id": old, "label": "opened"})
    assert r.status_code == 202, r.text


def test_a_clients_own_old_looking_id_on_a_logged_answer_is_taken(make_client: AppFactory) -> None:
    """A client may send its own X-Request-ID in the same form: an answer the log holds under it,
    inside the window, is no purged one."""
    client = make_client(store=True, retention_days=7)
    own = _uuid7_hex(datetime.now(UTC) - timedelta(days=30))
    assert _classify(client, {"X-Request-ID": own}) == own
    flush_log(client)
    r = client.post("/v1/feedback", json={"request_id": own, "label": "opened"})
    assert r.status_code == 202, r.text
