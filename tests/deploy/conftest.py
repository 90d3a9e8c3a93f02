"""Fixtures for the deploy tests: the deployment files, loaded once per session."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from deploy_files import (
    COMPOSE_FILE,
    DOCKERFILE,
    Instruction,
    k8s_manifest_files,
    load_yaml_documents,
    parse_dockerfile,
)


@pytest.fixture(scope="session")
def k8s_objects() -> list[dict[str, Any]]:
    return [doc for path in k8s_manifest_files() for doc in load_yaml_documents(path)]


# Kinds the manifests hold several of (a body limit belongs to an Ingress: one for the api, one for
# zip job uploads); see the ``ingresses`` fixture.
SEVERAL_OF_KIND = frozenset({"Ingress"})


@pytest.fixture(scope="session")
def k8s_by_kind(k8s_objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One object per kind (the manifests hold one of each, except the kinds in SEVERAL_OF_KIND)."""
    by_kind: dict[str, dict[str, Any]] = {}
    for obj in k8s_objects:
        if obj["kind"] in SEVERAL_OF_KIND:
            continue
        assert obj["kind"] not in by_kind, f"two {obj['kind']} objects; tests assume one"
        by_kind[obj["kind"]] = obj
    return by_kind


@pytest.fixture(scope="session")
def ingresses(k8s_objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The Ingress objects by name."""
    return {obj["metadata"]["name"]: obj for obj in k8s_objects if obj["kind"] == "Ingress"}


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="session")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text())
