"""``POST /v1/feedback`` bounds the body it parses: a feedback is a few hundred bytes.

The route parsed whatever CAPSIGHT_MAX_UPLOAD_BYTES let through (16 MiB), on the event loop: a body
of a million unknown keys (14 MB) held every other request of the server 7.6 s and was answered with
a 41 MB 422 naming each key; 5 million list items held it 3.4 s. A body over 64 KiB is now 413 unread
past the limit, and unknown fields are named five at most."""

from __future__ import annotations

import pytest
from helpers import AppFactory

import capsight.api.routes.feedback as feedback_module

JSON = {"content-type": "application/json"}


def test_a_body_over_the_feedback_limit_is_413_unparsed(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staged, not timed: the parse is what held the loop, so the test sees that none began."""
    parsed: list[int] = []
    real = feedback_module.json_text
    monkeypatch.setattr(feedback_module, "json_text", lambda data: parsed.append(len(data)) or real(data))
    client = make_client(store=True)
    body = b'{"request_id": "abc", "label": "closed", "note": [' + b"1," * 3_000_000 + b"1]}"
    r = client.post("/v1/feedback", content=body, headers=JSON)
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "The body is over 64 KiB: a feedback is a few hundred bytes."
    assert parsed == []
    small = client.post("/v1/feedback", json={"request_id": "abc", "label": "closed"})
    assert small.status_code != 413 and len(parsed) == 1  # the counter sees a body that is read


def test_a_body_declared_over_the_upload_limit_names_the_feedback_limit(make_client: AppFactory) -> None:
    """Refused from its Content-Length before the route (over CAPSIGHT_MAX_UPLOAD_BYTES, 16 MB), the
    answer spoke of a file: "File too large: the upload limit is 16 MB." to a JSON feedback."""
    client = make_client(store=True)
    body = b'{"request_id": "abc", "label": "closed", "note": "' + b"x" * 17_000_000 + b'"}'
    r = client.post("/v1/feedback", content=body, headers=JSON)
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "The body is over 64 KiB: a feedback is a few hundred bytes."


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
