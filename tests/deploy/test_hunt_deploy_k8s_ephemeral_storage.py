"""The api pod declares the node disk it uses (``ephemeral-storage``), as it declares CPU and memory.

Its emptyDirs may hold gigabytes (spooled images, job inputs: deployment.yaml's sizeLimits). With no
request the scheduler placed pods without counting any of it, so a node short of disk took them,
and under the node's disk pressure the kubelet evicts first the pods using most beyond their request:
a request of nothing put the api first in line, with every request in flight. The limit must leave
room for everything the pod may write (each emptyDir up to its sizeLimit plus the container's
logs), or the kubelet evicts the pod before the budgets that keep it within those limits are used.
"""

from __future__ import annotations

from typing import Any

# The kubelet keeps up to containerLogMaxFiles (5) x containerLogMaxSize (10Mi) of logs by default.
LOG_BYTES = 5 * 10 * 1024**2


def _bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1000, "M": 1000**2, "G": 1000**3}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(quantity)


def _pod(k8s_by_kind: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = k8s_by_kind["Deployment"]["spec"]["template"]["spec"]
    return spec


def test_api_requests_ephemeral_storage(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    resources = _pod(k8s_by_kind)["containers"][0]["resources"]
    request = _bytes(resources["requests"]["ephemeral-storage"])
    limit = _bytes(resources["limits"]["ephemeral-storage"])
    assert 0 < request <= limit


def test_ephemeral_storage_limit_holds_every_disk_emptydir(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    pod = _pod(k8s_by_kind)
    disk_dirs = [
        v["emptyDir"] for v in pod["volumes"] if "emptyDir" in v and v["emptyDir"].get("medium") != "Memory"
    ]
    assert all("sizeLimit" in d for d in disk_dirs), "an emptyDir without sizeLimit can fill the node"
    needed = sum(_bytes(d["sizeLimit"]) for d in disk_dirs) + LOG_BYTES
    limit = _bytes(pod["containers"][0]["resources"]["limits"]["ephemeral-storage"])
    assert limit >= needed
