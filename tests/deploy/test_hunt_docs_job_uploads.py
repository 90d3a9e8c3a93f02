"""Zip job uploads through the deployed proxies: POST /v1/jobs takes a zip of up to
CAPSIGHT_MAX_JOB_UPLOAD_BYTES (512 MiB; docs/jobs.md, and the ConfigMap sizes the data volume for
"one job of the largest size"), but the compose nginx admitted only the 17 MiB single-image limit
there and the Ingress only the 64 MiB batch limit: a valid 70 MiB zip got the proxy's HTML 413."""

from __future__ import annotations

from typing import Any

from test_nginx import _body_limits, _send, proxy  # noqa: F401 (proxy is a fixture)

from capsight.settings import Settings

JOB_LOCATION = "= /v1/jobs"


def test_nginx_job_uploads_get_the_api_job_upload_limit() -> None:
    limits = _body_limits()
    job_limit = Settings().max_job_upload_bytes
    assert JOB_LOCATION in limits, f"no location {JOB_LOCATION} with its own client_max_body_size"
    # Above the api's limit plus framing, so the api answers oversize zips with its own JSON 413 ...
    assert limits[JOB_LOCATION] * 1024 * 1024 > job_limit
    # ... and not far above it: nginx buffers what it admits to its disk before the api sees it.
    assert limits[JOB_LOCATION] * 1024 * 1024 <= job_limit + 1024 * 1024


def test_proxy_passes_a_zip_job_over_the_batch_limit(proxy: str) -> None:  # noqa: F811
    size = 70 * 1024 * 1024  # over the 65 MiB batch locations too
    status, seen = _send(proxy + "/v1/jobs", {"Content-Type": "application/zip"}, b"x" * size)
    assert status == 200
    assert seen["body_bytes"] == size
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"  # the proxy headers reach it too


def test_ingress_admits_zip_jobs_up_to_the_api_limit(ingresses: dict[str, dict[str, Any]]) -> None:
    """On the job upload path alone, streamed to the api (which writes it to its own disk budget)."""
    jobs = ingresses["capsight-jobs"]
    (rule,) = jobs["spec"]["rules"]
    assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [("/v1/jobs", "Exact")]
    annotations = jobs["metadata"]["annotations"]
    body_size = annotations["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert body_size.endswith("m")
    assert int(body_size[:-1]) * 1024 * 1024 > Settings().max_job_upload_bytes
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
