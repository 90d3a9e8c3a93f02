"""Auth and rate limits end to end: real API keys made with the store's key functions, JWTs, and the
real in-process limiter, all built by create_app from settings."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, runtime_of
from api.logread import flush_log, read_rows

SECRET = "capsight-test-secret-" + "x" * 24  # HS256 wants at least 32 bytes


def _classify(client: TestClient, headers: dict[str, str] | None = None, path: str = "/v1/classify") -> Any:
    return client.post(path, files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers)


def _key(client: TestClient, name: str, scope: str = "classify", rate: str | None = None) -> tuple[str, str]:
    keys = runtime_of(client).services.keys
    assert keys is not None
    return keys.create_key(name, scope, rate)


@pytest.fixture
def auth_client(make_client: AppFactory) -> TestClient:
    return make_client(store=True, auth_enabled=True, jwt_secret=SECRET)


def _token(secret: str = SECRET, **claims: Any) -> str:
    return jwt.encode({"exp": int(time.time()) + 300, **claims}, secret, algorithm="HS256")


def test_missing_and_bad_credentials_are_401(auth_client: TestClient) -> None:
    missing = _classify(auth_client)
    assert missing.status_code == 401
    assert missing.json() == {
        "error": "Missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."
    }
    key_id, key = _key(auth_client, "real")
    for bad in (key[:-2] + "xx", f"cs_{key_id}_guessed", "cs_nope", "not-a-key-or-token"):
        r = _classify(auth_client, {"X-API-Key": bad})
        assert r.status_code == 401, bad
        assert set(r.json()) == {"error"}
    assert _classify(auth_client, {"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401


def test_bearer_and_x_api_key_both_work_and_the_log_names_the_key(auth_client: TestClient) -> None:
    key_id, key = _key(auth_client, "both ways")
    assert (
        _classify(auth_client, {"Authorization": f"Bearer {key}", "X-Request-ID": "bearer"}).status_code
        == 200
    )
    assert _classify(auth_client, {"X-API-Key": key, "X-Request-ID": "header"}).status_code == 200
    _, admin = _key(auth_client, "ops", scope="admin")
    flush_log(auth_client)
    rows = read_rows(auth_client, headers={"X-API-Key": admin})
    assert {row["request_id"]: row["client_id"] for row in rows} == {"bearer": key_id, "header": key_id}


def test_revoked_key_is_401(auth_client: TestClient) -> None:
    key_id, key = _key(auth_client, "leaving")
    assert _classify(auth_client, {"X-API-Key": key}).status_code == 200
    keys = runtime_of(auth_client).services.keys
    assert keys is not None
    keys.revoke_key(key_id)
    r = _classify(auth_client, {"X-API-Key": key})
    assert r.status_code == 401
    assert r.json() == {"error": "Invalid or revoked API key."}


def test_admin_endpoints_need_the_admin_scope(auth_client: TestClient) -> None:
    _, classify_key = _key(auth_client, "app")
    _, admin_key = _key(auth_client, "ops", scope="admin")
    image_path = f"/v1/images/{'0' * 64}"
    for path in ("/v1/requests", image_path):
        assert auth_client.get(path).status_code == 401
        forbidden = auth_client.get(path, headers={"X-API-Key": classify_key})
        assert forbidden.status_code == 403
        assert forbidden.json() == {"error": "This API key lacks the 'admin' scope."}
    assert auth_client.get("/v1/requests", headers={"X-API-Key": admin_key}).status_code == 200
    assert auth_client.get(image_path, headers={"Authorization": f"Bearer {admin_key}"}).status_code == 404
    assert _classify(auth_client, {"X-API-Key": admin_key}).status_code == 200  # admin may classify


def test_probes_metrics_and_docs_need_no_key(auth_client: TestClient) -> None:
    for path in ("/health/live", "/health/ready", "/metrics", "/openapi.json", "/v1/models"):
        assert auth_client.get(path).status_code == 200, path


def test_per_key_rate_from_the_key(auth_client: TestClient) -> None:
    _, limited = _key(auth_client, "small", rate="2/minute")
    _, other = _key(auth_client, "other", rate="100/minute")
    first, second, third = (_classify(auth_client, {"X-API-Key": limited}) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert first.headers["x-ratelimit-limit"] == "2"
    assert (first.headers["x-ratelimit-remaining"], second.headers["x-ratelimit-remaining"]) == ("1", "0")
    assert third.json() == {"error": "Rate limit exceeded."}
    assert third.headers["x-ratelimit-remaining"] == "0"
    assert 55 <= int(third.headers["retry-after"]) <= 60
    assert 55 <= int(third.headers["x-ratelimit-reset"]) <= 60
    assert third.headers["x-request-id"]
    # Limits are per key: another key, and the same client on another key, are unaffected.
    ok = _classify(auth_client, {"X-API-Key": other})
    assert ok.status_code == 200 and ok.headers["x-ratelimit-limit"] == "100"
    # A refused call (401) is not counted against anyone's rate.
    assert _classify(auth_client, {"X-API-Key": "cs_bad_key"}).status_code == 401
    assert "x-ratelimit-limit" not in _classify(auth_client).headers


def test_key_without_its_own_rate_gets_the_service_default(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True, rate_limit="1/minute")
    _, key = _key(client, "default rate")
    assert _classify(client, {"X-API-Key": key}).headers["x-ratelimit-limit"] == "1"
    assert _classify(client, {"X-API-Key": key}).status_code == 429


def test_per_ip_limit_when_auth_is_off(make_client: AppFactory) -> None:
    client = make_client(store=True, rate_limit="2/minute")
    statuses = [
        _classify(client, path=path).status_code for path in ("/classify", "/v1/classify", "/classify")
    ]
    assert statuses == [200, 200, 429]  # one budget per client IP, across endpoints
    r = _classify(client)
    assert r.status_code == 429 and r.json() == {"error": "Rate limit exceeded."}
    assert int(r.headers["retry-after"]) >= 1
    assert client.get("/health/ready").status_code == 200  # probes are never limited


def test_no_limit_configured_means_no_rate_headers(make_client: AppFactory) -> None:
    client = make_client(store=True)
    r = _classify(client)
    assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers


def test_jwt_bearer_tokens(auth_client: TestClient) -> None:
    ok = _classify(auth_client, {"Authorization": f"Bearer {_token(sub='svc-a')}", "X-Request-ID": "jwt"})
    assert ok.status_code == 200
    admin = {"Authorization": f"Bearer {_token(sub='ops-1', scope='admin')}"}
    flush_log(auth_client)
    (row,) = read_rows(auth_client, headers=admin)
    assert (row["request_id"], row["client_id"]) == ("jwt", "jwt:svc-a")

    classify_only = {"Authorization": f"Bearer {_token(sub='svc-a', scope='classify')}"}
    assert auth_client.get("/v1/requests", headers=classify_only).status_code == 403
    exp = int(time.time()) - 120  # past the 30 s clock-skew leeway
    expired = _token(sub="svc-a", exp=exp)
    r = _classify(auth_client, {"Authorization": f"Bearer {expired}"})
    # How long ago by this server's clock, and when: a client with a skewed clock or a stale cached
    # token can tell which it is (the seconds are this server's count when it answered).
    ago = re.match(r"Token expired (\d+) s ago", r.json()["error"])
    assert ago is not None and 120 <= int(ago.group(1)) <= 125, r.json()
    when = datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert r.status_code == 401 and r.json() == {
        "error": f"Token expired {ago.group(1)} s ago by this server's clock ('exp' {when}, past the "
        "CAPSIGHT_JWT_LEEWAY_SECONDS=30 allowed for clock skew): get a new token."
    }
    forged = _token(secret="another-secret-that-is-long-enough-32b", sub="svc-a")
    r = _classify(auth_client, {"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json()["error"].startswith("Invalid token")
    no_subject = jwt.encode({"exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    assert _classify(auth_client, {"Authorization": f"Bearer {no_subject}"}).status_code == 401


def test_jwt_rate_limit_claim(auth_client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {_token(sub='tiny', rate_limit='1/minute')}"}
    assert _classify(auth_client, headers).status_code == 200
    assert _classify(auth_client, headers).status_code == 429


def test_jwt_is_refused_when_no_secret_is_configured(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    r = _classify(client, {"Authorization": f"Bearer {_token(sub='svc-a')}"})
    assert r.status_code == 401 and r.json() == {
        "error": "Invalid credentials: a JWT (three dot-separated parts), but this server takes API keys "
        "(cs_...) only: neither CAPSIGHT_JWT_SECRET nor CAPSIGHT_JWT_PUBLIC_KEY is set."
    }
