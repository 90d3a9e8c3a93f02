"""Every secret setting capsight reads has its slot in the Secret template and the compose file.

An operator rotating the HS256 JWT secret follows README's procedure (new secret in
CAPSIGHT_JWT_SECRET, the old one in CAPSIGHT_JWT_PREVIOUS_SECRET); with no line for the old one in
secret.yaml it would end up in the ConfigMap, readable by anyone allowed to read config, or not be
set at all, so every token minted with the old secret failed at once.
"""

from __future__ import annotations

from typing import Any

from deploy_files import interpolate

from capsight.settings import ENV_PREFIX
from capsight.settings_checks import SECRETS

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


def test_both_jwt_secrets_are_passed_from_the_shell_without_a_default(compose: dict[str, Any]) -> None:
    """A default in the compose file would be a published secret; no entry at all means the shell's
    or deploy/.env's value never reaches the api. (Compose leaves webhooks off: no allowlist.)"""
    env = compose["services"]["api"]["environment"]
    for name in ("CAPSIGHT_JWT_SECRET", "CAPSIGHT_JWT_PREVIOUS_SECRET"):
        assert name in env, f"{name} is not passed to the api in deploy/docker-compose.yml"
        assert str(env[name]) == f"${{{name}:-}}", env[name]
        assert interpolate(str(env[name])) == ""


def test_empty_secret_slots_leave_the_settings_unset(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    """The templates' empty values mean 'off', not an (unusable) empty secret."""
    from capsight.settings import Settings

    values = {name.removeprefix(ENV_PREFIX).lower(): "" for name in SECRET_ENV_NAMES}
    settings = Settings(**values)
    assert all(getattr(settings, field) is None for field in SECRETS)
