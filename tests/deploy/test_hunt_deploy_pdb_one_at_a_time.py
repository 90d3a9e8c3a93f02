"""The PodDisruptionBudget lets voluntary disruptions (node drains, cluster upgrades) take one api pod
at a time, however many replicas the HPA runs.

It said ``minAvailable: 2``, written for the 3 replicas of old: at 10 replicas (the HPA's maximum,
reached under peak load) it allowed 8 pods evicted at once, down to 2 pods carrying the load that
had needed 10. A drain must still be able to evict one pod, or node maintenance blocks forever.
"""

from __future__ import annotations

import math
from typing import Any


def _allowed_disruptions(pdb_spec: dict[str, Any], healthy: int) -> int:
    """What the disruption controller allows with ``healthy`` pods (integer or percentage values;
    percentages round up, as Kubernetes does for both fields)."""

    def count(value: int | str) -> int:
        if isinstance(value, str) and value.endswith("%"):
            return math.ceil(healthy * int(value[:-1]) / 100)
        return int(value)

    if "maxUnavailable" in pdb_spec:
        return max(0, count(pdb_spec["maxUnavailable"]))
    return max(0, healthy - count(pdb_spec["minAvailable"]))


def test_one_pod_at_a_time_at_every_replica_count(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    hpa = k8s_by_kind["HorizontalPodAutoscaler"]["spec"]
    pdb = k8s_by_kind["PodDisruptionBudget"]["spec"]
    for replicas in range(hpa["minReplicas"], hpa["maxReplicas"] + 1):
        assert _allowed_disruptions(pdb, replicas) == 1, f"at {replicas} replicas"


def _may_evict_unready_pod(pdb_spec: dict[str, Any], replicas: int, unready: int) -> bool:
    """The eviction API's rule for a Running pod that is not Ready (Kubernetes 1.27+): under the
    default ``IfHealthyBudget`` only while the healthy pods still meet the budget; under
    ``AlwaysAllow`` always."""
    if pdb_spec.get("unhealthyPodEvictionPolicy", "IfHealthyBudget") == "AlwaysAllow":
        return True
    healthy = replicas - unready
    desired_healthy = replicas - _allowed_disruptions(pdb_spec, replicas)
    return healthy >= desired_healthy


def test_a_drain_evicts_pods_that_are_not_ready(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    """Two crash-looping replicas (a bad image on one node, a broken volume) must not block a node
    drain: with the default policy the budget is already spent, so neither the broken pods nor any
    other could be evicted and the drain waited forever for pods that will never be Ready."""
    hpa = k8s_by_kind["HorizontalPodAutoscaler"]["spec"]
    pdb = k8s_by_kind["PodDisruptionBudget"]["spec"]
    for replicas in range(hpa["minReplicas"], hpa["maxReplicas"] + 1):
        assert _may_evict_unready_pod(pdb, replicas, unready=2), f"at {replicas} replicas"
