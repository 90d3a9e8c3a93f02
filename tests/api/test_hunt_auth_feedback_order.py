"""``POST /v1/feedback`` authenticates and counts the caller before it reads the body.

FastAPI parsed the JSON body before running the route's dependencies, so a body that was not JSON
was answered 422 ("JSON decode error") without credentials being asked for (not 401), past the
caller's rate limit (not 429), and was not counted: a client without a key, or over its rate, could
keep the server reading and parsing bodies for ever. Every other route authenticates first.
"""

from __future__ import annotations

from api.helpers import AppFactory, runtime_of

JUNK = b"{not json"
JSON = {"Content-Type": "application/json"}


def test_no_credentials_is_401_whatever_the_body(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    r = client.post("/v1/feedback", content=JUNK, headers=JSON)
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"]


def test_a_malformed_body_counts_and_is_refused_past_the_rate(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True, rate_limit="2/minute")
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, key = keys.create_key("app")
    headers = {**JSON, "X-API-Key": key}
    answers = [client.post("/v1/feedback", content=JUNK, headers=headers) for _ in range(3)]
    assert [r.status_code for r in answers] == [422, 422, 429], [r.text for r in answers]
    assert answers[0].headers["X-RateLimit-Remaining"] == "1"
    assert set(answers[0].json()) == {"error"} and "JSON" in answers[0].json()["error"]
