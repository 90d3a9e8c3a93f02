"""``POST /v1/feedback`` with a NUL character in its note: a client's malformed text, answered 422
like the body's other malformed fields.

PostgreSQL cannot store NUL in text: the insert failed, and the route answered 503 "The database
is unavailable; retry shortly" with Retry-After, so a client retried the same body for ever while
the database was fine. SQLite stored it, so the two backends also answered differently."""

from __future__ import annotations

import pytest
from helpers import AppFactory, jpeg

from servers import PostgresServer


def _post_nul_note(make_client: AppFactory, **settings: object) -> None:
    client = make_client(store=True, **settings)
    # An answer to correct: feedback on an upload that got no answer is refused (400) once logged.
    r = client.post("/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")})
    assert r.status_code == 200, r.text
    request_id = r.headers["x-request-id"]
    r = client.post(
        "/v1/feedback", json={"request_id": request_id, "label": "opened", "note": "cap\u0000off"}
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert "note" in error and "NUL" in error and "retry-after" not in r.headers
    r = client.post("/v1/feedback", json={"request_id": request_id, "label": "opened", "note": "cap off"})
    assert r.status_code == 202, r.text


def test_a_nul_in_the_note_is_422_on_sqlite(make_client: AppFactory) -> None:
    _post_nul_note(make_client)


@pytest.mark.postgres
def test_a_nul_in_the_note_is_422_on_postgres(
    make_client: AppFactory, postgres_server: PostgresServer
) -> None:
    _post_nul_note(make_client, database_url=postgres_server.create_schema())
