"""`GET /v1/requests` refuses a query parameter it does not know, one given twice, or an empty filter.

Why: ``?lable=opened`` or ``?min_conf=0.9`` (a typo, or another tool's name) answered 200 with every
row, unfiltered, so an operator read the whole log as "the opened ones"; ``?label=a&label=b`` was
answered as ``label=b``; ``?label=`` matched no row and answered an empty page ("no such rows")
where the script had left a variable unset. ``GET /v1/jobs`` already refused a repeated or empty
filter with 400; this listing now does the same, and names an unknown parameter with those it takes.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, png
from api.logread import flush_log

TAKES = "since, until, label, min_confidence, max_confidence, client_id, model_version, limit, cursor"


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    """An app with one logged classification, so an ignored filter would show a row."""
    client = make_client(store=True)
    r = client.post("/v1/classify", files={"file": ("x", png("closed"), "image/png")})
    assert r.status_code == 200, r.text
    flush_log(client)
    return client


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("lable=opened", f"Unknown query parameter 'lable': GET /v1/requests takes {TAKES}."),
        ("min_conf=0.9", f"Unknown query parameter 'min_conf': GET /v1/requests takes {TAKES}."),
        (
            "label=closed&min_conf=0.9&max_conf=1",
            f"Unknown query parameters 'min_conf', 'max_conf': GET /v1/requests takes {TAKES}.",
        ),
        # Refused before the values are validated: the typo is what the client must fix first.
        ("limit=0&Label=closed", f"Unknown query parameter 'Label': GET /v1/requests takes {TAKES}."),
        ("label=closed&label=opened", "label is given 2 times: give it once."),
        ("limit=10&limit=0", "limit is given 2 times: give it once."),
        ("label=", "label is empty: give a value, or leave label out."),
        ("client_id=%20%20", "client_id is empty: give a value, or leave client_id out."),
        ("model_version=", "model_version is empty: give a value, or leave model_version out."),
    ],
)
def test_a_query_the_listing_cannot_honour_is_refused_naming_why(
    client: TestClient, query: str, error: str
) -> None:
    r = client.get(f"/v1/requests?{query}")
    assert r.status_code == 400, r.text
    assert r.json() == {"error": error}
    assert client.head(f"/v1/requests?{query}").status_code == 400  # HEAD is answered like GET


def test_every_documented_filter_is_still_taken(client: TestClient) -> None:
    """The filters README's endpoint table names, all at once, as a client sends them."""
    row = client.get("/v1/requests").json()["items"][0]
    params = {
        "since": "2000-01-01T00:00:00Z",
        "until": "2999-01-01T00:00:00Z",
        "label": row["label"],
        "min_confidence": 0,
        "max_confidence": 1,
        "client_id": row["client_id"],
        "model_version": row["model_version"],
        "limit": 5,
    }
    r = client.get("/v1/requests", params=params)
    assert r.status_code == 200, r.text
    assert [item["id"] for item in r.json()["items"]] == [row["id"]]
    cursor = client.get("/v1/requests", params={"cursor": _first_page_cursor(client)})
    assert cursor.status_code == 200, cursor.text


def _first_page_cursor(client: TestClient) -> str:
    """A real cursor: a second classification makes a one-row first page that has a next page."""
    assert client.post("/v1/classify", files={"file": ("y", png("opened"), "image/png")}).status_code == 200
    flush_log(client)
    cursor = client.get("/v1/requests", params={"limit": 1}).json()["next_cursor"]
    assert isinstance(cursor, str)
    return cursor
