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


def test_the_401s_and_the_scope_403s_document_their_challenge(make_client: AppFactory) -> None:
    """Every 401 carries ``WWW-Authenticate`` (RFC 9110, 15.5.2) and a 403 for a missing scope one
    with ``error="insufficient_scope"`` (RFC 6750, 3.1): a client generated from the document, or an
    API gateway configured from it, knew of neither."""
    client = make_client(store=True, auth_enabled=True)
    doc: dict[str, Any] = client.get("/openapi.json").json()
    for path, method in PROTECTED:
        responses = doc["paths"][path][method]["responses"]
        unauthorized = responses["401"].get("headers", {}).get("WWW-Authenticate")
        assert unauthorized is not None, (path, method, responses["401"])
        assert unauthorized["required"] is True and unauthorized["schema"] == {"type": "string"}
        assert 'error="invalid_token"' in unauthorized["description"]
        forbidden = responses["403"].get("headers", {}).get("WWW-Authenticate")
        assert forbidden is not None, (path, method, responses["403"])
        # Only a missing scope's 403 has one (not the host check's, nor a cross-site write's).
        assert forbidden["required"] is False and forbidden["schema"] == {"type": "string"}
        assert 'error="insufficient_scope"' in forbidden["description"]
    for path, method in OPEN:
        assert "401" not in doc["paths"][path][method]["responses"], (path, method)
