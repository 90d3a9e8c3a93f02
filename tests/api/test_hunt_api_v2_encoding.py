"""A V2 inference body in a Content-Encoding the server does not inflate (br, zstd) is answered
415 with the encodings it does take in Accept-Encoding (RFC 9110, 15.5.16), as the uploads and
/v1/feedback are: it was a 400, which told the client its request was malformed."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from helpers import AppFactory

INFER = "/v2/models/bottle-status/infer"


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br"])
def test_an_encoding_the_server_cannot_inflate_is_415(make_client: AppFactory, encoding: str) -> None:
    client: Any = make_client()
    r = client.post(INFER, content=b"{}", headers={"content-encoding": encoding})
    assert r.status_code == 415, r.text
    assert set(r.json()) == {"error"} and "content-encoding" in r.json()["error"].lower()
    assert r.headers["accept-encoding"] == "gzip, deflate, identity"


def test_gzip_is_still_inflated_and_documented(make_client: AppFactory) -> None:
    client: Any = make_client()
    r = client.post(
        INFER,
        content=gzip.compress(json.dumps({"inputs": []}).encode()),
        headers={"content-encoding": "gzip"},
    )
    assert r.status_code == 400, r.text  # inflated and read: no inputs
    assert "input" in r.json()["error"].lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert "415" in paths["/v2/models/{name}/infer"]["post"]["responses"]
