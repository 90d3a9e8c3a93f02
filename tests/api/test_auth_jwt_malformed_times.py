"""A JWT signed with this server's key whose ``exp`` (or ``nbf``, ``iat``) is not a number.

It was refused as a forged token would be: counted as a failed login under
CAPSIGHT_AUTH_FAILURE_LIMIT, and told only what PyJWT said, "must be an integer", whatever the
claim held. Its signature verified, so its client guessed nothing: the issuer wrote the claim
wrong (an ISO date, a quoted or listed number). Refused 401 naming the malformed claim, and not
counted, as the other signed tokens refused for their claims (expired, another audience) are not."""

from __future__ import annotations

import time
from typing import Any

import pytest
from test_auth_failures_signed_tokens import SECRET, _bearer, _post  # the same signed requests

from api.helpers import AppFactory, runtime_of

MALFORMED = [
    ("exp", "2030-01-01T00:00:00Z"),
    ("exp", "soon"),
    ("exp", [1900000000]),
    ("exp", {"at": 1900000000}),
    ("nbf", "yesterday"),
    ("iat", "yesterday"),
]


@pytest.mark.parametrize(("claim", "value"), MALFORMED)
def test_a_malformed_time_claim_is_named(make_client: AppFactory, claim: str, value: Any) -> None:
    client = make_client(store=True, auth_enabled=True, jwt_secret=SECRET)
    claims = {"sub": "app", "exp": int(time.time()) + 3600, claim: value}
    refused = _post(client, _bearer(claims))
    assert refused.status_code == 401, refused.text
    message = refused.json()["error"]
    assert f"the '{claim}' claim is malformed" in message, message
    assert "a number of seconds since 1970" in message, message
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_a_signed_token_with_a_malformed_exp_is_no_failed_login(make_client: AppFactory) -> None:
    client = make_client(store=True, auth_enabled=True, auth_failure_limit="3/minute", jwt_secret=SECRET)
    keys = runtime_of(client).services.keys
    assert keys is not None
    _, new_key = keys.create_key("office", "classify", None)
    malformed = _bearer({"sub": "app", "exp": "soon"})
    for _ in range(5):  # past the limit of 3
        refused = _post(client, malformed)
        assert refused.status_code == 401, refused.text
    assert _post(client, {"X-API-Key": new_key}).status_code == 200


def test_a_forged_token_with_a_malformed_exp_still_counts(make_client: AppFactory) -> None:
    """The signature is checked first: a token of another secret is a guess whatever its claims."""
    client = make_client(store=True, auth_enabled=True, auth_failure_limit="3/minute", jwt_secret=SECRET)
    forged = _bearer({"sub": "admin", "exp": "soon"}, "guessed-secret-" + "g" * 24)
    for _ in range(3):
        refused = _post(client, forged)
        assert refused.status_code == 401
        assert "malformed" not in refused.json()["error"]
    assert _post(client, forged).status_code == 429
