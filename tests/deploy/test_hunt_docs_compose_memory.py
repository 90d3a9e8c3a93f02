"""The compose api replicas run under the same 512 MB memory limit as a Kubernetes pod, and the
ConfigMap caps the request bodies held in memory at 64 MiB for that limit (the default 128 MiB let a
burst of large uploads peak at 406 MB, the README's measurement). Compose kept the default, so a
replica with the pod's memory had the laptop's body budget."""

from __future__ import annotations

from typing import Any

from deploy_files import interpolate

from capsight.settings import Settings

INFLIGHT = "CAPSIGHT_MAX_INFLIGHT_BODY_BYTES"


def _mib(quantity: str) -> int:
    units = {"M": 1, "Mi": 1, "G": 1024, "Gi": 1024}
    number = quantity.rstrip("MGi")
    return int(number) * units[quantity[len(number) :]]


def test_compose_replica_holds_no_more_bodies_than_a_pod_with_the_same_memory(
    compose: dict[str, Any], k8s_by_kind: dict[str, dict[str, Any]]
) -> None:
    api = compose["services"]["api"]
    container = k8s_by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    compose_mib = _mib(api["deploy"]["resources"]["limits"]["memory"])
    pod_mib = _mib(container["resources"]["limits"]["memory"])
    assert compose_mib <= pod_mib  # no more memory than the pod ...
    pod_budget = int(k8s_by_kind["ConfigMap"]["data"][INFLIGHT])
    value = api["environment"].get(INFLIGHT)
    compose_budget = int(interpolate(str(value))) if value is not None else Settings().max_inflight_body_bytes
    assert compose_budget <= pod_budget  # ... so no larger a share of it for request bodies
