"""``POST /v1/feedback`` with a body in another charset than UTF-8 names the first bad byte.

A Latin-1 note (``charset=latin-1`` on the request, as some HTTP libraries send it) was 422
``Invalid JSON: invalid unicode code point at line 1 column 42``: no word that the charset was the
trouble. It is 422 saying the body is not UTF-8, where, and to send UTF-8, as ``POST /v1/jobs`` says."""

from __future__ import annotations

from helpers import AppFactory


def test_a_latin1_body_is_422_saying_it_is_not_utf8(make_client: AppFactory) -> None:
    client = make_client(store=True)
    body = '{"request_id": "abc", "label": "closed", "note": "caf\u00e9"}'.encode("latin-1")
    headers = {"content-type": "application/json; charset=latin-1"}
    r = client.post("/v1/feedback", content=body, headers=headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert "not UTF-8 (byte 0xe9 at offset 53)" in error and "send JSON as UTF-8" in error, error
