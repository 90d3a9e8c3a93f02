"""Turns request headers into a :class:`Principal`: API keys from the database, or JWT bearer tokens.

Accepted credentials: ``Authorization: Bearer cs_...`` or ``X-API-Key: cs_...`` (API keys), and
``Authorization: Bearer <jwt>`` when a JWT secret or public key is configured. An unknown, revoked or
malformed credential is 401; an unreachable key database is 503, because telling a valid client its
key is wrong would make it throw the key away.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from capsight.errors import ServiceUnavailable, Unauthorized, first_line
from capsight.store.deadline import call_with_deadline
from capsight.store.keys import KEY_PREFIX, KeyStore, hash_key
from capsight.store.protocols import Principal
from capsight.store.ratelimit import parse_rate

logger = logging.getLogger(__name__)

#: Token subjects live in their own id space: a ``sub`` that happened to equal an API key's id would
#: otherwise share that key's rate-limit bucket and see its jobs.
JWT_ID_PREFIX = "jwt:"

#: The longest client id the database keeps (``client_id`` columns are 200 characters): the request
#: log clips a longer one while feedback and jobs store it whole (PostgreSQL refuses it), so the
#: owner checks that compare them would never match.
MAX_PRINCIPAL_ID = 200

#: How much of a refused token's ``alg`` header the 401 repeats (the caller's text, of any length).
MAX_SHOWN_ALG = 32


def jwt_principal_id(sub: str) -> str:
    """``jwt:<sub>``; a subject too long for the database's columns, or with a NUL character (which
    PostgreSQL's text columns refuse: the jobs of such a token failed there, and replacing the NUL
    would give it the identity of another subject), becomes ``jwt:sha256:<digest>``, which is as
    unique and stays the same for every token of that subject."""
    principal_id = f"{JWT_ID_PREFIX}{sub}"
    if len(principal_id) <= MAX_PRINCIPAL_ID and "\x00" not in sub:
        return principal_id
    return f"{JWT_ID_PREFIX}sha256:{hashlib.sha256(sub.encode('utf-8', 'surrogatepass')).hexdigest()}"


def credential_from_headers(headers: dict[str, str]) -> str | None:
    """The API key or token in the headers (case-insensitive names), or None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    api_key = lowered.get("x-api-key", "").strip()
    if api_key:
        return api_key
    authorization = lowered.get("authorization", "").strip()
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class JwtVerifier:
    """HS256 with a shared secret, or RS256/ES256 with a public key (PEM text or a path to one; a
    certificate's public key is used).

    An identity provider signs tokens for many services with one key, so ``audience`` and ``issuer``
    say which of its tokens are meant for us; ``require_exp`` refuses tokens that never expire.
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        previous_secret: str | None = None,
        public_key: str | None = None,
        algorithm: str = "HS256",
        audience: str | Sequence[str] | None = None,
        issuer: str | None = None,
        require_exp: bool = True,
        leeway_seconds: float = 30.0,
    ) -> None:
        if not secret and not public_key:
            raise ValueError("JWT verification needs jwt_secret or jwt_public_key")
        import jwt  # imported only when JWT auth is configured

        self._jwt = jwt
        if public_key:
            from capsight.jwt_keys import public_key_texts, verified_algorithm  # a file, certificates

            self._keys: list[str] = public_key_texts(public_key)  # several while a key is rotated
            self.algorithms = [verified_algorithm(algorithm)]  # the one start-up checked the key with
        else:
            assert secret is not None
            # The previous secret too, while minters move to the new one: a rotation, no outage.
            self._keys = [secret, previous_secret] if previous_secret else [secret]
            self.algorithms = [algorithm if algorithm.startswith("HS") else "HS256"]
        # A list: a token for any one is taken (PyJWT's rule); one name: that one, as before.
        self.audiences = [audience] if isinstance(audience, str) else list(audience or ())
        self.audience: str | list[str] | None = (
            self.audiences[0] if len(self.audiences) == 1 else self.audiences or None
        )
        self.issuer = issuer
        self.leeway_seconds = leeway_seconds
        required = ["sub"]
        if require_exp:
            required.append("exp")
        if self.audiences:
            required.append("aud")
        if issuer:
            required.append("iss")
        self._required = required

    def verify(self, token: str) -> Principal:
        try:
            claims = self._claims(token)
        except self._jwt.ExpiredSignatureError as exc:
            raise Unauthorized("Token expired.") from exc
        except self._jwt.InvalidAudienceError as exc:
            expected = ", ".join(f"'{name}'" for name in self.audiences)
            if len(self.audiences) > 1:
                expected = f"one of {expected}"
            expected = expected or "none (CAPSIGHT_JWT_AUDIENCE is unset)"
            raise Unauthorized(
                f"Invalid token: not meant for this service (audience; expected {expected})."
            ) from exc
        except self._jwt.InvalidIssuerError as exc:
            raise Unauthorized(f"Invalid token: issuer is not '{self.issuer}'.") from exc
        except self._jwt.ImmatureSignatureError as exc:
            raise Unauthorized(self._immature_refusal(token, exc)) from exc
        except self._jwt.InvalidAlgorithmError as exc:
            raise Unauthorized(self._algorithm_refusal(token, exc)) from exc
        except self._jwt.InvalidTokenError as exc:
            raise Unauthorized(f"Invalid token: {exc}") from exc
        # A token signed by a trusted issuer can still carry claims of the wrong shape: refuse it
        # (401) rather than fail later (a 503) or, for the rate, silently run without a limit.
        scope = claims.get("scope", "classify")
        if isinstance(scope, str):
            scopes = scope.split()
        elif isinstance(scope, list) and all(isinstance(s, str) for s in scope):
            scopes = list(scope)
        else:
            raise Unauthorized("Invalid token: 'scope' must be a string or a list of strings.")
        sub = str(claims["sub"])
        if not sub.strip():  # every such token would be one principal, "jwt:", sharing jobs and a rate
            raise Unauthorized("Invalid token: 'sub' is empty; it must name the caller.")
        rate = claims.get("rate_limit")
        if rate is not None:
            try:
                parse_rate(str(rate))
            except ValueError as exc:
                raise Unauthorized(
                    f"Invalid token: 'rate_limit' {rate!r} is not a rate like '60/minute'."
                ) from exc
        return Principal(
            id=jwt_principal_id(sub),
            name=str(claims.get("name", sub)),
            scopes=frozenset(scopes) or frozenset({"classify"}),
            rate_limit=str(rate) if rate else None,
        )

    def _claims(self, token: str) -> dict[str, Any]:
        """The claims, checked with the first key whose signature fits; the last key's refusal
        otherwise (with one key, the only one's). A token's claims are judged once it is known
        which key signed it: an expired token of the second key is "Token expired"."""
        for key in self._keys[:-1]:
            try:
                return self._decode(token, key)
            except self._jwt.InvalidSignatureError:
                continue
        return self._decode(token, self._keys[-1])

    def _decode(self, token: str, key: str) -> dict[str, Any]:
        claims: dict[str, Any] = self._jwt.decode(
            token,
            key,
            algorithms=self.algorithms,
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway_seconds,
            options={"require": self._required},
        )
        return claims

    def _immature_refusal(self, token: str, exc: Exception) -> str:
        """Names the claim, how far ahead of this server's clock it is, and the leeway setting: an
        identity provider's clock ahead of ours had every fresh token refused "The token is not yet
        valid (iat)", which said neither. Read after the signature was verified (PyJWT checks it
        before the times), so the numbers are the signer's."""
        claims = self._jwt.decode(token, options={"verify_signature": False})
        now = time.time()
        for claim in ("nbf", "iat"):
            value = claims.get(claim)
            if isinstance(value, int | float) and value > now + self.leeway_seconds:
                return (
                    f"Invalid token: not valid yet ('{claim}' is {value - now:.0f} s ahead of this server's "
                    f"clock, past the CAPSIGHT_JWT_LEEWAY_SECONDS={self.leeway_seconds:g} allowed for clock "
                    "skew: check the clocks of the token's issuer and this server)."
                )
        return f"Invalid token: {exc}"

    def _algorithm_refusal(self, token: str, exc: Exception) -> str:
        """Names the token's algorithm and the server's: an identity provider signing RS256 for a
        server set to HS256 (or the reverse) is the usual wiring mistake, and PyJWT's "The specified
        alg value is not allowed" named neither. The header is the caller's text: quoted, clipped."""
        try:
            alg = self._jwt.get_unverified_header(token).get("alg")
        except self._jwt.InvalidTokenError:
            alg = None
        if alg in self.algorithms:  # refused for another reason (its library missing, say)
            return f"Invalid token: {exc}"
        sent = "names no algorithm ('alg')" if not alg else f"signed with {str(alg)[:MAX_SHOWN_ALG]!r}"
        accepted = ", ".join(self.algorithms)
        return f"Invalid token: {sent}; this server accepts {accepted} (CAPSIGHT_JWT_ALGORITHM)."


async def _counts_nothing() -> None:
    """``before_guess`` for a caller without a failure limit."""


class ApiKeyAuthenticator:
    """The production Authenticator: database API keys plus optional JWT."""

    def __init__(self, keys: KeyStore | None, jwt: JwtVerifier | None = None) -> None:
        self.keys = keys
        self.jwt = jwt
        # Lookups of keys not verified before, by (key hash, client address): parallel requests
        # with one new key share the first one's lookup and its place under the failure limit.
        self._lookups: dict[tuple[str, str], asyncio.Task[Principal]] = {}

    async def authenticate(
        self,
        headers: dict[str, str],
        client_ip: str,
        *,
        before_guess: Callable[[], Awaitable[None]] | None = None,
    ) -> Principal:
        guess = before_guess or _counts_nothing
        credential = credential_from_headers(headers)
        if credential is None:
            await guess()
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.")
        if credential.startswith(KEY_PREFIX) and self.keys is not None:
            if self.keys.cached(credential) is not None:  # verified before: no guess
                return await self._api_key(credential)
            return await self._first_lookup(credential, client_ip, guess)
        if self.jwt is not None and not credential.startswith(KEY_PREFIX):
            try:
                return self.jwt.verify(credential)  # an HMAC or a signature check: no I/O
            except Unauthorized:
                await guess()
                raise
        await guess()
        raise Unauthorized("Invalid API key.")

    async def _first_lookup(
        self, credential: str, client_ip: str, guess: Callable[[], Awaitable[None]]
    ) -> Principal:
        """The lookup of a key this process has not verified yet, shared by the parallel requests
        of one address that carry it: a client starting 20 requests at once with a new key made
        20 reservations under a failure limit of a few and got 429 for most of them, though it
        made one guess, and a wrong key is one guess however many requests repeat it.

        The lookup runs in a task of its own, so a first request that is cancelled (its client
        went away) does not cancel the lookup the others wait on."""
        flight = (hash_key(credential), client_ip)
        lookup = self._lookups.get(flight)
        if lookup is None or lookup.done():  # a finished one may be stale (the key revoked since)

            async def guess_then_look_up() -> Principal:
                await guess()
                return await self._api_key(credential)

            lookup = asyncio.create_task(guess_then_look_up())
            self._lookups[flight] = lookup
            lookup.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            return await asyncio.shield(lookup)
        finally:
            if lookup.done() and self._lookups.get(flight) is lookup:
                del self._lookups[flight]

    async def _api_key(self, credential: str) -> Principal:
        if self.keys is None:
            raise Unauthorized("Invalid API key.")
        try:
            info = await call_with_deadline(self.keys.verify, credential)
        except Exception as exc:
            logger.warning("API key lookup failed: %s", first_line(exc))
            # A lookup past its deadline (a database that hangs) is served as verify serves one that
            # fails at once: a key in use up to then stays valid. It was 503, while a dead database
            # let the same key in.
            info = self.keys.served_while_unreachable(credential)
            if info is None:
                raise ServiceUnavailable("Key store unavailable, retry shortly.") from exc
        if info is None:
            raise Unauthorized("Invalid or revoked API key.")
        return Principal(
            id=info.id, name=info.name, scopes=frozenset({info.scope}), rate_limit=info.rate_limit
        )
