"""How much CPU one JWT verification costs, on this checkout's code (``JwtVerifier.verify``).

An identity provider's public keys (``CAPSIGHT_JWT_PUBLIC_KEY``, several PEM blocks while a key is
rotated) verify every request's token: times a token of the only key, a token of the last of three
keys, and a token none of them signed (a forgery, or a key not listed), for RS256 (2048-bit) and
ES256. With ``kid`` the tokens name their key by its RFC 7638 thumbprint, as JWKS-minded providers
do (the stranger's token its own key, one forgery the first listed key). Prints the median and the
least CPU time of ``--rounds`` batches of ``--calls`` calls, in µs a call.

Run as ``python bench/bench_jwt_verify.py``; compare two checkouts by running it in each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from capsight.errors import Unauthorized
from capsight.store.jwt_auth import JwtVerifier


def _pem(private: Any) -> str:
    return private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _jwk(private: Any) -> dict[str, Any]:
    algorithm = jwt.get_algorithm_by_name("RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256")
    return dict(algorithm.to_jwk(private.public_key(), as_dict=True))


def _thumbprint(private: Any) -> str:
    """RFC 7638: SHA-256 of the JWK's required members, sorted, no spaces."""
    jwk = _jwk(private)
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    text = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return jwt.utils.base64url_encode(hashlib.sha256(text.encode()).digest()).decode()


def _token(private: Any, algorithm: str, with_kid: bool, kid_of: Any = None) -> str:
    headers = {"kid": _thumbprint(kid_of or private)} if with_kid else None
    claims = {"sub": "svc", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, private, algorithm=algorithm, headers=headers)


def _cpu_us(call: Callable[[], object], calls: int, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(calls):
            call()
        times.append((time.process_time() - start) / calls * 1e6)
    return statistics.median(times), min(times)


def _refused(verifier: JwtVerifier, token: str) -> Callable[[], object]:
    def call() -> object:
        try:
            verifier.verify(token)
        except Unauthorized:
            return None
        raise AssertionError("a forged token was taken")

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    kinds: dict[str, Callable[[], Any]] = {
        "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    }
    for algorithm, make in kinds.items():
        keys = [make() for _ in range(3)]
        stranger = make()
        one = JwtVerifier(public_key=_pem(keys[0]), algorithm=algorithm)
        three = JwtVerifier(public_key="".join(_pem(key) for key in keys), algorithm=algorithm)
        for with_kid in (False, True):
            tokens = [_token(key, algorithm, with_kid) for key in (keys[0], keys[2], stranger)]
            cases: dict[str, Callable[[], object]] = {
                "1 key, its token": partial(one.verify, tokens[0]),
                "3 keys, token of the 3rd": partial(three.verify, tokens[1]),
                "3 keys, token of none": _refused(three, tokens[2]),
            }
            if with_kid:  # a forgery that names a listed key
                forged = _token(stranger, algorithm, with_kid, kid_of=keys[0])
                cases["3 keys, forged, names 1st"] = _refused(three, forged)
            for name, call in cases.items():
                median, least = _cpu_us(call, args.calls, args.rounds)
                kid = "kid" if with_kid else "no kid"
                print(f"{algorithm} {kid:6} {name:27} median {median:7.1f} µs  least {least:7.1f} µs")


if __name__ == "__main__":
    main()
