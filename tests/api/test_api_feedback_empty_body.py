"""`POST /v1/feedback` sent as JSON with no body says the body is empty, not "Field required".

Why: ``curl -X POST -H 'Content-Type: application/json' .../v1/feedback`` (the ``-d`` forgotten, or a
script's empty variable) was answered 422 "Invalid request: request: Field required", which reads
as a field named "request" missing; ``POST /v1/jobs`` says "the body is empty" for the same."""

from __future__ import annotations

from api.helpers import AppFactory


def test_an_empty_json_body_is_said_to_be_empty(make_client: AppFactory) -> None:
    client = make_client(store=True)
    r = client.post("/v1/feedback", content=b"", headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json() == {
        "error": 'Invalid request: request: the body is empty; send a JSON object {"request_id": ..., '
        '"label": ...}.'
    }
