"""JWT bearer tokens: verified with a shared secret (HS*) or an identity provider's public keys.

Apart from ``auth.py`` (which picks API key or token from the headers): an HMAC or a signature
check needs no I/O, and the checks of a token (audiences, issuers, keys during a rotation, the
clock) are a topic of their own.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from capsight.errors import RefusedClaims, Unauthorized
from capsight.store.protocols import Principal
from capsight.store.ratelimit import parse_rate

if TYPE_CHECKING:
    from jwt.types import Options  # jwt itself is imported only when JWT auth is configured

#: Token subjects live in their own id space: a ``sub`` that happened to equal an API key's id would
#: otherwise share that key's rate-limit bucket and see its jobs.
JWT_ID_PREFIX = "jwt:"

#: The longest client id the database keeps (``client_id`` columns are 200 characters): the request
#: log clips a longer one while feedback and jobs store it whole (PostgreSQL refuses it), so the
#: owner checks that compare them would never match.
MAX_PRINCIPAL_ID = 200

#: How many ``kid`` values a verifier remembers the key of (a provider has a few keys at a time).
MAX_LEARNED_KIDS = 64

#: How much of a refused token's ``alg`` header the 401 repeats (the caller's text, of any length).
MAX_SHOWN_ALG = 32

#: How much of a malformed time claim the 401 repeats (a signed token's, but of any length).
MAX_SHOWN_CLAIM = 40

#: The NumericDate claims PyJWT checks when present.
_TIME_CLAIMS = ("exp", "nbf", "iat")


def _numeric(value: Any) -> bool:
    """Whether PyJWT takes ``value`` as a NumericDate (it reads one with ``int()``)."""
    try:
        int(value)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def jwt_principal_id(sub: str) -> str:
    """``jwt:<sub>``; a subject too long for the database's columns, or with a NUL character (which
    PostgreSQL's text columns refuse: the jobs of such a token failed there, and replacing the NUL
    would give it the identity of another subject), becomes ``jwt:sha256:<digest>``, which is as
    unique and stays the same for every token of that subject."""
    principal_id = f"{JWT_ID_PREFIX}{sub}"
    if len(principal_id) <= MAX_PRINCIPAL_ID and "\x00" not in sub:
        return principal_id
    return f"{JWT_ID_PREFIX}sha256:{hashlib.sha256(sub.encode('utf-8', 'surrogatepass')).hexdigest()}"


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
        issuer: str | Sequence[str] | None = None,
        require_exp: bool = True,
        leeway_seconds: float = 30.0,
    ) -> None:
        if not secret and not public_key:
            raise ValueError("JWT verification needs jwt_secret or jwt_public_key")
        import jwt  # imported only when JWT auth is configured

        self._jwt = jwt
        # The kid values that name one key for sure (a thumbprint, a certificate's x5t), and those a
        # key verified before (a provider's own names): which key to check a token with first.
        self._named: dict[str, int] = {}
        self._learned: dict[str, int] = {}
        if public_key:
            from capsight.jwt_keys import verified_algorithm, verifying_keys  # a file, certificates

            keys = verifying_keys(public_key)  # several while a key is rotated; parsed once, here
            self._keys: list[Any] = [key.key for key in keys]
            # A kid two keys share (a JWKS ought not to) names neither alone: each is tried.
            uses = Counter(kid for key in keys for kid in key.ids)
            self._named = {kid: at for at, key in enumerate(keys) for kid in key.ids if uses[kid] == 1}
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
        # Always a list, compared whole: PyJWT 2.10.0 read a string as a sequence of characters.
        self.issuers = [issuer] if isinstance(issuer, str) else list(issuer or ())
        self.leeway_seconds = leeway_seconds
        required = ["sub"]
        if require_exp:
            required.append("exp")
        if self.audiences:
            required.append("aud")
        if self.issuers:
            required.append("iss")
        self._required = required

    def verify(self, token: str) -> Principal:
        """The token's principal. PyJWT checks the signature before any claim, so a refusal for a
        claim (RefusedClaims) means one of our keys signed the token: no guess of a secret."""
        try:
            claims = self._claims(token)
        except self._jwt.ExpiredSignatureError as exc:
            raise RefusedClaims(self._expired_refusal(token)) from exc
        except self._jwt.InvalidAudienceError as exc:
            expected = ", ".join(f"'{name}'" for name in self.audiences)
            if len(self.audiences) > 1:
                expected = f"one of {expected}"
            expected = expected or "none (CAPSIGHT_JWT_AUDIENCE is unset)"
            raise RefusedClaims(
                f"Invalid token: not meant for this service (audience; expected {expected})."
            ) from exc
        except self._jwt.InvalidIssuerError as exc:
            expected = ", ".join(f"'{name}'" for name in self.issuers)
            expected = f"one of {expected}" if len(self.issuers) > 1 else expected
            raise RefusedClaims(f"Invalid token: issuer is not {expected}.") from exc
        except self._jwt.ImmatureSignatureError as exc:
            raise RefusedClaims(self._immature_refusal(token, exc)) from exc
        except self._jwt.MissingRequiredClaimError as exc:
            raise RefusedClaims(f"Invalid token: {exc}") from exc
        except self._jwt.InvalidAlgorithmError as exc:
            raise Unauthorized(self._algorithm_refusal(token, exc)) from exc
        except self._jwt.InvalidTokenError as exc:
            malformed = (
                None if isinstance(exc, self._jwt.InvalidSignatureError) else self._malformed_time(token)
            )
            if malformed is not None:
                raise RefusedClaims(malformed) from exc
            raise Unauthorized(f"Invalid token: {exc}") from exc
        # A token signed by a trusted issuer can still carry claims of the wrong shape: refuse it
        # (401) rather than fail later (a 503) or, for the rate, silently run without a limit.
        # Okta and Microsoft Entra ID name it "scp": unread, their admin tokens were 403 everywhere.
        claim = "scope" if "scope" in claims or "scp" not in claims else "scp"
        scope = claims.get(claim, "classify")
        if isinstance(scope, str):
            scopes = scope.split()
        elif isinstance(scope, list) and all(isinstance(s, str) for s in scope):
            scopes = list(scope)
        else:
            raise RefusedClaims(f"Invalid token: '{claim}' must be a string or a list of strings.")
        sub = str(claims["sub"])
        if not sub.strip():  # every such token would be one principal, "jwt:", sharing jobs and a rate
            raise RefusedClaims("Invalid token: 'sub' is empty; it must name the caller.")
        rate = claims.get("rate_limit")
        if rate is not None:
            try:
                parse_rate(str(rate))
            except ValueError as exc:
                raise RefusedClaims(
                    f"Invalid token: 'rate_limit' {rate!r} is not a rate like '60/minute'."
                ) from exc
        return Principal(
            id=jwt_principal_id(sub),
            name=str(claims.get("name", sub)),
            scopes=frozenset(scopes) or frozenset({"classify"}),
            rate_limit=str(rate) if rate else None,
        )

    def _claims(self, token: str, *, signature_only: bool = False) -> dict[str, Any]:
        """The claims, checked with the key the token's ``kid`` names for sure, alone; else with
        each key until a signature fits, starting with the one that verified that kid before (each
        was a signature check: a token of the last of three keys, or a forged one, cost three). The
        last key's refusal otherwise. A token's claims are judged once it is known which key signed
        it: an expired token of the second key is "Token expired ..."."""
        kid = self._kid(token)
        named = self._named.get(kid) if kid is not None else None
        if named is not None:
            return self._decode(token, self._keys[named], signature_only=signature_only)
        first = self._learned.get(kid, 0) if kid is not None else 0
        order = [first, *(place for place in range(len(self._keys)) if place != first)]
        for place in order[:-1]:
            try:
                claims = self._decode(token, self._keys[place], signature_only=signature_only)
            except self._jwt.InvalidSignatureError:
                continue
            self._learn(kid, place)
            return claims
        claims = self._decode(token, self._keys[order[-1]], signature_only=signature_only)
        self._learn(kid, order[-1])
        return claims

    def _kid(self, token: str) -> str | None:
        """The header's ``kid``, read on its own: PyJWT's get_unverified_header decodes the whole
        token (as long as the RSA check it was to spare). Only a hint of which key to try: the
        decode checks the header in full and says what is wrong with it."""
        try:
            header = json.loads(self._jwt.utils.base64url_decode(token.partition(".")[0]))
        except ValueError:
            return None
        kid = header.get("kid") if isinstance(header, dict) else None
        return kid if isinstance(kid, str) else None

    def _learn(self, kid: str | None, place: int) -> None:
        """Remember which key verified ``kid``: only a validly signed token teaches one, and a
        provider has a few keys, so this stays small (cleared past MAX_LEARNED_KIDS all the same)."""
        if kid is None or len(self._keys) == 1:
            return
        if len(self._learned) >= MAX_LEARNED_KIDS and kid not in self._learned:
            self._learned.clear()
        self._learned[kid] = place

    def _decode(self, token: str, key: str, *, signature_only: bool = False) -> dict[str, Any]:
        options: Options = {"require": self._required}
        if signature_only:
            options = {
                "require": [],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
            }
        claims: dict[str, Any] = self._jwt.decode(
            token,
            key,
            algorithms=self.algorithms,
            audience=self.audience,
            issuer=self.issuers or None,
            leeway=self.leeway_seconds,
            options=options,
        )
        return claims

    def _malformed_time(self, token: str) -> str | None:
        """The refusal of a token one of our keys signed whose ``exp``, ``nbf`` or ``iat`` is not a
        number (a date string, a list), or None for any other token.

        Why: PyJWT refuses such a claim with the error of a malformed token (DecodeError), which read
        as a forged one: counted under CAPSIGHT_AUTH_FAILURE_LIMIT, though its client guessed nothing
        (its issuer wrote the claim wrong), and told "must be an integer" whatever it held. Only a
        token with such a claim pays a second check, of its signature alone: a forgery with a
        malformed claim is still a forgery."""
        try:
            unverified = self._jwt.decode(token, options={"verify_signature": False})
        except self._jwt.InvalidTokenError:
            return None
        claim = next(
            (name for name in _TIME_CLAIMS if name in unverified and not _numeric(unverified[name])), None
        )
        if claim is None:
            return None
        try:
            self._claims(token, signature_only=True)
        except self._jwt.InvalidTokenError:
            return None
        shown = json.dumps(unverified[claim], default=str)
        shown = shown if len(shown) <= MAX_SHOWN_CLAIM else shown[: MAX_SHOWN_CLAIM - 3] + "..."
        return (
            f"Invalid token: the '{claim}' claim is malformed ({shown}); it must be a number of seconds "
            "since 1970-01-01 UTC (a NumericDate, RFC 7519): the token's issuer has to write it so."
        )

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

    def _expired_refusal(self, token: str) -> str:
        """Says how long ago by this server's clock, and when: "Token expired." left a client with a
        skewed clock, or one serving a token from a stale cache, unable to tell which it was. The
        signature was verified before ``exp`` was checked, so the time is the signer's."""
        exp = self._jwt.decode(token, options={"verify_signature": False})["exp"]
        expired_at = float(exp)  # PyJWT refused it as expired: a number, or a string of one
        ago = time.time() - expired_at
        try:
            when = datetime.fromtimestamp(expired_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (OverflowError, OSError, ValueError):  # before any date a calendar holds
            when = str(exp)
        return (
            f"Token expired {ago:.0f} s ago by this server's clock ('exp' {when}, past the "
            f"CAPSIGHT_JWT_LEEWAY_SECONDS={self.leeway_seconds:g} allowed for clock skew): get a new token."
        )

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
