"""The OpenAPI document says which routes take credentials, and how.

It declared no security scheme, so the docs page (/docs) had no "Authorize" button: with auth on,
every "Try it out" on a classify or admin route was answered 401, and clients generated from the
document never sent a key. The open routes (probes, metrics, model metadata) stay without one.
"""

from __future__ import annotations

from typing import Any

from api.helpers import AppFactory

PROTECTED = [
    ("/classify", "post"),
    ("/v1/classify", "post"),
    ("/v1/classify/batch", "post"),
    ("/v1/feedback", "post"),
    ("/v1/models/reload", "post"),
    ("/v1/requests", "get"),
    ("/v1/images/{sha256}", "get"),
    ("/v1/jobs", "post"),
    ("/v1/jobs", "get"),
    ("/v1/jobs/{job_id}", "get"),
    ("/v1/jobs/{job_id}", "delete"),
    ("/v1/jobs/{job_id}/results", "get"),
    ("/v2/models/{name}/infer", "post"),
    ("/v2/models/{name}/versions/{version}/infer", "post"),
]
OPEN = [("/health/live", "get"), ("/health/ready", "get"), ("/v1/models", "get"), ("/v2", "get")]


def test_protected_routes_declare_the_api_key_header_or_a_bearer_token(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    doc: dict[str, Any] = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    by_kind = {(s["type"], s.get("in"), s.get("name"), s.get("scheme")): n for n, s in schemes.items()}
    api_key = by_kind[("apiKey", "header", "X-API-Key", None)]
    bearer = by_kind[("http", None, None, "bearer")]
    for path, method in PROTECTED:
        security = doc["paths"][path][method].get("security")
        assert security == [{api_key: []}, {bearer: []}], (path, method, security)
    for path, method in OPEN:
        assert "security" not in doc["paths"][path][method], (path, method)
