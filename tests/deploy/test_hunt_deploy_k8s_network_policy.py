"""Who may open a connection to the api pods: the ingress controller and Prometheus, nobody else.

Without a NetworkPolicy any pod in the cluster reached the pods' port 8000 directly, around the
Ingress: /metrics (kept off the Ingress on purpose), and, once uvicorn trusts the controller's
X-Forwarded-For (configmap.yaml), any address it cared to write there. Egress stays open: the api
fetches job URLs and delivers webhooks anywhere on the internet, besides its database, Redis and S3.

The policy is read as the Kubernetes API defines it (networking.k8s.io/v1): a pod selected by a
policy with policyTypes Ingress takes only what one of its ``from`` entries matches; a ``from`` entry
with both a namespaceSelector and a podSelector matches pods with those labels in those namespaces.
"""

from __future__ import annotations

from typing import Any

import pytest

# Where the standard installs put them: the ingress-nginx Helm chart / manifests, and Prometheus
# (kube-prometheus-stack, prometheus-community chart) in "monitoring". deploy/README.md says to adjust.
Source = tuple[dict[str, str], dict[str, str]]  # (namespace labels, pod labels)
INGRESS_CONTROLLER = (
    {"kubernetes.io/metadata.name": "ingress-nginx"},
    {"app.kubernetes.io/name": "ingress-nginx"},
)
PROMETHEUS = ({"kubernetes.io/metadata.name": "monitoring"}, {"app.kubernetes.io/name": "prometheus"})
SOME_OTHER_POD = ({"kubernetes.io/metadata.name": "capsight"}, {"app": "debug-shell"})
SAME_NAMESPACE_NO_LABELS = ({"kubernetes.io/metadata.name": "capsight"}, {})


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and In/NotIn/Exists/DoesNotExist expressions); {} matches all."""
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: dict[str, Any], namespace: dict[str, str], pod: dict[str, str], own: str) -> bool:
    if "ipBlock" in peer:
        return False  # pod traffic is matched by selectors here; an ipBlock is for outside the cluster
    if "namespaceSelector" in peer:
        in_namespace = _matches(peer["namespaceSelector"], namespace)
    else:
        in_namespace = namespace.get("kubernetes.io/metadata.name") == own  # the policy's own namespace
    return in_namespace and _matches(peer.get("podSelector"), pod)


def _admitted(policies: list[dict[str, Any]], api_labels: dict[str, str], source: Source, port: int) -> bool:
    """Whether a connection from ``source`` (namespace labels, pod labels) to the api's ``port`` is let in."""
    selecting = [
        p
        for p in policies
        if _matches(p["spec"]["podSelector"], api_labels)
        and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True  # no policy selects the pods: everything is let in
    for policy in selecting:
        own = policy["metadata"]["namespace"]
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            port_ok = ports is None or any(p.get("port") in (port, "http") for p in ports)
            peers = rule.get("from")
            peer_ok = peers is None or any(_peer_matches(peer, *source, own) for peer in peers)
            if port_ok and peer_ok:
                return True
    return False


@pytest.fixture()
def policies(k8s_objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [obj for obj in k8s_objects if obj["kind"] == "NetworkPolicy"]


@pytest.fixture()
def api_labels(k8s_by_kind: dict[str, dict[str, Any]]) -> dict[str, str]:
    labels: dict[str, str] = k8s_by_kind["Deployment"]["spec"]["template"]["metadata"]["labels"]
    return labels


def test_the_matcher_follows_the_api() -> None:
    """The reading the tests below rely on, on the cases the Kubernetes documentation spells out."""
    api = {"app": "api"}
    deny_all = [{"metadata": {"namespace": "n"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}]
    allow_ns = [
        {
            "metadata": {"namespace": "n"},
            "spec": {
                "podSelector": {"matchLabels": api},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "x"}}}]}],
            },
        }
    ]
    assert _admitted([], api, SOME_OTHER_POD, 8000)
    assert not _admitted(deny_all, api, SOME_OTHER_POD, 8000)
    assert _admitted(allow_ns, api, ({"team": "x"}, {}), 8000)
    assert not _admitted(allow_ns, api, ({"team": "y"}, {}), 8000)


def test_ingress_controller_and_prometheus_reach_the_api(
    policies: list[dict[str, Any]], api_labels: dict[str, str]
) -> None:
    assert _admitted(policies, api_labels, INGRESS_CONTROLLER, 8000)
    assert _admitted(policies, api_labels, PROMETHEUS, 8000)


@pytest.mark.parametrize("source", [SOME_OTHER_POD, SAME_NAMESPACE_NO_LABELS], ids=["other-pod", "bare-pod"])
def test_no_other_pod_reaches_the_api(
    policies: list[dict[str, Any]], api_labels: dict[str, str], source: Source
) -> None:
    assert not _admitted(policies, api_labels, source, 8000)


def test_the_api_keeps_its_egress(policies: list[dict[str, Any]], api_labels: dict[str, str]) -> None:
    """Job URLs and webhooks go anywhere; PostgreSQL, Redis and S3 may be in or out of the cluster."""
    for policy in policies:
        if _matches(policy["spec"]["podSelector"], api_labels):
            assert "Egress" not in policy["spec"].get("policyTypes", []), policy["metadata"]["name"]
