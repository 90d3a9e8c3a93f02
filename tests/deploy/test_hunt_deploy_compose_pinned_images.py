"""Every image compose pulls names one release, so two machines (or two days) run the same stack.

minio/minio:latest and minio/mc:latest changed under the stack with every MinIO release (MinIO has
dropped and renamed features between releases: the console's admin screens, ``mc`` sub-commands
such as ``mc admin``'s), and postgres:15-alpine, redis:7-alpine and nginx:1.27-alpine moved with each
minor or patch release. The tags chosen are published releases; none could be pulled here, so they
were taken from the projects' release lists, not tried.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

# A release: semantic version (optionally v-prefixed, optionally with a variant such as -alpine),
# or MinIO's RELEASE.<UTC timestamp> tags.
_RELEASE_TAG = re.compile(r"^(v?\d+\.\d+\.\d+(-[a-z0-9.]+)?|RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)$")


def _pulled_images(compose: dict[str, Any]) -> dict[str, str]:
    return {name: s["image"] for name, s in compose["services"].items() if "build" not in s}


def test_the_release_pattern() -> None:
    for pinned in ("v2.53.0", "11.1.0", "RELEASE.2024-12-18T13-15-44Z", "1.27.3-alpine"):
        assert _RELEASE_TAG.match(pinned), pinned
    for floating in ("latest", "7-alpine", "1.27-alpine", "15", "RELEASE.2024"):
        assert not _RELEASE_TAG.match(floating), floating


@pytest.mark.parametrize(
    "service", ["nginx", "postgres", "redis", "minio", "minio-init", "prometheus", "grafana"]
)
def test_compose_pins_each_image_to_a_release(compose: dict[str, Any], service: str) -> None:
    image = _pulled_images(compose)[service]
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{service}: {image} has no tag (means latest)"
    if name == "postgres":
        # PostgreSQL tags its releases MAJOR.MINOR (15.10): that is its full version.
        assert re.fullmatch(r"\d+\.\d+-alpine", tag), f"{service}: {image} floats"
    else:
        assert _RELEASE_TAG.match(tag), f"{service}: {image} floats"


def test_every_pulled_image_is_checked(compose: dict[str, Any]) -> None:
    assert set(_pulled_images(compose)) == {
        "nginx",
        "postgres",
        "redis",
        "minio",
        "minio-init",
        "prometheus",
        "grafana",
    }
