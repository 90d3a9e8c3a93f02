"""A 401 says how to authenticate: RFC 9110 (15.5.2) requires a ``WWW-Authenticate`` challenge on
every 401, and HTTP clients (requests' auth hooks, curl --anyauth, browsers' fetch tooling) decide
from it which scheme to retry with. The API's 401s carried only the JSON error.

RFC 6750 (3.1) says why in the challenge: ``error="invalid_token"`` for a credential that was sent
and refused (wrong, revoked, expired), none for a request without one, and for a 403 of a missing
scope ``error="insufficient_scope"`` with the scope. OAuth clients and API gateways refresh a token
on invalid_token; on a plain challenge they re-sent the refused token."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import jwt
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, runtime_of

SECRET = "capsight-test-secret-" + "w" * 24

#: RFC 6750 (3): a quoted auth-param value holds no '"' and no '\\' (not even escaped), only
#: printable ASCII: anything else a client's parser chokes on, and CR or LF would split the header.
_PARAM = r'[a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*"'
_CHALLENGE = re.compile(rf"Bearer {_PARAM}(, {_PARAM})*")


def _invalid_token(description: str) -> str:
    return f'Bearer realm="capsight", error="invalid_token", error_description="{description}"'


def _classify(client: TestClient, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        "/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers
    )


def test_every_401_carries_a_bearer_challenge_and_a_403_none(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    key_id, key = keys.create_key("app")
    anonymous = [
        _classify(client),  # no credentials
        client.get("/v1/jobs/0123456789abcdef0123456789abcdef"),  # a GET route, no credentials
        client.head("/v1/requests"),  # HEAD, no credentials
        _classify(client, {"Authorization": "Bearer "}),  # a scheme without a credential
    ]
    for response in anonymous:
        assert response.status_code == 401
        # RFC 6750 (3.1): no credentials, no error attribute (nothing was invalid).
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="capsight"'
    wrong = _classify(client, {"X-API-Key": f"cs_{key_id}_guessed"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == _invalid_token("Invalid or revoked API key.")
    keys.revoke_key(key_id)
    revoked = _classify(client, {"Authorization": f"Bearer {key}"})
    assert revoked.status_code == 401
    assert revoked.json() == {"error": "Invalid or revoked API key."}
    assert revoked.headers["WWW-Authenticate"] == _invalid_token("Invalid or revoked API key.")

    _, classify_only = keys.create_key("no admin")
    forbidden = client.get("/v1/requests", headers={"X-API-Key": classify_only})
    assert forbidden.status_code == 403
    assert forbidden.json() == {"error": "This API key lacks the 'admin' scope."}
    # The credentials were fine: a client re-authenticating would get the same; it needs the scope.
    assert forbidden.headers["WWW-Authenticate"] == (
        'Bearer realm="capsight", error="insufficient_scope", '
        'error_description="This API key lacks the \'admin\' scope.", scope="admin"'
    )


def test_a_refused_token_is_invalid_token_and_other_403s_carry_no_challenge(
    make_client: AppFactory,
) -> None:
    client = make_client(store=True, auth_enabled=True, jwt_secret=SECRET)
    expired = jwt.encode({"sub": "app", "exp": int(time.time()) - 3600}, SECRET, "HS256")
    r = _classify(client, {"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == _invalid_token(r.json()["error"])
    not_a_token = _classify(client, {"Authorization": "Bearer some-other-service-key"})
    assert not_a_token.status_code == 401
    assert not_a_token.headers["WWW-Authenticate"].startswith(
        'Bearer realm="capsight", error="invalid_token", error_description="Invalid credentials: '
    )
    # A 403 that credentials cannot change (auth off, a DNS-rebinding Host): no challenge.
    rebinding = make_client().get("/health/live", headers={"Host": "evil.example"})
    assert rebinding.status_code == 403
    assert "WWW-Authenticate" not in rebinding.headers


def test_the_callers_text_reaches_the_challenge_only_made_safe(make_client: AppFactory) -> None:
    """The 401 of a token signed with an algorithm this server does not take repeats the token's
    ``alg``: the caller's text, here with a quote, a backslash, CR LF and a non-ASCII letter."""
    client = make_client(store=True, auth_enabled=True, jwt_secret=SECRET)
    signed = jwt.encode({"sub": "app", "exp": int(time.time()) + 300}, SECRET, "HS256")
    header = json.dumps({"alg": 'X"\\\r\né', "typ": "JWT"}).encode()
    token = ".".join([jwt.utils.base64url_encode(header).decode(), *signed.split(".")[1:]])
    r = _classify(client, {"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert "signed with" in r.json()["error"] and '"' in r.json()["error"]  # the body keeps it (JSON)
    challenge = r.headers["WWW-Authenticate"]
    assert _CHALLENGE.fullmatch(challenge), challenge
    assert challenge.startswith('Bearer realm="capsight", error="invalid_token", error_description="')
    assert "signed with 'X'" in challenge


def test_listing_another_clients_jobs_without_admin_is_an_insufficient_scope(
    make_client: AppFactory,
) -> None:
    """Only the admin scope lists another client's jobs: the 403 said so in words only, with no
    challenge, so a client could not tell it from a 403 that no scope would change."""
    client = make_client(store=True, auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, classify_only = keys.create_key("alice")
    other = client.get("/v1/jobs", params={"client_id": "bob"}, headers={"X-API-Key": classify_only})
    assert other.status_code == 403
    message = "Only admins list other clients' jobs: leave client_id out to list your own."
    assert other.json() == {"error": message}
    assert other.headers["WWW-Authenticate"] == (
        f'Bearer realm="capsight", error="insufficient_scope", error_description="{message}", scope="admin"'
    )
    # The key's own listing is still answered, without a challenge.
    own = client.get("/v1/jobs", headers={"X-API-Key": classify_only})
    assert own.status_code == 200
    assert "WWW-Authenticate" not in own.headers
