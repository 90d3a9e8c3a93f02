"""``Authorization`` with a scheme this server does not take (Basic, Digest, Token, ...).

Such a request was answered as if it carried nothing, "Missing API key: ...": its client had sent a
credential, and a user name and password in a Basic header (a tool's "Basic auth" option) looked
refused for no reason. The 401 says the scheme is not supported and what to send instead. Nothing
of it is checked or looked up, so, as a request without credentials, it keeps the plain challenge
(RFC 6750, 3.1: no error code for "an unsupported authentication method") and is no failed login
under CAPSIGHT_AUTH_FAILURE_LIMIT."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.helpers import AppFactory, jpeg, runtime_of

SECRET = "capsight-test-secret-" + "u" * 24
PLAIN_CHALLENGE = 'Bearer realm="capsight"'
HOW = "send the API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"


def _post(client: TestClient, headers: dict[str, str]) -> Any:
    return client.post(
        "/v1/classify", files={"file": ("a.jpg", jpeg("closed"), "image/jpeg")}, headers=headers
    )


@pytest.mark.parametrize(
    ("authorization", "scheme"),
    [
        ("Basic dXNlcjpwYXNz", "Basic"),
        ("basic dXNlcjpwYXNz", "basic"),
        (
            'Digest username="app", realm="capsight", nonce="abc", uri="/v1/classify", response="f00"',
            "Digest",
        ),
        ("Token cs_abc", "Token"),
        ("ApiKey cs_abc", "ApiKey"),
    ],
)
def test_an_unsupported_scheme_is_named_with_what_to_send(
    make_client: AppFactory, authorization: str, scheme: str
) -> None:
    client = make_client(store=True, auth_enabled=True)
    refused = _post(client, {"Authorization": authorization})
    assert refused.status_code == 401, refused.text
    message = refused.json()["error"]
    assert message.startswith(f"The '{scheme}' authorization scheme"), message
    assert "is not supported" in message and HOW in message, message
    assert refused.headers["WWW-Authenticate"] == PLAIN_CHALLENGE


def test_basic_says_a_user_name_and_password_are_not_taken(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True)
    message = _post(client, {"Authorization": "Basic dXNlcjpwYXNz"}).json()["error"]
    assert "user name and password" in message, message


def test_with_jwts_on_the_message_names_tokens_too(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True, jwt_secret=SECRET)
    message = _post(client, {"Authorization": "Basic dXNlcjpwYXNz"}).json()["error"]
    assert HOW in message and "or a JWT as 'Authorization: Bearer <token>'" in message, message


@pytest.mark.parametrize("authorization", ["cs_abcdef", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"])
def test_a_key_or_token_without_its_scheme_is_named(make_client: AppFactory, authorization: str) -> None:
    client = make_client(store=True, auth_enabled=True, jwt_secret=SECRET)
    refused = _post(client, {"Authorization": authorization})
    assert refused.status_code == 401
    message = refused.json()["error"]
    assert message.startswith("Authorization holds a key or token without its scheme"), message
    assert authorization not in message  # the caller's secret is not echoed into logs
    assert refused.headers["WWW-Authenticate"] == PLAIN_CHALLENGE


def test_an_unsupported_scheme_is_no_failed_login(make_client: AppFactory) -> None:
    """Nothing was looked up or verified, so nothing was guessed: counted, a tool sending Basic auth
    locked every new key of its address out with 429."""
    client = make_client(store=True, auth_enabled=True, auth_failure_limit="3/minute")
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, new_key = keys.create_key("office", "classify", None)
    for headers in ({"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Token abc"}) * 3:
        refused = _post(client, headers)
        assert refused.status_code == 401, refused.text
    assert _post(client, {"X-API-Key": new_key}).status_code == 200


def test_a_key_in_x_api_key_still_wins_over_a_basic_header(make_client: AppFactory) -> None:
    """A proxy with Basic auth of its own passes its header along: the key beside it is served."""
    client = make_client(store=True, auth_enabled=True)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, key = keys.create_key("behind a proxy", "classify", None)
    assert _post(client, {"Authorization": "Basic dXNlcjpwYXNz", "X-API-Key": key}).status_code == 200
