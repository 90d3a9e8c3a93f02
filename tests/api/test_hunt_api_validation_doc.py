"""The OpenAPI document describes the 422 answers as the server sends them, ``{"error": "..."}``:
FastAPI's default documented ``{"detail": [...]}`` (HTTPValidationError) on every route with a
parameter, so a client generated from /openapi.json parsed a body it never gets."""

from __future__ import annotations

from typing import Any

from helpers import AppFactory


def test_every_documented_422_is_the_error_body(make_client: AppFactory) -> None:
    client: Any = make_client()
    doc = client.get("/openapi.json").json()
    documented = {
        (method, path): op["responses"]["422"]
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if "422" in op.get("responses", {})
    }
    assert ("get", "/v1/requests") in documented, sorted(documented)
    for where, answer in documented.items():
        schema = answer["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (where, answer)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert "HTTPValidationError" not in client.get("/openapi.json").text  # served the same twice

    r = client.get("/v1/requests", params={"limit": 0})
    assert r.status_code == 422
    assert set(r.json()) == {"error"} and isinstance(r.json()["error"], str)
