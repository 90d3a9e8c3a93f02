"""The checks behind each ``CAPSIGHT_*`` setting, one function per kind of value.

Why a module of their own: each check says what went wrong with a value and why it is refused at
start-up rather than when first used, and together they outgrew :mod:`capsight.settings`, whose
:class:`~capsight.settings.Settings` names the fields and attaches these as pydantic field
validators. Each takes the value (and, where it needs the field's name, pydantic's
``ValidationInfo``) and returns it, read through or mended, or raises ValueError with what the
setting accepts; :class:`~capsight.settings.InvalidSettings` puts that after the variable's name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationInfo

from capsight.retention_limit import checked_retention_days

# What PyJWT verifies; names are case-sensitive there, so "hs256" is refused rather than mended.
JWT_ALGORITHMS = (
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
    "PS256", "PS384", "PS512", "EdDSA",
)  # fmt: skip
SECRETS = ("jwt_secret", "jwt_previous_secret", "webhook_secret")
# What redis-py's from_url reads; "localhost:6379" (no scheme) failed on every request instead.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# Where every Redis key starts unless CAPSIGHT_REDIS_PREFIX says otherwise: the key names of the
# releases before it was a setting ("capsight:cache:...", "capsight:rl:..."), kept so an upgrade
# finds its cache and its running rate-limit windows where it left them.
DEFAULT_REDIS_PREFIX = "capsight:"
MAX_REDIS_PREFIX_CHARS = 64
# Glob characters: `redis-cli --scan --pattern 'PREFIX*'` (how an operator lists or deletes one
# deployment's keys) would read them as wildcards and match other deployments' keys as well.
_REDIS_GLOB = frozenset("*?[]\\")
# A scheme before ":/" in a storage URL: a folder path has none ("C:/..." has one letter, a drive).
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")
# HMAC keys: RFC 7518 asks HS256 for at least the hash's 32 bytes; shorter ones fall to an offline
# brute force of one captured token or webhook. Placeholders are the values our deploy templates
# once shipped ("change-me-local-only", "REPLACE_ME_..."): public, so anyone could mint admin tokens.
MIN_SECRET_BYTES = 32
_PLACEHOLDER = re.compile(r"replace[_-]?me|change[_-]?me", re.IGNORECASE)


def lower_log_level(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def strip_word(value: Any) -> Any:
    """Read through surrounding whitespace, as numbers are: ``true `` was refused "use true or
    false", ``RS256 `` "expected one of ..., RS256"."""
    return value.strip() if isinstance(value, str) else value


def blank_is_unset(value: Any, info: ValidationInfo) -> Any:
    """``CAPSIGHT_REDIS_URL=`` (compose's ``${REDIS_URL:-}``) means "not configured", not "" .
    Around a URL, limit or name, whitespace is a value read from a file (a Secret made with
    ``--from-file`` ends in a newline) and is dropped; secrets and keys are kept byte for byte."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    return value if info.field_name in (*SECRETS, "jwt_public_key") else value.strip()


def no_blank_folder(value: Any) -> Any:
    """An empty path would silently be ``.``, the working directory: refuse it. Surrounding whitespace
    is dropped, as around URLs (a file-made Secret's newline made a folder ``data\\n``); ``~`` is
    expanded (an env file or container spec has no shell: ``~/capsight`` was a folder named ``~``)."""
    value = value.strip() if isinstance(value, str) else value
    if value == "":
        raise ValueError("expected a folder, got an empty value")
    if isinstance(value, str | Path):
        try:
            return Path(value).expanduser()
        except RuntimeError:  # ~name of no such user, or no home folder at all
            raise ValueError("its ~ names no home folder on this machine; give the full path") from None
    return value


def parsable_rate(value: str | None) -> str | None:
    if value is not None:
        from capsight.store.ratelimit import parse_rate

        parse_rate(value)  # ValueError with the accepted forms
    return value


def known_redis(value: str | None) -> str | None:
    """Redis is first used by a request, and both its users fail open (the rate limiter lets the
    request through): a URL without a scheme silently turned the rate limit off, and so did one
    redis-py cannot read (a typo in the port, a bad option), while a database that is no number
    was silently database 0. redis-py's own message is not shown: it may quote part of a password
    (an unencoded "/" in it ends the host part)."""
    if value is None:
        return value
    if not value.startswith(REDIS_SCHEMES):
        raise ValueError(
            f"expected a URL starting with {', '.join(REDIS_SCHEMES)} (e.g. redis://HOST:6379/0)"
        )
    try:
        from redis.connection import parse_url
    except ImportError:  # serving with it says which extra to install
        return value
    try:
        parse_url(value)
        readable = True
    except ValueError:
        readable = False
    database = "" if value.startswith("unix://") else urlsplit(value).path.strip("/")
    if not readable or not (database == "" or (database.isascii() and database.isdigit())):
        raise ValueError(
            "not a Redis URL redis-py can read: expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], "
            "a numeric port and database, and known options, with '/', '@' and ':' in a password "
            "written %2F, %40 and %3A (e.g. redis://HOST:6379/0)"
        )
    return value


def redis_key_prefix(value: Any) -> Any:
    """Deployments sharing one Redis database are kept apart by nothing but this prefix, so one
    that cannot be read back exactly is refused at start-up: whitespace and control characters (a
    key no operator can type at ``redis-cli``), non-ASCII (a Cyrillic letter that looks like a
    Latin one names another namespace than the one it reads as) and glob characters. Surrounding
    whitespace is dropped (a Secret made with ``--from-file`` ends in a newline), and blank, like
    compose's ``${REDIS_PREFIX:-}``, is the default, as for the other settings."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if not value:
        return DEFAULT_REDIS_PREFIX
    accepts = (
        f"expected up to {MAX_REDIS_PREFIX_CHARS} visible ASCII characters other than * ? [ ] \\ "
        "(e.g. capsight-staging:)"
    )
    if len(value) > MAX_REDIS_PREFIX_CHARS:
        raise ValueError(f"is {len(value)} characters long; {accepts}")
    for char in value:
        if not ("!" <= char <= "~") or char in _REDIS_GLOB:
            what = "a space" if char == " " else ascii(char)
            raise ValueError(f"holds {what}; {accepts}")
    return value


def folder_or_s3(value: str | None) -> str | None:
    """Anything but ``s3://`` is a folder, so ``S3://bucket`` or ``gs://bucket`` filled a local
    folder named ``S3:`` with the request images."""
    if value is not None and value.startswith("s3://") and not urlsplit(value).netloc:
        # Passed here, it failed in the app: with --workers N each worker died and was restarted.
        raise ValueError("names no bucket; expected s3://BUCKET[/PREFIX]")
    if value is not None and value.startswith("file://") and not value.removeprefix("file://").strip():
        # "file://${DIR}" with DIR unset: the images went to the folder the server was started in.
        raise ValueError("names no folder; expected file:///PATH or a folder")
    if value is None or value.startswith(("s3://", "file://")):
        return value
    if _URL_SCHEME.match(value):
        raise ValueError("expected a folder, file:///PATH or s3://BUCKET[/PREFIX]")
    try:  # a folder: ~ is the home folder, as for CAPSIGHT_DATA_DIR
        return str(Path(value).expanduser()) if value.startswith("~") else value
    except RuntimeError:
        raise ValueError("its ~ names no home folder on this machine; give the full path") from None


def http_endpoint(value: str | None) -> str | None:
    """botocore refuses an endpoint without http(s):// only when it first uploads; the request
    log took that for an S3 outage and spooled every image for as long as the server ran."""
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("expected http://HOST:PORT or https://HOST (e.g. http://minio:9000)")
    if value is not None and not urlsplit(value).hostname:  # "http://${MINIO_HOST}:9000", unset
        raise ValueError("names no host; expected http://HOST:PORT or https://HOST (e.g. http://minio:9000)")
    return value


def browser_origins(value: list[str]) -> list[str]:
    """The CORS middleware compares the browser's Origin header (``scheme://host[:port]``, lower
    case) as text: a trailing slash or a missing scheme refused every call of that app silently."""
    for origin in value:
        if origin in ("*", "null"):
            continue
        scheme, sep, rest = origin.partition("://")
        host = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if not sep or not scheme or not host:
            raise ValueError(
                f"origin {origin!r} names no scheme or host; a browser sends scheme://host[:port], "
                "e.g. 'https://app.example'"
            )
        sent = f"{scheme}://{host}".lower()
        if origin != sent:
            raise ValueError(f"origin {origin!r} is never sent by a browser; use {sent!r}")
    return value


def valid_allowlist(value: list[str]) -> list[str]:
    """The job manager parses these when the app is built: a bad entry was a traceback from
    inside uvicorn, and ``*`` a host named ``*`` that matched no URL."""
    if not value:
        return value
    from capsight.jobs.allowlist import Allowlist

    if any("*" in entry for entry in value):
        raise ValueError("wildcards are not supported; list each host or URL prefix")
    from capsight.errors import BadRequest

    try:
        Allowlist(value)  # ValueError naming the entry and why
    except BadRequest as exc:  # s3:// without a bucket: the API's 400, which named no setting
        raise ValueError(exc.message) from None
    return value


def ip_networks(value: list[str]) -> list[str]:
    """Networks (``10.20.0.0/16``, ``fd00::/8``, one address) a job's URL host may resolve to;
    parsed here so a typo stops start-up instead of refusing every internal image URL."""
    import ipaddress

    for entry in value:
        try:
            ipaddress.ip_network(entry)
        except ValueError as exc:
            raise ValueError(f"{entry!r} is no IP network ({exc}); e.g. 10.20.0.0/16") from None
    return value


def pem_or_pem_file(value: str | None) -> str | None:
    """Checked for its PEM armour or a JWKS's brace only (parsing needs the jwt extra): a mistyped
    path was taken as the key's text, and every bearer token was answered 503 while the server ran."""
    if value is None or value.lstrip().startswith(("-----BEGIN", "{")):
        return value
    path = Path(value).expanduser()
    try:
        text = path.read_text(errors="replace") if path.is_file() else None
    except OSError as exc:
        raise ValueError(f"cannot read the key file ({exc.strerror})") from None
    if text is None:
        raise ValueError("neither PEM text (-----BEGIN PUBLIC KEY-----), a JWKS nor a file that exists")
    if not text.lstrip().startswith(("-----BEGIN", "{")):
        raise ValueError('the file holds no PEM key (-----BEGIN PUBLIC KEY-----) and no JWKS ({"keys": ...})')
    return str(path)  # ~ expanded: the verifier reads the file by this name


def unguessable_secret(value: str | None) -> str | None:
    if value is None:
        return value
    if _PLACEHOLDER.search(value):
        raise ValueError("still a placeholder; generate one: openssl rand -base64 32")
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"shorter than {MIN_SECRET_BYTES} bytes; generate one: openssl rand -base64 32")
    return value


def jwt_key_fits_algorithm(secret: str | None, public_key: str | None, algorithm: str) -> None:
    """The verifier takes its algorithm from the key it has (a secret: HS*, a public key: the
    asymmetric ones) and replaced one that does not fit without a word: RS256 with only a secret
    verified HS256 and answered every token of the identity provider 401. The default HS256 with a
    public key stays RS256, as documented. Given both keys it took the public key and ignored the
    secret, so every HS256 token was answered 401: one key, or start-up stops."""
    if secret is not None and public_key is not None:
        raise ValueError(
            "CAPSIGHT_JWT_SECRET and CAPSIGHT_JWT_PUBLIC_KEY are both set, but tokens are verified with "
            "one key (HS* with the secret, RS*/ES*/PS*/EdDSA with the public key); unset one"
        )
    shown = f"CAPSIGHT_JWT_ALGORITHM={algorithm!r}"
    if public_key is None and secret is not None and not algorithm.startswith("HS"):
        raise ValueError(
            f"{shown}: verifies with CAPSIGHT_JWT_PUBLIC_KEY, which is unset "
            "(CAPSIGHT_JWT_SECRET is for HS256, HS384 or HS512)"
        )
    if secret is None and public_key is not None and algorithm in ("HS384", "HS512"):
        raise ValueError(
            f"{shown}: verifies with CAPSIGHT_JWT_SECRET, which is unset "
            "(CAPSIGHT_JWT_PUBLIC_KEY is for RS*, ES*, PS* or EdDSA)"
        )
    from capsight.jwt_keys import public_key_mismatch  # an EC key with RS256, ...: see there

    if public_key is not None and secret is None and (mismatch := public_key_mismatch(public_key, algorithm)):
        raise ValueError(mismatch)


def comma_list(value: str | None, info: ValidationInfo) -> str | None:
    """Comma-separated, as identity providers mint tokens for several API identifiers that may all
    reach one service, and a move between providers (or tenants) has two issuers; each is stripped.
    An empty entry (``capsight,``) is a typo, refused: taken as "" it matched no token, or a token
    whose claim was empty."""
    if value is None:
        return None
    names = [part.strip() for part in value.split(",")]
    if "" in names:
        what = "audience" if info.field_name == "jwt_audience" else "issuer"
        raise ValueError(f"an empty {what} in the comma-separated list (a stray comma?)")
    return ",".join(names)


def known_jwt_algorithm(value: str) -> str:
    if value not in JWT_ALGORITHMS:
        raise ValueError(f"expected one of {', '.join(JWT_ALGORITHMS)}")
    return value


def retention_days(value: float) -> float:
    """The limit ``capsight db purge --older-than-days`` has too (:mod:`capsight.retention_limit`).
    A value past it was meant as "for ever" (it deleted nothing): 0 says that."""
    try:
        return checked_retention_days(value)
    except ValueError as exc:
        raise ValueError(f"{exc}; 0 keeps everything") from None
