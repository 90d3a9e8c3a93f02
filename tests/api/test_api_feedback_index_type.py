"""``POST /v1/feedback`` takes no boolean for ``index``.

``"index": true`` was read as image 1 of the request (pydantic's lax mode turns a boolean into 0 or
1) and recorded, 202: a client that sent a flag where the index goes corrected another image of a
batch than it meant, without a word. A boolean is now 422 naming ``index``."""

from __future__ import annotations

import pytest
from helpers import AppFactory


@pytest.mark.parametrize("index", ["true", "false"])
def test_a_boolean_index_is_422(make_client: AppFactory, index: str) -> None:
    client = make_client(store=True)
    body = f'{{"request_id": "abc", "label": "closed", "index": {index}}}'
    r = client.post("/v1/feedback", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith("Invalid request: index: "), r.text


def test_an_integer_index_is_recorded(make_client: AppFactory) -> None:
    client = make_client(store=True)
    r = client.post("/v1/feedback", json={"request_id": "abc", "label": "closed", "index": 1})
    assert r.status_code == 202 and r.json()["index"] == 1, r.text
