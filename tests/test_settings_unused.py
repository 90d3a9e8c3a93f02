"""Settings that would have no effect with the others given are named at ``capsight serve``'s start.

Why: ``CAPSIGHT_AUTH_FAILURE_LIMIT=60/minute`` with auth off, or ``CAPSIGHT_JWT_AUDIENCE`` without a
JWT key, were accepted without a word: an operator who set them believed failed logins were limited,
or tokens for other services refused, while nothing of the kind was checked. Each is a warning, not
a refusal, so deployments that carry such a leftover keep starting."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from capsight.settings import Settings
from capsight.settings_unused import unused_settings

SECRET = "s" * 40


@pytest.mark.parametrize(
    ("values", "named", "fix"),
    [
        ({"jwt_secret": SECRET}, "JWT_SECRET", "AUTH_ENABLED=true"),
        ({"auth_enabled": True, "jwt_audience": "capsight"}, "JWT_AUDIENCE", "JWT_SECRET"),
        (
            {"auth_enabled": True, "jwt_issuer": "https://id.example"},
            "JWT_ISSUER",
            "JWT_SECRET",
        ),
        (
            {"auth_enabled": True, "jwt_leeway_seconds": 5},
            "JWT_LEEWAY_SECONDS",
            "JWT_SECRET",
        ),
        ({"jwt_secret": SECRET, "jwt_audience": "a"}, "JWT_AUDIENCE", "AUTH_ENABLED=true"),
        ({"redis_prefix": "other:"}, "REDIS_PREFIX", "REDIS_URL"),
        ({"webhook_secret": SECRET}, "WEBHOOK_SECRET", "WEBHOOK_ALLOWLIST"),
        ({"cache_ttl_seconds": 60}, "CACHE_TTL_SECONDS", "REDIS_URL"),
        ({"cache_size": 0, "cache_max_bytes": 1000}, "CACHE_MAX_BYTES", "CACHE_SIZE"),
        (
            {"webhook_allowlist": ["hooks.example.com"]},
            "WEBHOOK_ALLOWLIST",
            "WEBHOOK_SECRET",
        ),
        (
            {"webhook_private_networks": ["10.0.0.0/8"]},
            "WEBHOOK_PRIVATE_NETWORKS",
            "WEBHOOK_SECRET",
        ),
        (
            {"job_url_private_networks": ["10.0.0.0/8"]},
            "JOB_URL_PRIVATE_NETWORKS",
            "JOB_URL_ALLOWLIST",
        ),
        ({"s3_endpoint_url": "http://minio:9000"}, "S3_ENDPOINT_URL", "STORAGE_URL=s3://"),
        ({"request_log": False, "store_images": True}, "STORE_IMAGES", "REQUEST_LOG=true"),
        (
            {"auth_enabled": True, "allowed_hosts": ["app.example"]},
            "ALLOWED_HOSTS",
            "AUTH_ENABLED=false",
        ),
    ],
)
def test_a_setting_without_effect_is_named_with_what_makes_it_count(
    values: dict[str, Any], named: str, fix: str
) -> None:
    lines = [line for line in unused_settings(Settings(**values)) if line.startswith(f"CAPSIGHT_{named} ")]
    assert len(lines) == 1, unused_settings(Settings(**values))
    assert "no effect" in lines[0] and f"CAPSIGHT_{fix}" in lines[0], lines[0]


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"auth_enabled": True, "auth_failure_limit": "60/minute"},
        {"auth_enabled": True, "jwt_secret": SECRET, "jwt_audience": "a", "jwt_issuer": "i"},
        {"redis_url": "redis://localhost:6379/0", "redis_prefix": "other:", "cache_ttl_seconds": 60},
        {"webhook_secret": SECRET, "webhook_allowlist": ["hooks.example.com"]},
        {"job_url_allowlist": ["cdn.example.com"], "job_url_private_networks": ["10.0.0.0/8"]},
        {"storage_url": "s3://bucket/images", "s3_endpoint_url": "http://minio:9000"},
        {"job_url_allowlist": ["s3://bucket/in/"], "s3_endpoint_url": "http://minio:9000"},
        {"request_log": False, "store_images": False, "retention_days": 30},
        {"allowed_hosts": ["app.example"]},
        {"jwt_audience": "", "auth_failure_limit": " "},  # blank: unset
        # set ahead for when auth is turned on (deploy/docker-compose.yml does): no credentials, no failures
        {"auth_failure_limit": "60/minute"},
    ],
)
def test_settings_that_take_effect_are_not_named(values: dict[str, Any]) -> None:
    assert unused_settings(Settings(**values)) == []


def test_the_compose_template_starts_without_such_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/docker-compose.yml's own values (each ``${VAR:-default}`` at its default) name nothing:
    a warning on every start of the default stack would teach operators to skip warnings."""
    compose = Path(__file__).resolve().parents[1] / "deploy" / "docker-compose.yml"
    for name in [name for name in os.environ if name.startswith("CAPSIGHT_")]:
        monkeypatch.delenv(name)
    given = 0
    for line in compose.read_text().splitlines():
        match = re.match(r"^\s+(CAPSIGHT_[A-Z0-9_]+):\s*(.*?)\s*$", line)
        if match:
            value = match.group(2).strip('"')
            default = re.fullmatch(r"\$\{[A-Z0-9_]+:-(.*)\}", value)
            monkeypatch.setenv(match.group(1), default.group(1) if default else value)
            given += 1
    assert given >= 10  # the template's environment was found
    settings = Settings()
    assert settings.auth_failure_limit == "60/minute" and not settings.auth_enabled
    assert unused_settings(settings) == []
