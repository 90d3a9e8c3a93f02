"""Which JWT algorithm a public key can verify: a key that does not fit stops start-up.

Why: the verifier (``store/auth.py``) hands PyJWT the configured key and algorithm, and PyJWT finds
out that they do not fit only when a token arrives. An EC key with the algorithm left at its default
(HS256, verified as RS256 with a public key) answered every token of an ES256 identity provider 401
"The specified alg value is not allowed", and any RS256 token, which anyone can mint, 503 with an
InvalidKeyError traceback in the log; a truncated or private key answered every token 503 the same
way. Without the jwt extra nothing is judged here: ``extras.py`` stops start-up asking for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ASYMMETRIC = ("RS", "ES", "PS", "Ed")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_CURVES = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512", "secp256k1": "ES256K"}


def verified_algorithm(algorithm: str) -> str:
    """The algorithm a public key is used with: the default HS256 becomes RS256, as documented."""
    return algorithm if algorithm.startswith(ASYMMETRIC) else "RS256"


def public_key_texts(public_key: str) -> list[str]:
    """The PEM public keys ``public_key`` names: the text itself or a file's, one per PEM block
    (an identity provider publishes its next signing key before it switches, and both must verify
    through the rotation: only the first block was read, and the other key's tokens were 401), and
    of a certificate (the "signing certificate" identity providers hand out) its public key, which
    PyJWT cannot read from the certificate: every token was answered 503 "Could not parse the
    provided public key"."""
    return [_certificate_key(text) for text in _pem_texts(public_key)]


def _pem_texts(public_key: str) -> list[str]:
    return _pem_blocks(_read(public_key))


def _read(public_key: str) -> str:
    """The text itself (PEM, a JWKS) or a file's; a text is never tried as a file name (a long one
    fails the lookup)."""
    if not public_key.lstrip().startswith(("-----BEGIN", "{")) and Path(public_key).is_file():
        return Path(public_key).read_text()
    return public_key


def _pem_blocks(text: str) -> list[str]:
    blocks = [block.group() for block in _PEM_BLOCK.finditer(text)]
    return blocks if len(blocks) > 1 else [text]


def _jwks(text: str) -> list[dict[str, Any]] | None:
    """The signing keys of a JWKS (an identity provider's /.well-known/jwks.json) or of one JWK,
    or None for PEM text. Each keeps its ``kid``, by which a token names the key that signed it;
    a key for encryption (``"use": "enc"``) never verifies one. ValueError: not a JWKS."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"starts as a JWKS does ('{{') but is not JSON ({exc})") from None
    keys = document.get("keys", [document]) if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise ValueError('is JSON but no JWKS: give the provider\'s {"keys": [...]} document')
    return [key for key in keys if isinstance(key, dict) and key.get("use", "sig") == "sig"]


def _jwk_key(jwk: dict[str, Any]) -> Any:
    """The key of a JWK as PyJWT verifies with (PyJWTError or ValueError when it cannot be read)."""
    from jwt import PyJWK

    return PyJWK(jwk).key


@dataclass(frozen=True)
class VerifyingKey:
    """A public key as PyJWT takes it, read once (handed the PEM text, PyJWT parsed it again at every
    token), and the ``kid`` values that name it whichever provider minted the token: its RFC 7638
    thumbprint, and a certificate's x5t and x5t#S256 (Microsoft Entra ID's and AD FS's kid is the
    x5t). ``key`` stays the text where it cannot be read: PyJWT says at each token what it makes of it."""

    key: Any
    ids: frozenset[str] = frozenset()


def verifying_keys(public_key: str) -> list[VerifyingKey]:
    """The keys of ``public_key`` (PEM text, a JWKS, or a file of either; start-up checked that they
    can be read) ready to verify with."""
    text = _read(public_key)
    jwks = _jwks(text)
    if jwks is not None:
        return [_jwk_verifying_key(jwk) for jwk in jwks]
    return [_verifying_key(block) for block in _pem_blocks(text)]


def _jwk_verifying_key(jwk: dict[str, Any]) -> VerifyingKey:
    key, kid = _jwk_key(jwk), jwk.get("kid")
    ids = {_thumbprint(key), kid if isinstance(kid, str) else None}
    return VerifyingKey(key, frozenset(name for name in ids if name))


def _verifying_key(text: str) -> VerifyingKey:
    try:
        from cryptography import x509
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError:
        return VerifyingKey(text)
    ids: set[str] = set()
    key: object
    try:
        if "-----BEGIN CERTIFICATE-----" in text:
            certificate = x509.load_pem_x509_certificate(text.encode())
            ids |= {_b64(certificate.fingerprint(digest)) for digest in (hashes.SHA1(), hashes.SHA256())}
            key = certificate.public_key()
        else:
            key = load_pem_public_key(text.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return VerifyingKey(_certificate_key(text))
    thumbprint = _thumbprint(key)
    if thumbprint is None:  # a kind of key PyJWT has no algorithm for: as before, its text
        return VerifyingKey(_certificate_key(text))
    return VerifyingKey(key, frozenset({thumbprint, *ids}))


def _thumbprint(key: object) -> str | None:
    """RFC 7638: the SHA-256 of the JWK's required members, sorted, without spaces."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
    from jwt.exceptions import InvalidKeyError

    members: tuple[str, ...]
    try:
        if isinstance(key, rsa.RSAPublicKey):
            jwk, members = RSAAlgorithm.to_jwk(key, as_dict=True), ("e", "kty", "n")
        elif isinstance(key, ec.EllipticCurvePublicKey):
            jwk, members = ECAlgorithm.to_jwk(key, as_dict=True), ("crv", "kty", "x", "y")
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            jwk, members = OKPAlgorithm.to_jwk(key, as_dict=True), ("crv", "kty", "x")
        else:
            return None
    except InvalidKeyError:  # a curve PyJWT has no algorithm for
        return None
    text = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(text.encode()).digest())


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _certificate_key(text: str) -> str:
    if "-----BEGIN CERTIFICATE-----" not in text:
        return text
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    except ImportError:
        return text
    try:
        key = x509.load_pem_x509_certificate(text.encode()).public_key()
    except ValueError:
        return text  # a damaged certificate: the verifier says what it makes of it
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def public_key_mismatch(public_key: str, algorithm: str) -> str | None:
    """Why ``algorithm`` cannot verify with ``public_key`` (PEM text or a file, one key or several),
    or None; a key that does not parse cannot verify with any. Every key must fit: a token signed
    by one that does not was answered 503 with a traceback, as with a single key."""
    try:
        text = _read(public_key)
        jwks = _jwks(text)
    except OSError:
        return None  # the file went between checks: the verifier says so
    except ValueError as exc:
        return f"CAPSIGHT_JWT_PUBLIC_KEY {exc}"
    if jwks is not None:
        return _jwks_mismatch(jwks, algorithm)
    texts = [_certificate_key(block) for block in _pem_blocks(text)]
    for place, text in enumerate(texts, start=1):
        mismatch = _key_mismatch(text, algorithm)
        if mismatch is not None:
            return mismatch if len(texts) == 1 else f"PEM block {place} of {len(texts)}: {mismatch}"
    return None


def _jwks_mismatch(jwks: list[dict[str, Any]], algorithm: str) -> str | None:
    """As for PEM blocks: every signing key of the JWKS must be read, and fit the algorithm."""
    try:
        from jwt.exceptions import PyJWTError
    except ImportError:
        return None
    if not jwks:
        return 'CAPSIGHT_JWT_PUBLIC_KEY is a JWKS that holds no signing key (each is "use": "enc")'
    for place, jwk in enumerate(jwks, start=1):
        where = f"JWK {place} of {len(jwks)} (kid {str(jwk.get('kid'))!r})"
        try:
            key = _jwk_key(jwk)
        except (PyJWTError, ValueError, TypeError, KeyError) as exc:
            return f"{where}: cannot be read ({exc})"
        mismatch = _kind_mismatch(key, algorithm)
        if mismatch is not None:
            return f"{where}: {mismatch}"
    return None


def _key_mismatch(text: str, algorithm: str) -> str | None:
    try:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError:
        return None
    try:
        key = load_pem_public_key(text.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # A truncated paste, a private key: PyJWT refused it at every token, a 503 each.
        return (
            "CAPSIGHT_JWT_PUBLIC_KEY holds no public key that can be read; give the whole PEM block "
            "(-----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----) or the signing certificate"
        )
    return _kind_mismatch(key, algorithm)


def _kind_mismatch(key: object, algorithm: str) -> str | None:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if isinstance(key, bytes):  # a JWK of kty "oct"
        return (
            "CAPSIGHT_JWT_PUBLIC_KEY holds a shared secret (kty 'oct'), which belongs in CAPSIGHT_JWT_SECRET"
        )
    verified = verified_algorithm(algorithm)
    if isinstance(key, rsa.RSAPublicKey):
        kind, fits, wanted = "an RSA key", verified.startswith(("RS", "PS")), "RS256"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        wanted = _CURVES.get(key.curve.name, "")
        if not wanted:
            return None  # a curve PyJWT has no algorithm for: the verifier says so
        kind, fits = f"an EC key on {key.curve.name}", verified == wanted
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        kind, fits, wanted = "an Ed25519/Ed448 key", verified == "EdDSA", "EdDSA"
    else:
        return None
    if fits:
        return None
    shown = f"CAPSIGHT_JWT_ALGORITHM={algorithm!r}"
    if verified != algorithm:
        shown += f" (verified as {verified} with a public key)"
    return f"CAPSIGHT_JWT_PUBLIC_KEY is {kind}, which {shown} cannot use; set CAPSIGHT_JWT_ALGORITHM={wanted}"
