"""Kubernetes manifests: official schemas (offline, kubernetes-validate) and cross-references.

Strict schemas reject unknown fields, so a misspelled key (``readinessProb``) fails here rather than
being dropped silently by the API server.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_files import (
    DOCKERFILE,
    K8S,
    cpu_quantity,
    k8s_manifest_files,
    load_yaml_documents,
    serving_threads_under_cpu_limit,
    settings_env_names,
)

from capsight.settings import Settings

# Oldest Kubernetes we claim to support (HPA autoscaling/v2 and PDB policy/v1 are GA there) and the
# newest schema set bundled with kubernetes-validate.
K8S_VERSIONS = ["1.28", kubernetes_validate.utils.latest_version()]
NAMESPACE = "capsight"


def _pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = _pod_spec(deployment)["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def _selects(match_labels: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(match_labels) and all(labels.get(k) == v for k, v in match_labels.items())


def _env_from_k8s(by_kind: dict[str, dict[str, Any]]) -> dict[str, str]:
    env = dict(by_kind["ConfigMap"]["data"])
    env.update(by_kind["Secret"]["stringData"])
    return env


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", k8s_manifest_files(), ids=lambda p: p.name)
def test_manifest_validates_against_official_schema(path: Path, version: str) -> None:
    documents = load_yaml_documents(path)
    assert documents, f"{path.name} holds no object"
    for doc in documents:
        # Raises SchemaNotFoundError for an unknown kind/apiVersion, ValidationError for a bad field.
        kubernetes_validate.validate(doc, version, strict=True)


def test_validator_rejects_a_misspelled_field(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    broken = copy.deepcopy(k8s_by_kind["Deployment"])
    container = _container(broken)
    container["readinessProb"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinessProb"):
        kubernetes_validate.validate(broken, K8S_VERSIONS[0], strict=True)


def test_validator_rejects_an_unknown_api_version(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    old = copy.deepcopy(k8s_by_kind["HorizontalPodAutoscaler"])
    old["apiVersion"] = "autoscaling/v2beta9"
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(old, K8S_VERSIONS[0], strict=True)


def test_kustomization_lists_every_manifest(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == [p.name for p in k8s_manifest_files()]
    assert kustomization["namespace"] == k8s_by_kind["Namespace"]["metadata"]["name"] == NAMESPACE
    image_names = {image["name"] for image in kustomization["images"]}
    assert _container(k8s_by_kind["Deployment"])["image"].split(":")[0] in image_names


def test_every_object_lives_in_the_namespace(k8s_objects: list[dict[str, Any]]) -> None:
    for obj in k8s_objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == NAMESPACE, obj["kind"]


def test_expected_kinds_are_present(k8s_objects: list[dict[str, Any]]) -> None:
    expected = {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Ingress",
    }
    assert expected <= {obj["kind"] for obj in k8s_objects}


def test_deployment_replicas_resources_and_probes(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    deployment = k8s_by_kind["Deployment"]
    assert k8s_by_kind["HorizontalPodAutoscaler"]["spec"]["minReplicas"] == 3
    container = _container(deployment)
    limits = container["resources"]["limits"]
    assert str(limits["cpu"]) == "2"
    assert limits["memory"] == "512Mi"
    assert set(container["resources"]["requests"]) == {"cpu", "memory", "ephemeral-storage"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["httpGet"]["path"].startswith("/health/")
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        port = container[probe]["httpGet"]["port"]
        assert port_names.get(port, port) == 8000, probe


def test_pod_runs_non_root_on_a_read_only_root(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    deployment = k8s_by_kind["Deployment"]
    pod_security = _pod_spec(deployment)["securityContext"]
    container_security = _container(deployment)["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert container_security["readOnlyRootFilesystem"] is True
    assert container_security["allowPrivilegeEscalation"] is False
    # The uid Kubernetes runs as is the uid the image was built for.
    dockerfile_user = [
        line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("USER ")
    ]
    assert dockerfile_user, "Dockerfile sets no USER"
    assert dockerfile_user[-1].split(":")[0] == str(pod_security["runAsUser"])


def test_writable_paths_are_empty_dirs(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    deployment = k8s_by_kind["Deployment"]
    empty_dirs = {v["name"] for v in _pod_spec(deployment)["volumes"] if "emptyDir" in v}
    mounts = {m["mountPath"]: m["name"] for m in _container(deployment)["volumeMounts"]}
    data_dir = k8s_by_kind["ConfigMap"]["data"]["CAPSIGHT_DATA_DIR"]
    for path in ("/tmp", data_dir):
        assert mounts.get(path) in empty_dirs, f"{path} is not a writable emptyDir"


def test_spread_and_scrape_annotations_match_the_pods(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    deployment = k8s_by_kind["Deployment"]
    labels = _pod_labels(deployment)
    constraints = _pod_spec(deployment)["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in constraints} >= {"kubernetes.io/hostname"}
    for constraint in constraints:
        assert _selects(constraint["labelSelector"]["matchLabels"], labels)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    container_ports = {p["containerPort"] for p in _container(deployment)["ports"]}
    assert int(annotations["prometheus.io/port"]) in container_ports


def test_service_routes_port_80_to_the_api(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    service, deployment = k8s_by_kind["Service"], k8s_by_kind["Deployment"]
    assert service["spec"]["type"] == "ClusterIP"
    assert _selects(service["spec"]["selector"], _pod_labels(deployment))
    (port,) = service["spec"]["ports"]
    assert port["port"] == 80
    named = {p["name"]: p["containerPort"] for p in _container(deployment)["ports"]}
    assert named.get(port["targetPort"], port["targetPort"]) == 8000


def test_hpa_and_pdb_target_the_deployment(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    deployment, hpa, pdb = (
        k8s_by_kind["Deployment"],
        k8s_by_kind["HorizontalPodAutoscaler"],
        k8s_by_kind["PodDisruptionBudget"],
    )
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert _selects(pdb["spec"]["selector"]["matchLabels"], _pod_labels(deployment))
    # A drain must be able to evict at least one pod, or node maintenance blocks forever.
    assert pdb["spec"]["maxUnavailable"] >= 1


def test_the_hpa_alone_sets_the_replica_count(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    """With spec.replicas in the Deployment, every `kubectl apply -k` (each new image tag) set the
    count back to that number: an HPA at 10 replicas under peak load dropped to 3, terminating 7 pods
    at once, until it scaled up again. Kubernetes' HPA documentation says to leave it out."""
    deployment, hpa = k8s_by_kind["Deployment"], k8s_by_kind["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"


def test_env_comes_from_the_configmap_and_secret(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    refs = _container(k8s_by_kind["Deployment"])["envFrom"]
    names = {next(iter(ref.values()))["name"] for ref in refs}
    assert names == {k8s_by_kind["ConfigMap"]["metadata"]["name"], k8s_by_kind["Secret"]["metadata"]["name"]}
    secret_keys = set(k8s_by_kind["Secret"]["stringData"])
    assert {"CAPSIGHT_DATABASE_URL", "CAPSIGHT_JWT_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= (
        secret_keys
    )
    assert not secret_keys & set(k8s_by_kind["ConfigMap"]["data"]), "a key is set twice"


def test_capsight_keys_are_real_settings(k8s_by_kind: dict[str, dict[str, Any]]) -> None:
    known = settings_env_names()
    keys = {k for k in _env_from_k8s(k8s_by_kind) if k.startswith("CAPSIGHT_")}
    assert keys
    assert keys <= known, f"not Settings fields: {sorted(keys - known)}"


def test_settings_parse_the_k8s_environment(
    k8s_by_kind: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CAPSIGHT_INTRA_OP_THREADS", raising=False)
    for key, value in _env_from_k8s(k8s_by_kind).items():
        monkeypatch.setenv(key, str(value))
    settings = Settings()
    cpu_limit = cpu_quantity(_container(k8s_by_kind["Deployment"])["resources"]["limits"]["cpu"])
    threads = serving_threads_under_cpu_limit(settings.intra_op_threads, cpu_limit, tmp_path)
    assert 1 <= threads <= cpu_limit, "ORT threads must fit the pod's CPU limit"
    assert settings.workers == 1
    assert settings.resolved_database_url().startswith("postgresql+psycopg://")
    assert (settings.storage_url or "").startswith("s3://")
    assert settings.auth_enabled is True


@pytest.mark.parametrize("factor", [1, 2, 4])
def test_inference_threads_follow_the_pod_cpu_limit(
    k8s_by_kind: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, factor: int
) -> None:
    """The ConfigMap pinned CAPSIGHT_INTRA_OP_THREADS=2: under the 2-CPU limit that is 2 inference
    threads beside the 2 decode threads (the automatic 1 was measured faster, 98 -> 124 req/s), and a
    raised limit kept 2. Unset, capsight reads the limit from the cgroup and sizes itself to it."""
    monkeypatch.delenv("CAPSIGHT_INTRA_OP_THREADS", raising=False)
    for key, value in _env_from_k8s(k8s_by_kind).items():
        monkeypatch.setenv(key, str(value))
    configured = Settings().intra_op_threads
    cpus = cpu_quantity(_container(k8s_by_kind["Deployment"])["resources"]["limits"]["cpu"]) * factor
    automatic = serving_threads_under_cpu_limit(0, cpus, tmp_path)
    assert serving_threads_under_cpu_limit(configured, cpus, tmp_path) == automatic


def test_ingress_sends_traffic_to_the_service(
    k8s_by_kind: dict[str, dict[str, Any]], ingresses: dict[str, dict[str, Any]]
) -> None:
    service = k8s_by_kind["Service"]
    ingress = ingresses["capsight-api"]
    backends = [
        path["backend"]["service"]
        for each in ingresses.values()
        for rule in each["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert len({rule["host"] for each in ingresses.values() for rule in each["spec"]["rules"]}) == 1
    service_ports = {p["name"] for p in service["spec"]["ports"]} | {
        p["port"] for p in service["spec"]["ports"]
    }
    for backend in backends:
        assert backend["name"] == service["metadata"]["name"]
        assert next(iter(backend["port"].values())) in service_ports
    body_size = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert body_size.endswith("m") and int(body_size[:-1]) * 1024 * 1024 > Settings().max_upload_bytes


def test_ingress_lets_multi_image_requests_through(ingresses: dict[str, dict[str, Any]]) -> None:
    """The api's Ingress admits /v1/classify/batch and V2 infer bodies up to
    CAPSIGHT_MAX_BATCH_UPLOAD_BYTES (the api answers larger single uploads with its own JSON 413),
    and no more: only the zip job path needs the job limit, so only it has it."""
    annotations = ingresses["capsight-api"]["metadata"]["annotations"]
    body_size = annotations["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert body_size.endswith("m")
    allowed = int(body_size[:-1]) * 1024 * 1024
    assert Settings().max_batch_upload_bytes < allowed < Settings().max_job_upload_bytes


def _quantity_bytes(text: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return int(text[: -len(suffix)]) * factor
    return int(text)


def test_spool_budget_fits_the_data_volume(
    k8s_by_kind: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a shared S3 outage every replica spools at once; a budget as large as the emptyDir's
    sizeLimit gets each pod evicted when it fills (the records themselves need room too)."""
    for key, value in _env_from_k8s(k8s_by_kind).items():
        monkeypatch.setenv(key, str(value))
    settings = Settings()
    volumes = {v["name"]: v for v in k8s_by_kind["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in _container(k8s_by_kind["Deployment"])["volumeMounts"]}
    size_limit = _quantity_bytes(volumes[mounts[str(settings.data_dir)]]["emptyDir"]["sizeLimit"])
    assert 0 < settings.spool_max_image_bytes <= size_limit * 3 // 4


def test_job_disk_budget_and_spool_fit_the_data_volume_with_a_margin(
    k8s_by_kind: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """statvfs does not see an emptyDir's sizeLimit: queued zip uploads (512 MiB each, inflating to
    2 GiB) and the spool together past it got the pod evicted, with every request in flight."""
    for key, value in _env_from_k8s(k8s_by_kind).items():
        monkeypatch.setenv(key, str(value))
    settings = Settings()
    volumes = {v["name"]: v for v in k8s_by_kind["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in _container(k8s_by_kind["Deployment"])["volumeMounts"]}
    size_limit = _quantity_bytes(volumes[mounts[str(settings.data_dir)]]["emptyDir"]["sizeLimit"])
    assert settings.max_job_disk_bytes > 0 and settings.spool_max_image_bytes > 0  # both bounded
    margin = size_limit - settings.max_job_disk_bytes - settings.spool_max_image_bytes
    assert margin >= size_limit // 10, "leave room for spooled records and job results"
    # One job of the largest accepted size fits (its upload and its images side by side).
    largest_job = settings.max_job_upload_bytes + settings.max_job_uncompressed_bytes
    assert settings.max_job_disk_bytes >= largest_job
