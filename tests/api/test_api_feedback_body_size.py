"""``POST /v1/feedback`` bounds the body it parses: a feedback is a few hundred bytes.

The route parsed whatever CAPSIGHT_MAX_UPLOAD_BYTES let through (16 MiB), on the event loop: a body
of a million unknown keys (14 MB) held every other request of the server 7.6 s and was answered with
a 41 MB 422 naming each key; 5 million list items held it 3.4 s. A body over 64 KiB is now 413 unread
past the limit, and unknown fields are named five at most."""

from __future__ import annotations

import time

from helpers import AppFactory

JSON = {"content-type": "application/json"}


def test_a_body_over_the_feedback_limit_is_413_at_once(make_client: AppFactory) -> None:
    client = make_client(store=True)
    body = b'{"request_id": "abc", "label": "closed", "note": [' + b"1," * 3_000_000 + b"1]}"
    started = time.perf_counter()
    r = client.post("/v1/feedback", content=body, headers=JSON)
    assert r.status_code == 413, r.text
    assert "64 KiB" in r.json()["error"]
    assert time.perf_counter() - started < 1.0


def test_many_unknown_fields_are_named_five_at_most(make_client: AppFactory) -> None:
    client = make_client(store=True)
    keys = ", ".join(f'"k{i}": 1' for i in range(4000))  # 40 KB: under the limit
    body = f'{{"request_id": "abc", "label": "closed", {keys}}}'
    r = client.post("/v1/feedback", content=body, headers=JSON)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert "k0" in error and "k4" in error and "k5:" not in error and "3995 more" in error, error[:300]
    assert len(r.content) < 2000


def test_a_real_feedback_with_the_longest_note_fits(make_client: AppFactory) -> None:
    client = make_client(store=True)
    r = client.post("/v1/feedback", json={"request_id": "abc", "label": "nope", "note": "\u2028" * 2000})
    assert r.status_code == 400 and "Unknown label" in r.json()["error"], r.text  # read and checked
