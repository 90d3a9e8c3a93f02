"""Every secret setting capsight reads has its slot in the Secret template and the compose file.

An operator rotating the HS256 JWT secret follows README's procedure (new secret in
CAPSIGHT_JWT_SECRET, the old one in CAPSIGHT_JWT_PREVIOUS_SECRET); with no line for the old one in
secret.yaml it would end up in the ConfigMap, readable by anyone allowed to read config, or not be
set at all, so every token minted with the old secret failed at once.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
from deploy_files import REPO, interpolate

from capsight.settings import ENV_PREFIX, Settings
from capsight.settings_checks import SECRETS
from capsight.settings_unused import unused_settings

SECRET_ENV_NAMES = sorted(f"{ENV_PREFIX}{name.upper()}" for name in SECRETS)


def test_the_secret_settings_are_known() -> None:
    assert "CAPSIGHT_JWT_PREVIOUS_SECRET" in SECRET_ENV_NAMES


def test_every_secret_setting_is_in_the_secret_not_the_configmap(
    k8s_by_kind: dict[str, dict[str, Any]],
) -> None:
    secret_keys = set(k8s_by_kind["Secret"]["stringData"])
    config_keys = set(k8s_by_kind["ConfigMap"]["data"])
    missing = [name for name in SECRET_ENV_NAMES if name not in secret_keys]
    assert not missing, f"no line in deploy/k8s/secret.yaml for {missing}"
    assert not config_keys & set(SECRET_ENV_NAMES), "a secret in the ConfigMap"


def test_every_secret_is_passed_from_the_shell_without_a_default(compose: dict[str, Any]) -> None:
    """A default in the compose file would be a published secret; no entry at all means the shell's
    or deploy/.env's value never reaches the api: the webhook secret had none, so webhooks were off
    in the compose deployment whatever deploy/.env said."""
    env = compose["services"]["api"]["environment"]
    for name in SECRET_ENV_NAMES:
        assert name in env, f"{name} is not passed to the api in deploy/docker-compose.yml"
        assert str(env[name]) == f"${{{name}:-}}", env[name]
        assert interpolate(str(env[name])) == ""


def _compose_api_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, given: dict[str, str]
) -> Settings:
    """The api's settings under compose, with ``given`` set in the shell or deploy/.env."""
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    for key, value in compose["services"]["api"]["environment"].items():
        monkeypatch.setenv(key, interpolate(str(value), given))
    return Settings()


def test_webhooks_are_turned_on_from_the_env_file(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Webhooks need both the secret that signs them and the receivers allowed (each without the
    other is refused, and named by ``capsight serve`` as a setting without effect)."""
    secret = secrets.token_urlsafe(32)
    given = {"CAPSIGHT_WEBHOOK_SECRET": secret, "CAPSIGHT_WEBHOOK_ALLOWLIST": '["hooks.example.com"]'}
    settings = _compose_api_settings(compose, monkeypatch, given)
    assert settings.webhook_secret == secret
    assert settings.webhook_allowlist == ["hooks.example.com"]
    assert not [line for line in unused_settings(settings) if "WEBHOOK" in line]


def test_webhooks_stay_off_by_default_without_a_warning(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _compose_api_settings(compose, monkeypatch, {})
    assert settings.webhook_secret is None and settings.webhook_allowlist == []
    assert not [line for line in unused_settings(settings) if "WEBHOOK" in line]


def test_empty_secret_slots_leave_the_settings_unset(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    """The templates' empty values mean 'off', not an (unusable) empty secret."""
    values = {name.removeprefix(ENV_PREFIX).lower(): "" for name in SECRET_ENV_NAMES}
    settings = Settings(**values)
    assert all(getattr(settings, field) is None for field in SECRETS)


def test_the_env_file_that_holds_the_secrets_is_git_ignored() -> None:
    """deploy/.env is where the compose comments send the secrets: a `git add deploy` would publish it."""
    lines = (REPO / ".gitignore").read_text().splitlines()
    assert "/deploy/.env" in lines or "deploy/.env" in lines
