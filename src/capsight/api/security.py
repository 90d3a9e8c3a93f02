"""Who may call, and how often: the auth and rate-limit half of the Services seam.

Routes declare ``ClassifyAccess`` or ``AdminAccess``; the dependency authenticates (when an
authenticator is configured and auth is enabled), checks the scope, then counts the call against
the caller's rate. The X-RateLimit-* headers are queued on the request scope, so they reach the
response whether the route answers normally or with an error.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from capsight.api.middleware import add_response_header
from capsight.api.runtime import ServingRuntime, get_runtime
from capsight.embedded_ipv4 import embedded_ipv4
from capsight.errors import (
    CapsightError,
    InsufficientScope,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
)
from capsight.store.auth import JWT_ID_PREFIX, credential_from_headers
from capsight.store.protocols import Principal, RateLimitDecision
from capsight.store.ratelimit import parse_rate

logger = logging.getLogger(__name__)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _authenticate(request: Request, runtime: ServingRuntime, scope: str) -> Principal:
    authenticator = runtime.services.authenticator
    ip = client_ip(request)
    if authenticator is None or not runtime.settings.auth_enabled:
        return Principal(id=f"ip:{ip}", name=ip, anonymous=True)
    headers = dict(request.headers)
    attempt = _AttemptReservation(runtime, ip)
    failed = False
    try:
        principal = await authenticator.authenticate(headers, ip, before_guess=attempt.reserve)
    except Unauthorized:
        failed = True  # the reserved attempt stays counted: it was a failure
        raise
    except CapsightError:
        raise
    except Exception as exc:
        logger.exception("authenticator failed")
        raise ServiceUnavailable("Authentication is temporarily unavailable.") from exc
    finally:
        if not failed:
            await attempt.give_back()
    if not principal.allows(scope):
        # Named after what was sent: a JWT's caller told about "this API key" went looking for one.
        credential = "token" if principal.id.startswith(JWT_ID_PREFIX) else "API key"
        raise InsufficientScope(f"This {credential} lacks the '{scope}' scope.", scope=scope)
    return principal


def _address_block(ip: str) -> str:
    """The address a per-address limit counts: an IPv6 one counts under its /64, the smallest block
    an ISP or a cloud gives one host, which can use any of its 2**64 addresses. Keyed by the full
    address, such a client took a fresh address every few requests and was never limited. One that
    carries an IPv4 address counts as that address: behind a NAT64 translator every IPv4 client is in
    64:ff9b::/64 (one client locked out all), and a 6to4 host holds all of 2002:<its IPv4>::/48."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        inside = embedded_ipv4(address)
        if inside is not None:
            return str(inside)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return ip


def _failure_key(ip: str) -> str:
    # Not a principal id ("ip:...", a key id, "jwt:..."), so it never shares a count with one.
    return f"auth-failures:{_address_block(ip)}"


async def _reserve_attempt(runtime: ServingRuntime, ip: str) -> str:
    """429 for an address past CAPSIGHT_AUTH_FAILURE_LIMIT, before its credentials are looked up.

    Every unknown API key costs a database read, so a client cycling through made-up keys is a load
    on the key store (and a guessing attempt) that the per-principal rate never sees: it has no
    principal. Checked before authenticating, so a guess that would have been right is refused too,
    until the oldest failure leaves the window.

    The attempt is counted here, before the lookup, and given back when the credentials turn out
    valid (``_give_back_attempt``): checked first and counted after the lookup, N parallel guesses
    all passed the check, and one window let through limit + N - 1 lookups. Returns the token to
    give back ("" when nothing was counted).
    """
    limiter, rate = runtime.services.rate_limiter, runtime.settings.auth_failure_limit
    if limiter is None or not rate:
        return ""
    try:
        decision = await limiter.hit(_failure_key(ip), rate)
    except Exception as exc:
        runtime.limiter_failures.exception(
            logger, "rate limiter failed; not checking failed authentications", exc
        )
        return ""
    if not decision.allowed:
        raise RateLimited(
            "Too many failed authentication attempts from this address; retry later.",
            retry_after=decision.reset_after,
        )
    return decision.token


class _AttemptReservation:
    """One request's place under the failure limit, taken only when the authenticator is about to
    guess (``before_guess``): a key this process verified before, or a JWT that verifies, costs no
    lookup and is no guess, so it neither waits on nor fills the limit (one address's 32 parallel
    requests with a good key were refused while their attempts were reserved). The authenticator
    decides, because only it knows which credentials it can check without a lookup: asked
    beforehand, it parsed the headers and verified the token a second time for every request."""

    def __init__(self, runtime: ServingRuntime, ip: str) -> None:
        self.runtime = runtime
        self.ip = ip
        self.token = ""

    async def reserve(self) -> None:
        self.token = await _reserve_attempt(self.runtime, self.ip)

    async def give_back(self) -> None:
        token, self.token = self.token, ""
        await _give_back_attempt(self.runtime, self.ip, token)


async def _give_back_attempt(runtime: ServingRuntime, ip: str, token: str) -> None:
    """Successes never count as failures: a valid key takes back the attempt it reserved."""
    limiter, rate = runtime.services.rate_limiter, runtime.settings.auth_failure_limit
    if limiter is None or not rate or not token:
        return
    try:
        await limiter.release(_failure_key(ip), rate, token)
    except Exception as exc:
        runtime.limiter_failures.exception(
            logger, "rate limiter failed; an authentication attempt was not given back", exc
        )


def _rate_headers(decision: RateLimitDecision) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(max(0, decision.remaining)),
        "X-RateLimit-Reset": str(max(0, math.ceil(decision.reset_after))),
    }
    headers.update(decision.headers)
    # The 429 answer sets Retry-After itself (from RateLimited.retry_after); a second copy from the
    # limiter would reach the client as "Retry-After: 60, 60", which no client parses.
    return {name: value for name, value in headers.items() if name.lower() != "retry-after"}


async def _apply_rate_limit(request: Request, runtime: ServingRuntime, principal: Principal) -> None:
    limiter = runtime.services.rate_limiter
    rate = _usable_rate(principal, runtime.settings.rate_limit)
    if limiter is None or not rate:
        return
    # Anonymous clients (auth off) are counted per address block; the log still shows the address.
    key = f"ip:{_address_block(client_ip(request))}" if principal.anonymous else principal.id
    try:
        decision = await limiter.hit(key, rate)
    except Exception as exc:
        # A broken limiter backend must not take the service down with it: fail open, loudly, but
        # once a minute (a Redis outage never gets here: the limiter falls back in process).
        runtime.limiter_failures.exception(logger, "rate limiter failed; allowing the request", exc)
        return
    for name, value in _rate_headers(decision).items():
        add_response_header(request.scope, name, value)
    if not decision.allowed:
        raise RateLimited(retry_after=decision.reset_after)


_unusable_key_rates_logged: set[str] = set()


def _usable_rate(principal: Principal, default: str | None) -> str | None:
    """The key's own rate, or the server's when the key's no longer parses.

    A key stored with a rate an earlier release accepted and this one refuses (``100/ms`` was read
    as 100 a minute) failed the limiter on each of its requests: let through unlimited, with a
    traceback in the log every time. It gets the server's default rate instead, and one warning."""
    rate = principal.rate_limit
    if not rate:
        return default
    try:
        parse_rate(rate)
    except ValueError as exc:
        if principal.id not in _unusable_key_rates_logged:
            _unusable_key_rates_logged.add(principal.id)
            logger.warning(
                "API key %s: %s; the server's rate limit applies to it (set another with capsight "
                "keys create)",
                principal.id,
                exc,
            )
        return default
    return rate


# The two ways to send a credential, declared so the OpenAPI document says which routes take one:
# without them the docs page had no "Authorize" button (every "Try it out" was 401 with auth on) and
# generated clients sent no key. Declared only: the authenticator reads the headers itself, and
# neither refuses anything (auto_error=False).
_API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="An API key (cs_...), when the server requires one (CAPSIGHT_AUTH_ENABLED).",
    auto_error=False,
)


async def holds_scope(request: Request, scope: str) -> bool:
    """Whether the request carries credentials holding ``scope``, on a route that answers anyone.

    No credentials is a plain no, not a failed attempt (a load balancer's probe guesses nothing); a
    wrong key counts as one, as on any route, so such a route is no way around the failure limit.
    Anonymous callers (auth off, or no authenticator) never hold it."""
    if credential_from_headers(dict(request.headers)) is None:
        return False
    try:
        principal = await _authenticate(request, get_runtime(request), scope)
    except CapsightError:
        return False
    return not principal.anonymous


_BEARER = HTTPBearer(
    scheme_name="Bearer",
    description="An API key (cs_...) or a JWT, when the server requires one (CAPSIGHT_AUTH_ENABLED).",
    auto_error=False,
)


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers holding ``scope`` and within their rate."""

    async def dependency(
        request: Request,
        _api_key: Annotated[str | None, Security(_API_KEY_HEADER)] = None,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
    ) -> Principal:
        runtime = get_runtime(request)
        principal = await _authenticate(request, runtime, scope)
        await _apply_rate_limit(request, runtime, principal)
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency


ClassifyAccess = Annotated[Principal, Depends(require("classify"))]
AdminAccess = Annotated[Principal, Depends(require("admin"))]
