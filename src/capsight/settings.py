"""One settings object for the whole service, read from ``CAPSIGHT_*`` environment variables.

Settings are read at the edge (``cli.py``, ``create_app``) and passed down explicitly, so tests build
an app with their own ``Settings(...)`` and nothing reads the environment at import time.

Every value is checked here, at start-up: a bad one raises :class:`InvalidSettings`, one line naming
each bad variable and what it accepts, which the CLI prints as ``capsight: error: ...``. The checks
of single values are in :mod:`capsight.settings_checks`, attached to the fields below. Without the
checks a typo surfaced much later (``CAPSIGHT_LOG_LEVEL=verbose`` as a KeyError inside uvicorn, a
bad rate limit as a traceback from the store) or not at all (``CAPSIGHT_QUEUE_MAX=0`` answered every
request 503; ``CAPSIGHT_JWT_ALGORITHM=none`` silently verified HS256).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from capsight import settings_checks as checks
from capsight.api.hosts import allowed_host_names
from capsight.errors import CapsightError
from capsight.settings_checks import DEFAULT_REDIS_PREFIX, SECRETS
from capsight.settings_database import known_database

ENV_PREFIX = "CAPSIGHT_"
LogLevel = Literal["debug", "info", "warning", "error"]
_OPTIONAL_TEXT = (
    "database_url",
    "storage_url",
    "s3_endpoint_url",
    "redis_url",
    "rate_limit",
    "auth_failure_limit",
    "jwt_secret",
    "jwt_previous_secret",
    "jwt_public_key",
    "jwt_audience",
    "jwt_issuer",
    "webhook_secret",
)
_URLS_WITH_PASSWORDS = ("database_url", "redis_url")
# Up to the last "@": a pasted password may hold unencoded "/" and "@", and all of it must go.
_PASSWORD_IN_URL = re.compile(r"(://[^/@:]*:).*@")


class InvalidSettings(CapsightError, ValueError):
    """One or more ``CAPSIGHT_*`` values are unusable; the message names each one on a single line.

    Also a ValueError, which is what it is, so callers that guarded ``Settings(...)`` that way still do."""

    default_message = "Invalid CAPSIGHT_* settings."


def bundled_model_dir() -> Path:
    """The bundled bottle-status model: in the repo checkout, or next to the installed package."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "models" / "bottle-status"
        if (candidate / "model.onnx").exists():
            return candidate
    return here.parents[2] / "models" / "bottle-status"


class Settings(BaseSettings):
    """Every knob of capsight. The README "Scaling out" table documents each one."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # HTTP server
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1)
    log_level: LogLevel = "info"
    cors_origins: list[str] = Field(default_factory=list)
    # Dotted host names requests may name with auth off, beyond addresses and one-label names
    allowed_hosts: list[str] = Field(default_factory=list)

    # Model and inference
    model_dir: Path = Field(default_factory=bundled_model_dir)
    model_name: str = "bottle-status"
    # 0 = automatic (server: 1 on <= 2 CPUs, else one per CPU; CPUs: the cores it may use, capped by a
    # container CPU limit)
    intra_op_threads: int = Field(0, ge=0)
    batch_max_size: int = Field(16, ge=1)
    batch_max_wait_ms: float = Field(2.0, ge=0, allow_inf_nan=False)
    queue_max: int = Field(512, ge=1)  # pending images before 503
    warmup: bool = True

    # Input limits
    max_upload_bytes: int = Field(16 * 1024 * 1024, ge=1)
    max_pixels: int = Field(50_000_000, ge=1)
    max_batch_images: int = Field(32, ge=1)
    # whole body of a multi-image request
    max_batch_upload_bytes: int = Field(64 * 1024 * 1024, ge=1)
    # longest pause between two body chunks; 0 = none
    body_idle_timeout_seconds: float = Field(30.0, ge=0, allow_inf_nan=False)
    # whole body must arrive within this; 0 = none
    body_timeout_seconds: float = Field(300.0, ge=0, allow_inf_nan=False)
    # a request's line and headers must arrive within this (slowloris; capsight.api.protocols)
    request_head_timeout_seconds: float = Field(10.0, ge=1, allow_inf_nan=False)
    # bytes of a request's line and headers together; past it 431 (capsight.api.head_limit)
    max_request_head_bytes: int = Field(64 * 1024, ge=1024)
    # an idle connection between requests is closed after this (uvicorn's timeout_keep_alive, whose
    # default it keeps); behind a load balancer, longer than the balancer's idle timeout
    keep_alive_seconds: float = Field(5.0, ge=1, allow_inf_nan=False)
    # request bodies held in memory at once by this process; 0 = no cap
    max_inflight_body_bytes: int = Field(128 * 1024 * 1024, ge=0)
    # pixels being decoded at once by this process; 0 = no cap
    decode_max_inflight_pixels: int = Field(24_000_000, ge=0)

    # Storage (embedded defaults: SQLite + local folder + in-process cache)
    data_dir: Path = Path("var")
    database_url: str | None = None  # default: sqlite:///<data_dir>/capsight.db
    storage_url: str | None = None  # default: <data_dir>/images ; or s3://bucket/prefix
    s3_endpoint_url: str | None = None
    store_images: bool = True
    request_log: bool = True
    # days, fractions too (0.5: 12 hours), as `capsight db purge --older-than-days` takes (up to the same
    # limit: capsight.retention_limit); 0 = keep forever
    retention_days: float = Field(0, ge=0, allow_inf_nan=False)
    spool_max_image_bytes: int = Field(2 * 1024**3, ge=0)  # 0 = no limit

    # Cache and rate limits
    redis_url: str | None = None
    # Start of every Redis key (then "cache:..." or "rl:..."); deployments sharing a Redis database
    # need one each. The default is the names the keys had before it was a setting.
    redis_prefix: str = DEFAULT_REDIS_PREFIX
    cache_size: int = Field(10_000, ge=0)  # in-process LRU entries; 0 disables the cache
    cache_max_bytes: int = Field(64 * 1024**2, ge=0)  # in-process LRU byte budget; 0 = entries only
    cache_ttl_seconds: int = Field(86_400, ge=1)  # Redis cache entry lifetime
    rate_limit: str | None = None  # e.g. "100/minute" per client; None = unlimited

    # Auth
    auth_enabled: bool = False
    # Failed authentications allowed per client address before it gets 429 without its credentials
    # being looked up, e.g. "60/minute"; None = no limit. Off by default: behind a proxy that hides
    # client addresses, every client shares one and a single failing one would lock out the rest.
    auth_failure_limit: str | None = None
    jwt_secret: str | None = None
    # Still accepted beside jwt_secret while token minters move to a new one (a rotation).
    jwt_previous_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_algorithm: str = "HS256"
    jwt_audience: str | None = None  # comma-separated: a token for any of them is taken
    jwt_issuer: str | None = None  # comma-separated too
    jwt_require_exp: bool = True
    jwt_leeway_seconds: float = Field(30.0, ge=0, le=600)

    # Jobs
    job_url_allowlist: list[str] = Field(default_factory=list)
    job_url_private_networks: list[str] = Field(default_factory=list)  # CIDRs URL hosts may resolve to
    webhook_secret: str | None = None
    webhook_allowlist: list[str] = Field(default_factory=list)
    webhook_private_networks: list[str] = Field(default_factory=list)  # CIDRs receivers may resolve to
    # jobs run at once in this process; 0 = this process only accepts jobs
    job_workers: int = Field(1, ge=0)
    job_batch_size: int = Field(8, ge=1)  # small: a job's model call never holds the model long
    max_job_upload_bytes: int = Field(512 * 1024 * 1024, ge=1)
    max_job_images: int = Field(100_000, ge=1)
    max_job_uncompressed_bytes: int = Field(2 * 1024 * 1024 * 1024, ge=1)
    max_queued_jobs: int = Field(1000, ge=0)  # 0 = no limit; each queued zip holds its upload on disk
    # bytes of job inputs (uploads, extracted and downloaded images) kept on this replica's data disk
    max_job_disk_bytes: int = Field(8 * 1024**3, ge=0)  # 0 = no limit

    def __init__(self, *args: Any, **values: Any) -> None:
        """Read and check; every bad value ends up in one :class:`InvalidSettings` line."""
        try:
            super().__init__(*args, **values)
        except ValidationError as exc:
            raise InvalidSettings(_describe(exc, passed=set(values))) from None
        except SettingsError as exc:  # a list variable that is not JSON: pydantic-settings' own error
            raise InvalidSettings(_describe_settings_error(exc)) from None
        self._check_jwt_key_fits_algorithm()

    def _check_jwt_key_fits_algorithm(self) -> None:
        """Across three fields, so not a field validator; the why is in the check."""
        try:
            checks.jwt_key_fits_algorithm(self.jwt_secret, self.jwt_public_key, self.jwt_algorithm)
        except ValueError as exc:
            raise InvalidSettings(f"invalid settings: {exc}") from None

    # The checks, in capsight.settings_checks; pydantic runs "before" ones on the raw value.
    _lower_log_level = field_validator("log_level", mode="before")(checks.lower_log_level)
    _strip_word = field_validator(
        "host",
        "jwt_algorithm",
        "warmup",
        "store_images",
        "request_log",
        "auth_enabled",
        "jwt_require_exp",
        mode="before",
    )(checks.strip_word)
    _blank_is_unset = field_validator(*_OPTIONAL_TEXT, mode="before")(checks.blank_is_unset)
    _no_blank_folder = field_validator("model_dir", "data_dir", mode="before")(checks.no_blank_folder)
    _parsable_rate = field_validator("rate_limit", "auth_failure_limit")(checks.parsable_rate)
    _known_database = field_validator("database_url")(known_database)
    _known_redis = field_validator("redis_url")(checks.known_redis)
    _redis_key_prefix = field_validator("redis_prefix", mode="before")(checks.redis_key_prefix)
    _folder_or_s3 = field_validator("storage_url")(checks.folder_or_s3)
    _http_endpoint = field_validator("s3_endpoint_url")(checks.http_endpoint)
    _browser_origins = field_validator("cors_origins")(checks.browser_origins)
    _host_names = field_validator("allowed_hosts")(allowed_host_names)
    _valid_allowlist = field_validator("job_url_allowlist", "webhook_allowlist")(checks.valid_allowlist)
    _ip_networks = field_validator("job_url_private_networks", "webhook_private_networks")(checks.ip_networks)
    _pem_or_pem_file = field_validator("jwt_public_key")(checks.pem_or_pem_file)
    _unguessable_secret = field_validator(*SECRETS)(checks.unguessable_secret)
    _known_jwt_algorithm = field_validator("jwt_algorithm")(checks.known_jwt_algorithm)
    _comma_list = field_validator("jwt_audience", "jwt_issuer")(checks.comma_list)
    _retention_days = field_validator("retention_days")(checks.retention_days)

    def jwt_audiences(self) -> list[str]:
        """The audiences CAPSIGHT_JWT_AUDIENCE lists (comma-separated); a token for any one is taken."""
        return self.jwt_audience.split(",") if self.jwt_audience else []

    def jwt_issuers(self) -> list[str]:
        """The issuers CAPSIGHT_JWT_ISSUER lists (comma-separated); a token from any one is taken."""
        return self.jwt_issuer.split(",") if self.jwt_issuer else []

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'capsight.db').resolve()}"

    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return str((self.data_dir / "images").resolve())


_HINTS = {  # pydantic's error type -> the accepted values, where its message does not say them
    "bool_parsing": "use true or false",
    "bool_type": "use true or false",
    "finite_number": "a finite number",
    "list_type": 'a JSON list such as ["a", "b"]',
}


def _environment_value(name: str) -> str | None:
    """The variable as the operator wrote it (names are case-insensitive, as pydantic-settings reads them)."""
    return next((v for k, v in os.environ.items() if k.upper() == name), None)


def _describe(exc: ValidationError, passed: set[str]) -> str:
    """``CAPSIGHT_PORT='abc': Input should be a valid integer; CAPSIGHT_QUEUE_MAX=0: ...``; values read
    from the environment are shown as written there (a JSON list before it was decoded)."""
    parts = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "?"
        name = f"{ENV_PREFIX}{field.upper()}"
        raw = None if field in passed else _environment_value(name)
        message = error["msg"].removeprefix("Value error, ")
        hint = _HINTS.get(error["type"])
        if hint and hint not in message:
            message = f"{message} ({hint})"
        shown = raw if raw is not None else error["input"]
        if field in SECRETS:  # the error line reaches logs and CI output: never the secret itself
            parts.append(f"{name}=<hidden>: {message}")
            continue
        if field in _URLS_WITH_PASSWORDS and isinstance(shown, str):
            # Shown without its password; text that is no URL at all may be anything, a password too.
            if "://" not in shown:
                parts.append(f"{name}=<not a URL, hidden>: {message}")
                continue
            shown = _PASSWORD_IN_URL.sub(r"\1***@", shown)
        parts.append(f"{name}={shown!r}: {message}")
    return "invalid settings: " + "; ".join(parts)


def _describe_settings_error(exc: SettingsError) -> str:
    match = re.search(r'field "(\w+)"', str(exc))
    field = match.group(1) if match else "?"
    name = f"{ENV_PREFIX}{field.upper()}"
    raw = _environment_value(name) or ""
    return f'invalid settings: {name}={raw!r}: expected a JSON list such as ["a", "b"]'


#: ``CAPSIGHT_*`` names read by something other than :class:`Settings`: the host port of
#: deploy/docker-compose.yml, and the folder the browser tests save screenshots to.
NOT_SETTINGS = frozenset({"CAPSIGHT_HTTP_PORT", "CAPSIGHT_SCREENSHOTS"})


def unknown_environment_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per ``CAPSIGHT_*`` variable that no setting reads, naming the setting it was
    probably meant to be.

    Why: settings ignore names they do not know (other tools share the prefix), so a misspelt one
    (``CAPSIGHT_REDIS_URI``, ``CAPSIGHT_WORKER``) left the service on its default without a word:
    an operator who asked for Redis ran on the in-process cache and never knew why."""
    environ = os.environ if environ is None else environ
    known = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    lines = []
    for name in sorted(environ):
        upper = name.upper()  # names are read case-insensitively
        if not upper.startswith(ENV_PREFIX) or upper in known or upper in NOT_SETTINGS:
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"{name} is not a capsight setting and is ignored{hint}")
    return lines
