"""CORS: origins come from settings (CAPSIGHT_CORS_ORIGINS); preflights are answered for allowed
origins and refused, in the API's error shape, for the rest."""

from __future__ import annotations

import pytest

from api.helpers import AppFactory, jpeg
from capsight.settings import Settings

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}


def test_preflight_from_an_allowed_origin(make_client: AppFactory) -> None:
    client = make_client(cors_origins=["https://app.example", "https://ops.example"])
    for origin in ("https://app.example", "https://ops.example"):
        r = client.options("/v1/classify", headers={"Origin": origin, **PREFLIGHT})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == origin
        assert "POST" in r.headers["access-control-allow-methods"]
        assert r.headers["access-control-allow-headers"].lower() == "x-api-key"
    actual = client.post(
        "/v1/classify",
        files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")},
        headers={"Origin": "https://app.example"},
    )
    assert actual.headers["access-control-allow-origin"] == "https://app.example"
    exposed = actual.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed and "retry-after" in exposed and "x-ratelimit-remaining" in exposed


def test_preflight_from_another_origin_is_refused(make_client: AppFactory) -> None:
    client = make_client(cors_origins=["https://app.example"])
    r = client.options("/v1/classify", headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert r.status_code == 400
    assert r.json() == {"error": "Disallowed CORS origin."}
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["x-request-id"]
    simple = client.get("/health/live", headers={"Origin": "https://evil.example"})
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers


def test_any_origin_with_a_star(make_client: AppFactory) -> None:
    client = make_client(cors_origins=["*"])
    r = client.options("/v1/classify", headers={"Origin": "https://anywhere.example", **PREFLIGHT})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


def test_without_origins_there_is_no_cors(make_client: AppFactory) -> None:
    client = make_client()
    r = client.options("/v1/classify", headers={"Origin": "https://app.example", **PREFLIGHT})
    assert r.status_code == 405  # no CORS layer: OPTIONS is just an unknown method here
    assert "access-control-allow-origin" not in r.headers


def test_origins_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_CORS_ORIGINS", '["https://app.example", "https://ops.example"]')
    assert Settings().cors_origins == ["https://app.example", "https://ops.example"]
