"""Which JWT algorithm a public key can verify: a key that does not fit stops start-up.

Why: the verifier (``store/auth.py``) hands PyJWT the configured key and algorithm, and PyJWT finds
out that they do not fit only when a token arrives. An EC key with the algorithm left at its default
(HS256, verified as RS256 with a public key) answered every token of an ES256 identity provider 401
"The specified alg value is not allowed", and any RS256 token, which anyone can mint, 503 with an
InvalidKeyError traceback in the log; a truncated or private key answered every token 503 the same
way. Without the jwt extra nothing is judged here: ``extras.py`` stops start-up asking for it.
"""

from __future__ import annotations

from pathlib import Path

ASYMMETRIC = ("RS", "ES", "PS", "Ed")
_CURVES = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512", "secp256k1": "ES256K"}


def verified_algorithm(algorithm: str) -> str:
    """The algorithm a public key is used with: the default HS256 becomes RS256, as documented."""
    return algorithm if algorithm.startswith(ASYMMETRIC) else "RS256"


def public_key_text(public_key: str) -> str:
    """The PEM public key ``public_key`` names: the text itself or a file's, and of a certificate
    (the "signing certificate" identity providers hand out) its public key, which PyJWT cannot read
    from the certificate: every token was answered 503 "Could not parse the provided public key"."""
    text = public_key
    if not public_key.lstrip().startswith("-----BEGIN") and Path(public_key).is_file():
        text = Path(public_key).read_text()
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
    """Why ``algorithm`` cannot verify with ``public_key`` (PEM text or a file), or None; a key
    that does not parse cannot verify with any."""
    try:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError:
        return None
    try:
        key = load_pem_public_key(public_key_text(public_key).encode())
    except OSError:
        return None  # the file went between checks: the verifier says so
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # A truncated paste, a private key: PyJWT refused it at every token, a 503 each.
        return (
            "CAPSIGHT_JWT_PUBLIC_KEY holds no public key that can be read; give the whole PEM block "
            "(-----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----) or the signing certificate"
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
