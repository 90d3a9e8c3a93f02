"""The identity provider's public keys are read once, and a token's ``kid`` picks the key it names.

Why: PyJWT was handed the PEM text and parsed it again at every token (an RSA key: a third of a
verification's CPU), and since several PEM blocks are allowed (a key rotation) a token was checked
against each key in turn: a token of the last of three keys, or a forged one, cost three signature
checks. A token names its key in ``kid``: by the key's RFC 7638 thumbprint, or for a signing
certificate by its x5t (Microsoft Entra ID, AD FS), it is checked with that key alone; by another
name (most providers' own ids), with the key that verified that name's tokens before, first.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import jwt.algorithms
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from capsight.errors import Unauthorized
from capsight.store.auth import JwtVerifier
from store.test_jwt_key_rotation import NEW, OLD, STRANGER, _certificate, _pem

MIDDLE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CLAIMS = {"sub": "svc"}


def _token(private: Any, kid: str | None = None, algorithm: str = "RS256") -> str:
    headers = {"kid": kid} if kid is not None else None
    claims = {**CLAIMS, "exp": int(time.time()) + 60}
    return jwt.encode(claims, private, algorithm=algorithm, headers=headers)


def _thumbprint(private: Any) -> str:
    """RFC 7638, worked out here from the JWK: SHA-256 of the required members, sorted, no spaces."""
    public = private.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
        members = ("e", "kty", "n")
    else:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
        members = ("crv", "kty", "x", "y")
    text = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return jwt.utils.base64url_encode(hashlib.sha256(text.encode()).digest()).decode()


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The signature checks and PEM parses PyJWT makes (its own functions, counted and called)."""
    made: list[str] = []
    for algorithm in (jwt.algorithms.RSAAlgorithm, jwt.algorithms.ECAlgorithm):
        verify = algorithm.verify

        def counted(self: Any, msg: bytes, key: Any, sig: bytes, verify: Any = verify) -> bool:
            made.append("signature")
            return bool(verify(self, msg, key, sig))

        monkeypatch.setattr(algorithm, "verify", counted)
    load = jwt.algorithms.load_pem_public_key

    def parsed(data: bytes, backend: Any = None) -> Any:
        made.append("parse")
        return load(data, backend)

    monkeypatch.setattr(jwt.algorithms, "load_pem_public_key", parsed)
    yield made


def test_the_keys_are_parsed_once_not_at_every_token(checks: list[str]) -> None:
    verifier = JwtVerifier(public_key=_pem(OLD) + _certificate(NEW), algorithm="RS256")
    checks.clear()
    for _ in range(5):
        assert verifier.verify(_token(OLD)).id == "jwt:svc"
    assert checks == ["signature"] * 5


def test_a_kid_naming_a_key_by_thumbprint_or_x5t_costs_one_check(checks: list[str]) -> None:
    signing_certificate = _certificate(NEW)
    verifier = JwtVerifier(public_key=_pem(OLD) + _pem(MIDDLE) + signing_certificate, algorithm="RS256")
    certificate = x509.load_pem_x509_certificate(signing_certificate.encode())
    checks.clear()
    assert verifier.verify(_token(MIDDLE, kid=_thumbprint(MIDDLE))).id == "jwt:svc"
    assert checks == ["signature"]
    # Entra ID's kid is the x5t of its signing certificate: the SHA-1 of the certificate's DER.
    x5t = jwt.utils.base64url_encode(certificate.fingerprint(hashes.SHA1())).decode()
    x5t_s256 = jwt.utils.base64url_encode(certificate.fingerprint(hashes.SHA256())).decode()
    for kid in (x5t, x5t_s256, _thumbprint(NEW)):
        checks.clear()
        assert verifier.verify(_token(NEW, kid=kid)).id == "jwt:svc"
        assert checks == ["signature"], kid
    # A forgery naming a listed key is checked against that key only, and refused.
    checks.clear()
    with pytest.raises(Unauthorized, match="Signature verification failed"):
        verifier.verify(_token(STRANGER, kid=_thumbprint(MIDDLE)))
    assert checks == ["signature"]
    # The key a kid names is the only one that may have signed: another listed key's token is refused.
    with pytest.raises(Unauthorized, match="Signature verification failed"):
        verifier.verify(_token(OLD, kid=_thumbprint(MIDDLE)))


def test_a_providers_own_kid_goes_first_to_the_key_that_verified_it(checks: list[str]) -> None:
    """Most providers name keys their own way: the first token of a kid is tried against each key,
    the next ones start with the key that verified it (a forgery under that kid still tries all)."""
    verifier = JwtVerifier(public_key=_pem(OLD) + _pem(MIDDLE) + _pem(NEW), algorithm="RS256")
    checks.clear()
    assert verifier.verify(_token(NEW, kid="2026-11-key-3")).id == "jwt:svc"
    assert checks == ["signature"] * 3
    for _ in range(3):
        checks.clear()
        assert verifier.verify(_token(NEW, kid="2026-11-key-3")).id == "jwt:svc"
        assert checks == ["signature"]
    checks.clear()
    assert verifier.verify(_token(OLD, kid="2026-11-key-3")).id == "jwt:svc"  # kid reused: still taken
    checks.clear()
    with pytest.raises(Unauthorized, match="Signature verification failed"):
        verifier.verify(_token(STRANGER, kid="2026-11-key-3"))
    assert checks == ["signature"] * 3
    # A kid that is no name at all (PyJWT will not mint one): refused as PyJWT refuses it, no 503.
    header = jwt.utils.base64url_encode(b'{"alg":"RS256","kid":["a"]}').decode()
    odd = ".".join([header, *_token(NEW).split(".")[1:]])
    with pytest.raises(Unauthorized, match=r"^Invalid token: "):
        verifier.verify(odd)


def test_an_ec_key_is_picked_by_its_thumbprint_too(checks: list[str]) -> None:
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    verifier = JwtVerifier(public_key="".join(_pem(key) for key in keys), algorithm="ES256")
    checks.clear()
    assert verifier.verify(_token(keys[2], kid=_thumbprint(keys[2]), algorithm="ES256")).id == "jwt:svc"
    assert checks == ["signature"]
