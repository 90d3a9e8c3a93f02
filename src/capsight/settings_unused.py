"""Settings given a value that the other settings make useless, named at ``capsight serve``'s start.

Why: ``CAPSIGHT_AUTH_FAILURE_LIMIT`` with auth off, or ``CAPSIGHT_JWT_AUDIENCE`` without a JWT key,
were accepted without a word: an operator who set them believed failed logins were limited, or
tokens meant for another service refused, while nothing of the kind was checked. Each is said as a
warning (what it lacks, and what makes it count), not refused: a deployment carrying such a
leftover keeps starting. Only settings given a value count (their defaults say nothing).

``CAPSIGHT_AUTH_FAILURE_LIMIT`` with auth off is not named: deploy/docker-compose.yml sets it ahead
(auth off by default there) so that turning auth on is protected at once, and a warning on every start
of the default stack would teach operators to skip warnings. With auth off there are no credentials
and so no failures to limit; ``serve`` already warns when an open server is reachable from elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capsight.settings import Settings

_AUTH_OPTIONS = ("jwt_secret", "jwt_public_key")
_JWT_OPTIONS = (
    "jwt_previous_secret",
    "jwt_audience",
    "jwt_issuer",
    "jwt_algorithm",
    "jwt_require_exp",
    "jwt_leeway_seconds",
)
_AUTH_OFF = "auth is off (CAPSIGHT_AUTH_ENABLED is not true), so no credentials are checked"
_TURN_AUTH_ON = "set CAPSIGHT_AUTH_ENABLED=true for it to take effect"


@dataclass(frozen=True)
class _Rule:
    fields: tuple[str, ...]
    idle: Callable[[Settings], bool]  # whether these fields have no effect with these settings
    why: str
    fix: str  # what makes it take effect


def _no_jwt_key(s: Settings) -> bool:
    return not (s.jwt_secret or s.jwt_public_key)


def _no_s3(s: Settings) -> bool:
    """Neither the image store nor a job source on S3 (``capsight batch`` reads the endpoint too)."""
    from capsight.jobs.allowlist import Allowlist

    return not (s.storage_url or "").startswith("s3://") and not Allowlist(s.job_url_allowlist).lists_s3


# The first rule that holds names a field; the order puts the cause to fix first (auth before keys).
_RULES = (
    _Rule(
        _AUTH_OPTIONS,
        lambda s: not s.auth_enabled,
        _AUTH_OFF,
        _TURN_AUTH_ON,
    ),
    _Rule(
        _JWT_OPTIONS,
        _no_jwt_key,
        "no JWT key is set, so no token is accepted",
        "set CAPSIGHT_JWT_SECRET or CAPSIGHT_JWT_PUBLIC_KEY (with CAPSIGHT_AUTH_ENABLED=true) "
        "for it to take effect",
    ),
    _Rule(_JWT_OPTIONS, lambda s: not s.auth_enabled, _AUTH_OFF, _TURN_AUTH_ON),
    _Rule(
        ("jwt_previous_secret",),
        lambda s: not s.jwt_secret,
        "CAPSIGHT_JWT_SECRET is unset, and it is the secret tokens are verified with beside this one",
        "set CAPSIGHT_JWT_SECRET to the new secret for it to take effect",
    ),
    _Rule(
        ("allowed_hosts",),
        lambda s: s.auth_enabled,
        "auth is on, and the Host check it widens applies only with auth off",
        "it takes effect only with CAPSIGHT_AUTH_ENABLED=false; with auth on it may go",
    ),
    _Rule(
        ("cache_max_bytes", "cache_ttl_seconds"),
        lambda s: s.cache_size == 0,
        "the result cache is off (CAPSIGHT_CACHE_SIZE=0)",
        "set CAPSIGHT_CACHE_SIZE above 0 for it to take effect",
    ),
    _Rule(
        ("redis_prefix", "cache_ttl_seconds"),
        lambda s: not s.redis_url,
        "CAPSIGHT_REDIS_URL is unset, so the cache and rate limits are kept in each process",
        "set CAPSIGHT_REDIS_URL for it to take effect",
    ),
    _Rule(
        ("webhook_allowlist", "webhook_private_networks"),
        lambda s: s.webhook_secret is None,
        "webhooks are off (CAPSIGHT_WEBHOOK_SECRET is unset): every webhook_url is refused",
        "set CAPSIGHT_WEBHOOK_SECRET for it to take effect",
    ),
    _Rule(
        ("webhook_secret",),
        lambda s: not s.webhook_allowlist,
        "no receiver is allow-listed (CAPSIGHT_WEBHOOK_ALLOWLIST is empty): every webhook_url is refused",
        "allow-list receiver hosts in CAPSIGHT_WEBHOOK_ALLOWLIST for it to take effect",
    ),
    _Rule(
        ("job_url_private_networks",),
        lambda s: not s.job_url_allowlist,
        "URL and S3 jobs are off (CAPSIGHT_JOB_URL_ALLOWLIST is empty)",
        "allow-list image hosts in CAPSIGHT_JOB_URL_ALLOWLIST for it to take effect",
    ),
    _Rule(
        ("s3_endpoint_url",),
        _no_s3,
        "neither the image store nor any job source is on S3 (only capsight batch reads it then)",
        "set CAPSIGHT_STORAGE_URL=s3://... or allow-list an s3:// prefix in CAPSIGHT_JOB_URL_ALLOWLIST "
        "for it to take effect",
    ),
    _Rule(
        ("store_images", "spool_max_image_bytes"),
        lambda s: not s.request_log,
        "the request log is off (CAPSIGHT_REQUEST_LOG=false), and it is what stores the images",
        "set CAPSIGHT_REQUEST_LOG=true for it to take effect",
    ),
)


def _given(settings: Settings, field: str) -> bool:
    """Set by the operator to a value that asks for something (a blank is unset; store_images=false
    asks for nothing a missing request log fails to do)."""
    if field not in settings.model_fields_set:
        return False
    value = getattr(settings, field)
    if field == "store_images":
        return bool(value)
    return value is not None and value != [] and value != ""


def unused_settings(settings: Settings) -> list[str]:
    """One line per setting given a value that has no effect with the others, naming what it lacks
    and what would make it count; [] when every setting given takes effect."""
    lines: list[str] = []
    named: set[str] = set()
    for rule in _RULES:
        for field in rule.fields:
            if field in named or not _given(settings, field) or not rule.idle(settings):
                continue
            named.add(field)
            lines.append(f"CAPSIGHT_{field.upper()} is set but has no effect: {rule.why}; {rule.fix}")
    return lines
