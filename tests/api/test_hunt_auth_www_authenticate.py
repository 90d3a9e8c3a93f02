"""A 401 says how to authenticate: RFC 9110 (15.5.2) requires a ``WWW-Authenticate`` challenge on
every 401, and HTTP clients (requests' auth hooks, curl --anyauth, browsers' fetch tooling) decide
from it which scheme to retry with. The API's 401s carried only the JSON error."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, runtime_of


def _classify(client: TestClient, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        "/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers
    )


def test_every_401_carries_a_bearer_challenge_and_a_403_none(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    key_id, key = keys.create_key("app")
    refusals = [
        _classify(client),  # no credentials
        _classify(client, {"X-API-Key": f"cs_{key_id}_guessed"}),  # a wrong key
        client.get("/v1/jobs/0123456789abcdef0123456789abcdef"),  # a GET route, no credentials
        client.head("/v1/requests"),  # HEAD, no credentials
    ]
    for response in refusals:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="capsight"'
    keys.revoke_key(key_id)
    revoked = _classify(client, {"Authorization": f"Bearer {key}"})
    assert revoked.status_code == 401
    assert revoked.json() == {"error": "Invalid or revoked API key."}
    assert revoked.headers["WWW-Authenticate"] == 'Bearer realm="capsight"'

    _, classify_only = keys.create_key("no admin")
    forbidden = client.get("/v1/requests", headers={"X-API-Key": classify_only})
    assert forbidden.status_code == 403
    assert forbidden.json() == {"error": "This API key lacks the 'admin' scope."}
    assert "WWW-Authenticate" not in forbidden.headers  # credentials were fine: re-authenticating won't help
