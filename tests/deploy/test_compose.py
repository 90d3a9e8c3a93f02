"""deploy/docker-compose.yml: the compose-spec schema (vendored by check-jsonschema) and wiring."""

from __future__ import annotations

import copy
import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from deploy_files import (
    COMPOSE_FILE,
    DEPLOY,
    REPO,
    cpu_quantity,
    interpolate,
    serving_threads_under_cpu_limit,
    settings_env_names,
)

from capsight.settings import Settings

REQUIRED_SERVICES = {"api", "nginx", "postgres", "redis", "minio", "minio-init", "prometheus", "grafana"}
ONE_SHOT = {"minio-init"}


@pytest.fixture(scope="module")
def compose_validator() -> jsonschema.protocols.Validator:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _api_env(compose: dict[str, Any]) -> dict[str, str]:
    env = compose["services"]["api"]["environment"]
    assert isinstance(env, dict), "api environment is a mapping"
    return {key: interpolate(str(value)) for key, value in env.items()}


def test_compose_matches_the_compose_spec(
    compose: dict[str, Any], compose_validator: jsonschema.protocols.Validator
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in compose_validator.iter_errors(compose)]
    assert not errors


def test_schema_rejects_a_misspelled_key(
    compose: dict[str, Any], compose_validator: jsonschema.protocols.Validator
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["deploy"]["replica"] = 2
    assert not compose_validator.is_valid(broken)


def test_required_services_and_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= REQUIRED_SERVICES
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["minio"]["image"].startswith("minio/minio")
    assert services["minio-init"]["image"].startswith("minio/mc")


def test_api_has_two_replicas_built_from_the_dockerfile(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert api["deploy"]["replicas"] == 2
    assert "ports" not in api, "replicas cannot share a host port; clients go through nginx"
    context = (COMPOSE_FILE.parent / api["build"]["context"]).resolve()
    assert context == REPO
    assert (context / api["build"]["dockerfile"]).is_file()


def test_long_running_services_have_healthchecks(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name in ONE_SHOT:
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, f"{name} has no healthcheck"


def test_startup_order_waits_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["api"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "minio-init": {"condition": "service_completed_successfully"},
    }
    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["api"]["condition"] == "service_healthy"
    for service in services.values():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], dependency


def test_api_healthcheck_probes_readiness(compose: dict[str, Any]) -> None:
    test = " ".join(compose["services"]["api"]["healthcheck"]["test"])
    assert "urllib" in test and "http://127.0.0.1:8000/health/ready" in test


def test_api_points_at_the_shared_backends(compose: dict[str, Any]) -> None:
    env = _api_env(compose)
    settings_keys = {k for k in env if k.startswith("CAPSIGHT_")}
    assert settings_keys <= settings_env_names(), sorted(settings_keys - settings_env_names())
    assert re.fullmatch(r"postgresql\+psycopg://\w+:[^@]+@postgres:5432/\w+", env["CAPSIGHT_DATABASE_URL"])
    assert env["CAPSIGHT_REDIS_URL"].startswith("redis://redis:6379")
    assert env["CAPSIGHT_S3_ENDPOINT_URL"] == "http://minio:9000"
    minio_env = compose["services"]["minio"]["environment"]
    assert env["AWS_ACCESS_KEY_ID"] == interpolate(minio_env["MINIO_ROOT_USER"])
    assert env["AWS_SECRET_ACCESS_KEY"] == interpolate(minio_env["MINIO_ROOT_PASSWORD"])


def test_image_bucket_is_the_one_minio_init_creates(compose: dict[str, Any]) -> None:
    bucket = _api_env(compose)["CAPSIGHT_STORAGE_URL"].removeprefix("s3://").split("/")[0]
    script = " ".join(compose["services"]["minio-init"]["entrypoint"])
    assert re.search(rf"mc mb (--ignore-existing )?local/{re.escape(bucket)}\b", script)


def test_settings_parse_the_compose_environment(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CAPSIGHT_INTRA_OP_THREADS", raising=False)
    for key, value in _api_env(compose).items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.redis_url and settings.database_url and settings.s3_endpoint_url
    cpus = cpu_quantity(compose["services"]["api"]["deploy"]["resources"]["limits"]["cpus"])
    threads = serving_threads_under_cpu_limit(settings.intra_op_threads, cpus, tmp_path)
    assert 1 <= threads <= cpus


@pytest.mark.parametrize("factor", [1, 2, 4])
def test_inference_threads_follow_the_replica_cpu_limit(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, factor: int
) -> None:
    """A pinned CAPSIGHT_INTRA_OP_THREADS=2 ran 2 inference threads beside 2 decode threads on the
    2-CPU replicas (automatic: 1, measured faster) and stayed 2 when the limit was raised."""
    monkeypatch.delenv("CAPSIGHT_INTRA_OP_THREADS", raising=False)
    for key, value in _api_env(compose).items():
        monkeypatch.setenv(key, value)
    configured = Settings().intra_op_threads
    cpus = cpu_quantity(compose["services"]["api"]["deploy"]["resources"]["limits"]["cpus"]) * factor
    automatic = serving_threads_under_cpu_limit(0, cpus, tmp_path)
    assert serving_threads_under_cpu_limit(configured, cpus, tmp_path) == automatic


def test_bind_mounted_config_files_exist(compose: dict[str, Any]) -> None:
    mounts = [
        volume.split(":")
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if volume.startswith("./")
    ]
    assert mounts
    for source, *_ in mounts:
        assert (DEPLOY / source).exists(), source


def test_each_replica_bounds_its_job_files_and_spool(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica's data_dir is its own anonymous volume on the host's disk: both disk budgets are
    set explicitly, and one job of the largest accepted size fits the job budget."""
    env = _api_env(compose)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert "CAPSIGHT_MAX_JOB_DISK_BYTES" in env and "CAPSIGHT_SPOOL_MAX_IMAGE_BYTES" in env
    assert settings.max_job_disk_bytes > 0 and settings.spool_max_image_bytes > 0
    assert settings.max_job_disk_bytes >= settings.max_job_upload_bytes + settings.max_job_uncompressed_bytes
