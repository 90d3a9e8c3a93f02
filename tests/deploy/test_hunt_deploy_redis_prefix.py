"""Both deployments name CAPSIGHT_REDIS_PREFIX beside their Redis URL.

Staging and production pointed at one Redis server (the usual way to save one) shared every key
unless each set a prefix of its own: one's rate limits and failed authentications counted against
the other. The deployment files did not mention the setting at all, so nobody editing them saw it.
"""

from __future__ import annotations

from typing import Any

import pytest
from deploy_files import interpolate

from capsight.settings import Settings
from capsight.settings_checks import DEFAULT_REDIS_PREFIX

PREFIX = "CAPSIGHT_REDIS_PREFIX"


def _prefix_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(PREFIX, env[PREFIX])
    return Settings().redis_prefix


def test_configmap_sets_the_redis_prefix(
    k8s_by_kind: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = k8s_by_kind["ConfigMap"]["data"]
    assert PREFIX in data
    assert _prefix_from(data, monkeypatch) == DEFAULT_REDIS_PREFIX


def test_compose_passes_the_redis_prefix_through(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overridable from the shell or deploy/.env like the other settings, the default when unset."""
    env = compose["services"]["api"]["environment"]
    assert PREFIX in env
    assert f"${{{PREFIX}:-" in str(env[PREFIX])
    assert _prefix_from({PREFIX: interpolate(str(env[PREFIX]))}, monkeypatch) == DEFAULT_REDIS_PREFIX
