"""Turns request headers into a :class:`Principal`: API keys from the database, or JWT bearer tokens.

Accepted credentials: ``Authorization: Bearer cs_...`` or ``X-API-Key: cs_...`` (API keys), and
``Authorization: Bearer <jwt>`` when a JWT secret or public key is configured. An unknown, revoked or
malformed credential is 401; so is ``Authorization`` in another scheme (Basic, ...), named as such;
an unreachable key database is 503, because telling a valid client its key is wrong would make it
throw the key away.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

from capsight.errors import (
    MissingCredentials,
    RefusedClaims,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedScheme,
    first_line,
)
from capsight.store.deadline import call_with_deadline
from capsight.store.jwt_auth import JWT_ID_PREFIX, JwtVerifier
from capsight.store.keys import KEY_PREFIX, KeyStore, hash_key
from capsight.store.protocols import Principal

# JwtVerifier and JWT_ID_PREFIX live in jwt_auth.py; importers of this module keep finding them here.
__all__ = ["JWT_ID_PREFIX", "ApiKeyAuthenticator", "JwtVerifier", "credential_from_headers"]
logger = logging.getLogger(__name__)


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


def _leading_scheme(credential: str) -> str | None:
    """The auth scheme a credential starts with ("Bearer cs_..."), or None. Keys and tokens hold
    no space: such a value is a whole Authorization header's, pasted under X-API-Key (a client's
    "API Key" auth set up with the value "Bearer <key>") or after a scheme a client library adds
    itself, and "Invalid API key." had its owner replace a key that was right."""
    scheme, space, rest = credential.partition(" ")
    if space and rest.strip() and scheme.isascii() and scheme.isalpha() and len(scheme) <= 16:
        return scheme
    return None


def _misplaced_scheme(headers: dict[str, str], credential: str) -> Unauthorized | None:
    """The 401 of a credential that starts with a scheme (see _leading_scheme), naming where."""
    scheme = _leading_scheme(credential)
    if scheme is None:
        return None
    if any(k.lower() == "x-api-key" and v.strip() for k, v in headers.items()):
        return Unauthorized(
            f"Invalid credentials: X-API-Key holds '{scheme} ...'; send the key alone in X-API-Key "
            "(X-API-Key: cs_...) or with its scheme in Authorization (Authorization: Bearer cs_...)."
        )
    return Unauthorized(
        f"Invalid credentials: Authorization holds 'Bearer {scheme} ...'; send the scheme once "
        "(Authorization: Bearer cs_...)."
    )


# An auth scheme's name as the Authorization header may carry it (RFC 9110's token), kept short:
# anything else in the header is not echoed back (it may be the caller's secret).
_SCHEME_NAME = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,31}")


def _unsupported_scheme(headers: dict[str, str], takes_jwts: bool) -> UnsupportedScheme | None:
    """The 401 of an Authorization header in a scheme other than Bearer, or None.

    Why: such a request was answered "Missing API key", as if it carried nothing, and a client
    sending Basic auth (a user name and password: a tool's "Basic auth" option) or ``Token <key>``
    could not tell why its credential was ignored. Nothing in the header is read or checked."""
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "").strip()
    if not authorization:
        return None
    scheme, space, _ = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return None  # "Bearer" with nothing after it: no credential
    how = "send the API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
    if takes_jwts:
        how += ", or a JWT as 'Authorization: Bearer <token>'"
    if not space and (scheme.startswith(KEY_PREFIX) or scheme.count(".") == 2):
        return UnsupportedScheme(f"Authorization holds a key or token without its scheme: {how}.")
    if not _SCHEME_NAME.fullmatch(scheme):
        return UnsupportedScheme(f"Authorization holds no Bearer credential: {how}.")
    what = " (a user name and password)" if scheme.lower() == "basic" else ""
    return UnsupportedScheme(f"The '{scheme}' authorization scheme{what} is not supported: {how}.")


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
            # No guess and no lookup (a monitor's probe, a script's unset key variable): not counted
            # under the failure limit, which filled up with them and locked out an office's new keys.
            # Nor is a credential in another scheme, which is never read (a tool's Basic auth).
            unsupported = _unsupported_scheme(headers, takes_jwts=self.jwt is not None)
            if unsupported is not None:
                raise unsupported
            raise MissingCredentials(
                "Missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."
            )
        misplaced = _misplaced_scheme(headers, credential)
        if misplaced is not None:  # refused unread: no lookup, no guess
            raise misplaced
        if credential.startswith(KEY_PREFIX) and self.keys is not None:
            if self.keys.cached(credential) is not None:  # verified before: no guess
                return await self._api_key(credential)
            return await self._first_lookup(credential, client_ip, guess)
        if self.jwt is not None and not credential.startswith(KEY_PREFIX):
            if credential.count(".") != 2:  # a key without its cs_, another service's: not a token
                await guess()
                raise Unauthorized(
                    "Invalid credentials: neither an API key (cs_...) nor a JWT (three dot-separated parts)."
                )
            try:
                return self.jwt.verify(credential)  # an HMAC or a signature check: no I/O
            except RefusedClaims:
                raise  # signed with our key (expired, another audience): no guess, not counted
            except Unauthorized:
                await guess()
                raise
        await guess()
        if self.jwt is None and credential.count(".") == 2 and not credential.startswith(KEY_PREFIX):
            # Told "Invalid API key.", the client of a token went looking for a key it never had.
            raise Unauthorized(
                "Invalid credentials: a JWT (three dot-separated parts), but this server takes API keys "
                "(cs_...) only: neither CAPSIGHT_JWT_SECRET nor CAPSIGHT_JWT_PUBLIC_KEY is set."
            )
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
            id=info.principal, name=info.name, scopes=frozenset({info.scope}), rate_limit=info.rate_limit
        )
