"""The authenticator: API keys from headers, JWT (HS256, RS256, ES256), and the failure answers."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from store_records import unreachable_postgres_url

from capsight.errors import ServiceUnavailable, Unauthorized
from capsight.store.auth import ApiKeyAuthenticator, JwtVerifier, credential_from_headers
from capsight.store.database import Database
from capsight.store.keys import KeyStore
from capsight.store.protocols import Principal

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def authenticate(auth: ApiKeyAuthenticator, headers: dict[str, str]) -> Principal:
    return asyncio.run(auth.authenticate(headers, "198.51.100.9"))


@pytest.fixture
def keys(sqlite_db: Database) -> KeyStore:
    return KeyStore(sqlite_db)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer abc"}, "abc"),
        ({"authorization": "bearer  abc "}, "abc"),
        ({"X-API-Key": "k1"}, "k1"),
        ({"x-api-key": "k1", "authorization": "Bearer other"}, "k1"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, None),
        ({"Authorization": "Bearer "}, None),
        ({}, None),
    ],
)
def test_credential_from_headers(headers: dict[str, str], expected: str | None) -> None:
    assert credential_from_headers(headers) == expected


def test_api_key_in_either_header(keys: KeyStore) -> None:
    key_id, plaintext = keys.create_key("svc", "classify", "100/minute")
    auth = ApiKeyAuthenticator(keys)
    for headers in ({"Authorization": f"Bearer {plaintext}"}, {"x-api-key": plaintext}):
        principal = authenticate(auth, headers)
        assert principal == Principal(
            id=key_id, name="svc", scopes=frozenset({"classify"}), rate_limit="100/minute"
        )
        assert principal.allows("classify") and not principal.allows("admin")


def test_admin_key_allows_everything(keys: KeyStore) -> None:
    _, plaintext = keys.create_key("ops", "admin")
    principal = authenticate(ApiKeyAuthenticator(keys), {"X-API-Key": plaintext})
    assert principal.allows("admin") and principal.allows("classify")


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": "cs_unknown_key"}, {"Authorization": "Bearer nonsense"}]
)
def test_missing_or_unknown_credentials_are_unauthorized(keys: KeyStore, headers: dict[str, str]) -> None:
    with pytest.raises(Unauthorized):
        authenticate(ApiKeyAuthenticator(keys), headers)


def test_revoked_key_is_unauthorized(keys: KeyStore) -> None:
    key_id, plaintext = keys.create_key("gone")
    auth = ApiKeyAuthenticator(keys)
    authenticate(auth, {"X-API-Key": plaintext})
    keys.revoke_key(key_id)
    with pytest.raises(Unauthorized, match="revoked"):
        authenticate(auth, {"X-API-Key": plaintext})


def test_unreachable_key_database_is_503_not_401() -> None:
    auth = ApiKeyAuthenticator(KeyStore(Database(unreachable_postgres_url(), connect_timeout=1)))
    with pytest.raises(ServiceUnavailable):
        authenticate(auth, {"X-API-Key": "cs_0123456789ab_secret"})


def test_no_key_store_means_keys_are_refused() -> None:
    with pytest.raises(Unauthorized):
        authenticate(ApiKeyAuthenticator(None), {"X-API-Key": "cs_0123456789ab_secret"})


# --------------------------------------------------------------------------------------------- JWT
def hs256(claims: dict[str, Any], secret: str = SECRET) -> str:
    """A token that expires in an hour unless ``claims`` say otherwise (``"exp": None``: no expiry).

    An hour, not a minute: parametrized tokens are made when the suite is collected, and the whole
    suite may run for minutes before they are checked."""
    claims = {"exp": int(time.time()) + 3600, **claims}
    if claims["exp"] is None:
        del claims["exp"]
    return jwt.encode(claims, secret, algorithm="HS256")


def test_jwt_hs256_valid_token() -> None:
    auth = ApiKeyAuthenticator(None, JwtVerifier(secret=SECRET))
    token = hs256({"sub": "user-7", "name": "Seven", "scope": "classify admin", "exp": int(time.time()) + 60})
    principal = authenticate(auth, {"Authorization": f"Bearer {token}"})
    assert principal.id == "jwt:user-7" and principal.name == "Seven"
    assert principal.scopes == frozenset({"classify", "admin"})


def test_jwt_scope_as_list_and_default_scope() -> None:
    verifier = JwtVerifier(secret=SECRET)
    assert verifier.verify(hs256({"sub": "a", "scope": ["admin"]})).scopes == frozenset({"admin"})
    default = verifier.verify(hs256({"sub": "b", "rate_limit": "5/second"}))
    assert default.scopes == frozenset({"classify"}) and default.rate_limit == "5/second"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (hs256({"sub": "u", "exp": int(time.time()) - 120}), "expired"),  # past the 30 s leeway
        (hs256({"sub": "u"}, secret="another-secret-of-sufficient-length!!"), "Signature"),
        (hs256({"name": "no subject"}), "sub"),
        ("not.a.jwt", "Invalid token"),
        ("e30.e30.", "Invalid token"),
        # Signed by the trusted secret, but with claims of the wrong shape: refused, not a 503 later
        # (scope) and not a silently unlimited caller (rate_limit).
        (hs256({"sub": "u", "scope": 1}), "'scope' must be a string or a list of strings"),
        (hs256({"sub": "u", "scope": ["admin", 2]}), "'scope' must be"),
        (hs256({"sub": "u", "rate_limit": "lots"}), "'rate_limit' 'lots' is not a rate"),
    ],
)
def test_jwt_invalid_tokens_are_unauthorized(token: str, message: str) -> None:
    auth = ApiKeyAuthenticator(None, JwtVerifier(secret=SECRET))
    with pytest.raises(Unauthorized, match=message):
        authenticate(auth, {"Authorization": f"Bearer {token}"})


def test_unsigned_token_is_refused() -> None:
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    payload = jwt.utils.base64url_encode(json.dumps({"sub": "root", "scope": "admin"}).encode()).decode()
    forged = f"{header}.{payload}."
    with pytest.raises(Unauthorized):
        JwtVerifier(secret=SECRET).verify(forged)


def _pem_public(private_key: Any) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_jwt_rs256_with_public_key_file(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "jwt.pub"
    path.write_text(_pem_public(private))
    verifier = JwtVerifier(public_key=str(path), algorithm="RS256")
    exp = int(time.time()) + 60
    assert verifier.verify(jwt.encode({"sub": "svc", "exp": exp}, private, algorithm="RS256")).id == "jwt:svc"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized):
        verifier.verify(jwt.encode({"sub": "svc", "exp": exp}, other, algorithm="RS256"))
    # An HS256 token "signed" with the public key text must not pass (algorithm confusion).
    with pytest.raises(Unauthorized):
        verifier.verify(hs256({"sub": "svc"}, secret="x" * 40))


def test_jwt_es256_with_public_key_text() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    verifier = JwtVerifier(public_key=_pem_public(private), algorithm="ES256")
    token = jwt.encode({"sub": "edge", "exp": int(time.time()) + 60}, private, algorithm="ES256")
    assert verifier.verify(token).id == "jwt:edge"


def test_api_keys_still_work_next_to_jwt(keys: KeyStore) -> None:
    key_id, plaintext = keys.create_key("mixed")
    auth = ApiKeyAuthenticator(keys, JwtVerifier(secret=SECRET))
    assert authenticate(auth, {"Authorization": f"Bearer {plaintext}"}).id == key_id
    assert authenticate(auth, {"Authorization": f"Bearer {hs256({'sub': 'j'})}"}).id == "jwt:j"


def test_a_token_subject_never_shares_an_api_keys_identity(keys: KeyStore) -> None:
    """Rate-limit buckets and job ownership go by the principal's id: a token whose ``sub`` equals
    an API key's id must not spend that key's limit or read its jobs."""
    key_id, plaintext = keys.create_key("owner")
    auth = ApiKeyAuthenticator(keys, JwtVerifier(secret=SECRET))
    by_key = authenticate(auth, {"X-API-Key": plaintext})
    by_token = authenticate(auth, {"Authorization": f"Bearer {hs256({'sub': key_id})}"})
    assert by_key.id == key_id and by_token.id != by_key.id


def test_a_token_without_expiry_is_refused_unless_allowed() -> None:
    forever = hs256({"sub": "u", "exp": None})
    with pytest.raises(Unauthorized, match="exp"):
        JwtVerifier(secret=SECRET).verify(forever)
    assert JwtVerifier(secret=SECRET, require_exp=False).verify(forever).id == "jwt:u"


def test_clock_skew_within_the_leeway_is_tolerated() -> None:
    just_expired = hs256({"sub": "u", "exp": int(time.time()) - 10})
    assert JwtVerifier(secret=SECRET, leeway_seconds=30).verify(just_expired).id == "jwt:u"
    with pytest.raises(Unauthorized, match="expired"):
        JwtVerifier(secret=SECRET, leeway_seconds=0).verify(just_expired)


@pytest.mark.parametrize(
    ("claims", "audience", "message"),
    [
        ({"aud": "billing-api"}, "capsight", "not meant for this service .*expected 'capsight'"),
        ({}, "capsight", "aud"),
        # Identity providers put an audience in every token: with none configured such a token is
        # refused, and the message names the setting to set.
        ({"aud": "capsight"}, None, "CAPSIGHT_JWT_AUDIENCE is unset"),
    ],
)
def test_tokens_for_another_audience_are_refused(
    claims: dict[str, Any], audience: str | None, message: str
) -> None:
    with pytest.raises(Unauthorized, match=message):
        JwtVerifier(secret=SECRET, audience=audience).verify(hs256({"sub": "u", **claims}))


def test_audience_and_issuer_when_configured() -> None:
    verifier = JwtVerifier(secret=SECRET, audience="capsight", issuer="https://login.example/")
    good = {"sub": "u", "aud": ["other", "capsight"], "iss": "https://login.example/"}
    assert verifier.verify(hs256(good)).id == "jwt:u"
    with pytest.raises(Unauthorized, match=r"issuer is not 'https://login\.example/'"):
        verifier.verify(hs256({**good, "iss": "https://evil.example/"}))
    with pytest.raises(Unauthorized, match="iss"):
        verifier.verify(hs256({"sub": "u", "aud": "capsight"}))


def test_jwt_verifier_needs_a_key() -> None:
    with pytest.raises(ValueError):
        JwtVerifier()


def test_a_long_token_subject_still_owns_its_logged_answers(sqlite_db: Database) -> None:
    """Client ids are kept in 200-character columns, and the request log clips a longer one: the
    principal id of a long ``sub`` must fit, or feedback (stored whole) never matches its answer."""
    from store_records import make_record

    from capsight.store.feedback import FeedbackEntry, FeedbackStore
    from capsight.store.logwriter import write_batch

    auth = ApiKeyAuthenticator(None, JwtVerifier(secret=SECRET))
    long_sub = "spiffe://example.org/" + "a" * 250
    principal = authenticate(auth, {"Authorization": f"Bearer {hs256({'sub': long_sub})}"})
    other = authenticate(auth, {"Authorization": f"Bearer {hs256({'sub': long_sub + 'b'})}"})
    assert len(principal.id) <= 200 and principal.id.startswith("jwt:")
    assert other.id != principal.id  # same first 200 characters, another subject
    again = authenticate(auth, {"Authorization": f"Bearer {hs256({'sub': long_sub})}"})
    assert again.id == principal.id

    write_batch(sqlite_db, None, [(make_record(request_id="req-long", client_id=principal.id), None)])
    feedback = FeedbackStore(sqlite_db)
    feedback.add(FeedbackEntry("req-long", 0, principal.id, False, "bottle-status", "opened"))
    match = feedback.match()
    assert [m.request_id for m in match.matched] == ["req-long"] and match.unmatched == 0
