"""`GET /v1/requests` refuses a confidence window that is empty in the names the client used.

``?min_confidence=0.9&max_confidence=0.1`` was answered 400 "min_conf must not exceed max_conf":
the request log's own argument names, which are no query parameter of the API (README and
/docs name them ``min_confidence`` and ``max_confidence``)."""

from __future__ import annotations

from api.helpers import AppFactory


def test_an_empty_confidence_window_names_the_query_parameters(make_client: AppFactory) -> None:
    client = make_client(store=True)
    r = client.get("/v1/requests", params={"min_confidence": 0.9, "max_confidence": 0.1})
    assert r.status_code == 400
    assert r.json() == {"error": "min_confidence (0.9) must not exceed max_confidence (0.1)."}
