"""Settings read from CAPSIGHT_* variables: a bad value stops start-up with one line that names the
variable and what it accepts, never a traceback, a crash deep inside uvicorn, or a silent default."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from capsight.cli import main
from capsight.settings import InvalidSettings, Settings

# (variable, bad value, a word the message must contain to tell the operator what is accepted)
BAD_VALUES = [
    ("PORT", "abc", "integer"),
    ("PORT", "0", "greater than or equal to 1"),
    ("PORT", "-1", "greater than or equal to 1"),
    ("PORT", "70000", "less than or equal to 65535"),
    ("PORT", "", "integer"),
    ("WORKERS", "0", "greater than or equal to 1"),
    ("LOG_LEVEL", "verbose", "'debug', 'info', 'warning' or 'error'"),
    ("LOG_LEVEL", "", "'debug', 'info', 'warning' or 'error'"),
    ("HOST", "", "at least 1 character"),
    ("WARMUP", "maybe", "true or false"),
    ("AUTH_ENABLED", "enabled", "true or false"),
    ("STORE_IMAGES", "", "true or false"),
    ("INTRA_OP_THREADS", "-1", "greater than or equal to 0"),
    ("BATCH_MAX_SIZE", "0", "greater than or equal to 1"),
    ("BATCH_MAX_WAIT_MS", "-1", "greater than or equal to 0"),
    ("BATCH_MAX_WAIT_MS", "nan", "finite"),
    ("BATCH_MAX_WAIT_MS", "inf", "finite"),
    ("QUEUE_MAX", "0", "greater than or equal to 1"),
    ("MAX_UPLOAD_BYTES", "0", "greater than or equal to 1"),
    ("MAX_UPLOAD_BYTES", "16MB", "integer"),
    ("MAX_PIXELS", "-1", "greater than or equal to 1"),
    ("MAX_BATCH_IMAGES", "0", "greater than or equal to 1"),
    ("MAX_BATCH_UPLOAD_BYTES", "0", "greater than or equal to 1"),
    ("BODY_IDLE_TIMEOUT_SECONDS", "-1", "greater than or equal to 0"),
    ("BODY_TIMEOUT_SECONDS", "inf", "finite"),
    ("RETENTION_DAYS", "-1", "greater than or equal to 0"),
    ("SPOOL_MAX_IMAGE_BYTES", "-1", "greater than or equal to 0"),
    ("CACHE_SIZE", "-1", "greater than or equal to 0"),
    ("CACHE_TTL_SECONDS", "0", "greater than or equal to 1"),
    ("RATE_LIMIT", "lots", "N/minute"),
    ("RATE_LIMIT", "0/minute", "positive"),
    ("JWT_ALGORITHM", "none", "HS256"),
    ("JWT_ALGORITHM", "hs256", "HS256"),
    ("JOB_WORKERS", "-1", "greater than or equal to 0"),
    ("JOB_BATCH_SIZE", "0", "greater than or equal to 1"),
    ("MAX_JOB_UPLOAD_BYTES", "0", "greater than or equal to 1"),
    ("MAX_JOB_IMAGES", "0", "greater than or equal to 1"),
    ("MAX_JOB_UNCOMPRESSED_BYTES", "0", "greater than or equal to 1"),
    ("DATA_DIR", "", "a folder"),
    ("MODEL_DIR", " ", "a folder"),
    ("CORS_ORIGINS", "https://app.example", "JSON list"),
    ("JOB_URL_ALLOWLIST", "[not json", "JSON list"),
    ("WEBHOOK_ALLOWLIST", '{"a": 1}', "list"),
]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("CAPSIGHT_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(("name", "value", "accepted"), BAD_VALUES)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, accepted: str
) -> None:
    monkeypatch.setenv(f"CAPSIGHT_{name}", value)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert f"CAPSIGHT_{name}" in message
    assert repr(value) in message  # the value as the server saw it, quotes showing blanks
    assert accepted in message
    assert "\n" not in message


def test_every_bad_value_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixing one variable per restart is slow; one line lists them all."""
    monkeypatch.setenv("CAPSIGHT_PORT", "http")
    monkeypatch.setenv("CAPSIGHT_QUEUE_MAX", "0")
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    assert "CAPSIGHT_PORT" in raised.value.message
    assert "CAPSIGHT_QUEUE_MAX" in raised.value.message
    assert "\n" not in raised.value.message


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "1", "yes", "on"])
def test_booleans_take_the_usual_spellings_of_true(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CAPSIGHT_AUTH_ENABLED", value)
    assert Settings().auth_enabled is True


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "off"])
def test_booleans_take_the_usual_spellings_of_false(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CAPSIGHT_WARMUP", value)
    assert Settings().warmup is False


def test_good_values_are_read_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPSIGHT_PORT", " 8080 ")
    monkeypatch.setenv("CAPSIGHT_LOG_LEVEL", " WARNING ")
    monkeypatch.setenv("CAPSIGHT_BATCH_MAX_WAIT_MS", "0")
    monkeypatch.setenv("CAPSIGHT_RATE_LIMIT", "5 per 10 seconds")
    monkeypatch.setenv("CAPSIGHT_JWT_ALGORITHM", "ES256")
    monkeypatch.setenv("CAPSIGHT_JOB_WORKERS", "0")
    monkeypatch.setenv("CAPSIGHT_CACHE_SIZE", "0")
    settings = Settings()
    assert settings.port == 8080
    assert settings.log_level == "warning"
    assert settings.batch_max_wait_ms == 0.0
    assert settings.rate_limit == "5 per 10 seconds"
    assert settings.jwt_algorithm == "ES256"
    assert (settings.job_workers, settings.cache_size) == (0, 0)


@pytest.mark.parametrize(
    "name",
    ["DATABASE_URL", "STORAGE_URL", "S3_ENDPOINT_URL", "REDIS_URL", "RATE_LIMIT", "JWT_SECRET",
     "JWT_PUBLIC_KEY", "WEBHOOK_SECRET"],
)  # fmt: skip
def test_an_empty_optional_variable_means_unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """compose's `CAPSIGHT_REDIS_URL=${REDIS_URL:-}` writes an empty string for "not configured"."""
    monkeypatch.setenv(f"CAPSIGHT_{name}", "  ")
    assert getattr(Settings(), name.lower()) is None


def test_settings_built_in_code_are_checked_too(tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings, match="CAPSIGHT_QUEUE_MAX"):
        Settings(data_dir=tmp_path, queue_max=-1)
    assert Settings(data_dir=tmp_path, batch_max_wait_ms=2).batch_max_wait_ms == 2.0
    assert not math.isnan(Settings().batch_max_wait_ms)


@pytest.mark.parametrize("command", [["serve"], ["classify", "photo.jpg"], ["keys", "list"]])
def test_the_cli_prints_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    monkeypatch.setenv("CAPSIGHT_LOG_LEVEL", "verbose")
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("capsight: error: ")
    assert "CAPSIGHT_LOG_LEVEL='verbose'" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


GUESSABLE_SECRETS = [
    "short-secret",  # under 32 bytes: HS256 keys shorter than the hash are brute-forceable offline
    "change-me-local-only",  # docker-compose's former default
    "REPLACE_ME_with_at_least_32_random_bytes",  # the k8s Secret template's placeholder
    "please-change_me-before-deploying-this-service",
]


@pytest.mark.parametrize("name", ["JWT_SECRET", "WEBHOOK_SECRET"])
@pytest.mark.parametrize("value", GUESSABLE_SECRETS)
def test_a_guessable_signing_secret_stops_start_up_without_being_printed(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """A published or short secret lets anyone mint admin JWTs or forge webhooks: refuse to start,
    and never echo the secret into the error line (it lands in logs and CI output)."""
    monkeypatch.setenv(f"CAPSIGHT_{name}", value)
    with pytest.raises(InvalidSettings) as raised:
        Settings()
    message = raised.value.message
    assert f"CAPSIGHT_{name}" in message
    assert value not in message
    assert "32" in message or "placeholder" in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["JWT_SECRET", "WEBHOOK_SECRET"])
def test_a_long_random_signing_secret_is_accepted(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    import secrets

    value = secrets.token_urlsafe(32)
    monkeypatch.setenv(f"CAPSIGHT_{name}", value)
    assert getattr(Settings(), name.lower()) == value
