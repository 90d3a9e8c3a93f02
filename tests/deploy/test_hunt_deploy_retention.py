"""Both production templates set CAPSIGHT_RETENTION_DAYS, so their log and bucket stop growing.

The setting defaults to 0 (keep everything): right on a laptop, where a user's photos are not
deleted without asking, but the compose stack and the Kubernetes manifests did not set it, so their
PostgreSQL request log and S3 bucket grew for ever. They now keep 30 days; the comment beside the
value says what goes and how to change it, and the docs say where it is set.
"""

from __future__ import annotations

from typing import Any

import pytest
from deploy_files import COMPOSE_FILE, DEPLOY, K8S, REPO, interpolate

from capsight.settings import Settings

RETENTION = "CAPSIGHT_RETENTION_DAYS"
DAYS = 30


def _retention_from(value: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv(RETENTION, value)
    return Settings().retention_days


def test_the_laptop_default_keeps_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RETENTION, raising=False)
    assert Settings().retention_days == 0


def test_configmap_sets_a_retention(
    k8s_by_kind: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = k8s_by_kind["ConfigMap"]["data"]
    assert RETENTION in data, "the cluster's log and bucket would grow for ever"
    assert _retention_from(str(data[RETENTION]), monkeypatch) == DAYS


def test_compose_sets_a_retention_overridable_from_the_shell(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = compose["services"]["api"]["environment"]
    assert RETENTION in env, "the stack's log and bucket would grow for ever"
    assert f"${{{RETENTION}:-" in str(env[RETENTION])
    assert _retention_from(interpolate(str(env[RETENTION])), monkeypatch) == DAYS


@pytest.mark.parametrize("path", [COMPOSE_FILE, K8S / "configmap.yaml"], ids=lambda p: p.name)
def test_the_value_is_explained_beside_it(path: Any) -> None:
    """What it deletes (requests, images, feedback) and how to keep everything, above the line."""
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{RETENTION}:"))
    comment = " ".join(line.strip() for line in lines[max(0, at - 6) : at] if line.strip().startswith("#"))
    for word in ("request", "image", "feedback", "keep"):
        assert word in comment, f"{path.name}: the comment above {RETENTION} does not mention {word!r}"


@pytest.mark.parametrize("doc", [DEPLOY / "README.md", REPO / "docs" / "scaling.md"], ids=lambda p: p.name)
def test_the_docs_say_where_retention_is_set(doc: Any) -> None:
    """Some mention of the setting names both files that set it (the settings table alone does not)."""
    text = doc.read_text()
    windows = [text[max(0, i - 400) : i + 400] for i in _occurrences(text, RETENTION)]
    assert any("configmap.yaml" in w and "docker-compose.yml" in w for w in windows), (
        f"{doc.name} does not say which files set {RETENTION}"
    )


def _occurrences(text: str, needle: str) -> list[int]:
    found, at = [], text.find(needle)
    while at != -1:
        found.append(at)
        at = text.find(needle, at + 1)
    return found
